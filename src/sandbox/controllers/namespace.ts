// The namespace lifecycle controller: a namespace being deleted (deletionTimestamp, with the
// `kubernetes` finalizer in spec.finalizers) is emptied of every namespaced resource the
// server serves, then finalized, which lets the API server remove it.
//
// Level-triggered: each sync deletes whatever is still there, counts what remains, reports it
// in the namespace's status conditions and looks again later, so a restart mid-way simply
// carries on. Content that waits on finalizers or pod grace periods is waited for.
import type { KubeClient } from "../../kube/client.ts";
import { isConflict, isNotFound, isObjectGone, KubeApiError } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import { formatTime, type KubeObject } from "../../kube/objects.ts";
import { NAMESPACES, PODS } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";
import {
  type DiscoveredResource,
  type DiscoveryClient,
  discover,
  type ResourceMap,
  supports,
} from "./discovery.ts";

export const KUBERNETES_FINALIZER = "kubernetes";

export interface NamespaceControllerOptions {
  /** Concurrent namespaces. Default 2. */
  workers?: number;
  /** First wait before looking again at remaining content; doubles up to maxRecheckMs. Default 1 s. */
  minRecheckMs?: number;
  /** Longest wait before looking again at content still being deleted. Default 10 s. */
  maxRecheckMs?: number;
  /** Discovery; replaceable in tests. */
  discover?: (client: DiscoveryClient, signal: AbortSignal) => Promise<ResourceMap>;
}

/** What one pass over a namespace's content found. */
export interface ContentReport {
  /** `group/version` → error, for group versions discovery could not read. */
  discoveryFailures: string[];
  /** Deletions or lists that failed, as messages. */
  deleteFailures: string[];
  /** `plural.group` → objects still there. */
  remaining: Map<string, number>;
  /** Finalizer → objects still carrying it. */
  finalizers: Map<string, number>;
}

export interface NamespaceCondition {
  type: string;
  status: "True" | "False";
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export class NamespaceController implements Controller {
  readonly name = "namespace-controller";
  private readonly opts: NamespaceControllerOptions;
  private readonly queue = new WorkQueue();
  private namespaces!: SharedInformer;
  /** Passes per namespace that still found content, for the recheck backoff. */
  private readonly passes = new Map<string, number>();

  constructor(opts: NamespaceControllerOptions = {}) {
    this.opts = opts;
  }

  setup(ctx: ControllerContext): void {
    this.namespaces = ctx.informers.informerFor(NAMESPACES);
    const enqueue = (ns: KubeObject) => {
      if (ns.metadata.deletionTimestamp) this.queue.add(ns.metadata.name!);
    };
    this.namespaces.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_old, ns) => enqueue(ns),
      onDelete: (ns) => this.passes.delete(ns.metadata.name!),
    });
    // Pods are what usually lingers (grace periods); a pod going is the moment to look again.
    ctx.informers.informerFor(PODS).addEventHandler({
      onDelete: (pod) => {
        const ns = this.namespaces.get(pod.metadata.namespace ?? "");
        if (ns?.metadata.deletionTimestamp) this.queue.addAfter(ns.metadata.name!, 200);
      },
    });
  }

  run(ctx: ControllerContext): Promise<void> {
    const recorder = ctx.recorder("namespace-controller");
    return runQueue(ctx, this.name, this.queue, this.opts.workers ?? 2, async (name) => {
      const ns = this.namespaces.get(name);
      if (!ns?.metadata.deletionTimestamp) {
        this.passes.delete(name);
        return;
      }
      if (!(ns.spec?.finalizers ?? []).includes(KUBERNETES_FINALIZER)) return;
      const resources = await (this.opts.discover ?? discover)(ctx.client, ctx.signal);
      const report = await deleteContent(ctx.client, name, resources);
      await this.updateConditions(ctx.client, ns, report);
      const failures = [...report.discoveryFailures, ...report.deleteFailures];
      if (failures.length) {
        recorder.event(ns, "Warning", "NamespaceDeletionFailed", failures.join("; ").slice(0, 1000));
        throw new Error(`namespace ${name}: ${failures.join("; ")}`);
      }
      if (report.remaining.size > 0) {
        const pass = this.passes.get(name) ?? 0;
        this.passes.set(name, pass + 1);
        const min = this.opts.minRecheckMs ?? 1000;
        this.queue.addAfter(name, Math.min(this.opts.maxRecheckMs ?? 10_000, min * 2 ** pass));
        return;
      }
      this.passes.delete(name);
      await finalize(ctx.client, name);
    });
  }

  private async updateConditions(client: KubeClient, ns: KubeObject, report: ContentReport): Promise<void> {
    const before: NamespaceCondition[] = ns.status?.conditions ?? [];
    const ours = deletionConditions(report, before);
    const types = new Set(ours.map((c) => c.type));
    const conditions = [...before.filter((c) => !types.has(c.type)), ...ours];
    if (sameConditions(conditions, before)) return;
    try {
      await client.patch(
        NAMESPACES,
        "",
        ns.metadata.name!,
        "merge",
        // The uid is a precondition: never mark a namespace recreated under the name since.
        { metadata: { uid: ns.metadata.uid }, status: { phase: "Terminating", conditions } },
        { subresource: "status" },
      );
    } catch (err) {
      if (!isObjectGone(err)) throw err;
    }
  }
}

/**
 * Deletes everything namespaced in `namespace` (a collection delete where the resource
 * supports it, else one by one) and reports what is still there afterwards.
 */
export async function deleteContent(
  client: KubeClient,
  namespace: string,
  resources: ResourceMap,
): Promise<ContentReport> {
  const report: ContentReport = {
    discoveryFailures: [...resources.failures].map(([gv, err]) => `${gv}: ${err}`),
    deleteFailures: [],
    remaining: new Map(),
    finalizers: new Map(),
  };
  const targets = resources.preferred().filter((r) => r.namespaced && supports(r, "delete"));
  await Promise.all(
    targets.map(async (res) => {
      try {
        await deleteAll(client, res, namespace);
        if (!supports(res, "list")) return;
        const left = (await client.list(res, { namespace })).items ?? [];
        if (left.length) report.remaining.set(`${res.plural}.${res.group}`, left.length);
        for (const obj of left)
          for (const f of obj.metadata.finalizers ?? [])
            report.finalizers.set(f, (report.finalizers.get(f) ?? 0) + 1);
      } catch (err) {
        if (isNotFound(err)) return; // the resource went away (its CRD was deleted)
        report.deleteFailures.push(`${res.plural}.${res.group}: ${String(err)}`);
      }
    }),
  );
  return report;
}

async function deleteAll(client: KubeClient, res: DiscoveredResource, namespace: string): Promise<void> {
  if (supports(res, "deletecollection")) {
    try {
      await client.deleteCollection(res, namespace, { propagationPolicy: "Background" });
      return;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 405)) throw err;
    }
  }
  if (!supports(res, "list")) return;
  for (const obj of (await client.list(res, { namespace })).items ?? []) {
    if (obj.metadata.deletionTimestamp) continue;
    try {
      await client.delete(res, namespace, obj.metadata.name!, { propagationPolicy: "Background" });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Removes the `kubernetes` finalizer through the finalize subresource. */
async function finalize(client: KubeClient, name: string): Promise<void> {
  let ns: KubeObject;
  try {
    ns = await client.get(NAMESPACES, "", name);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  const finalizers: string[] = (ns.spec?.finalizers ?? []).filter((f: string) => f !== KUBERNETES_FINALIZER);
  try {
    await client.raw("PUT", `/api/v1/namespaces/${encodeURIComponent(name)}/finalize`, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, resourceVersion: ns.metadata.resourceVersion },
      spec: { finalizers },
    });
  } catch (err) {
    // NotFound: done; Conflict: changed meanwhile, and the change queues another sync.
    if (isNotFound(err)) return;
    if (isConflict(err)) throw new Error(`namespace ${name} changed while being finalized`);
    throw err;
  }
}

function sameConditions(a: readonly NamespaceCondition[], b: readonly NamespaceCondition[]): boolean {
  return (
    a.length === b.length &&
    a.every((c) => {
      const o = b.find((x) => x.type === c.type);
      return (
        o?.status === c.status &&
        o.reason === c.reason &&
        o.message === c.message &&
        o.lastTransitionTime === c.lastTransitionTime
      );
    })
  );
}

const describe = (counts: Map<string, number>, what: (key: string, n: number) => string) =>
  [...counts]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, n]) => what(k, n))
    .join(", ");

/**
 * The deletion conditions upstream's namespace controller reports, from one pass's findings;
 * lastTransitionTime is carried over from `previous` while a condition's status stays the same.
 */
export function deletionConditions(
  report: ContentReport,
  previous: readonly NamespaceCondition[] = [],
  now: string = formatTime(),
): NamespaceCondition[] {
  const cond = (
    type: string,
    problem: boolean,
    bad: [string, string],
    good: [string, string],
  ): NamespaceCondition => {
    const status = problem ? "True" : "False";
    const [reason, message] = problem ? bad : good;
    const prior = previous.find((c) => c.type === type);
    const lastTransitionTime = prior?.status === status ? prior.lastTransitionTime : now;
    return { type, status, lastTransitionTime, reason, message };
  };
  const { discoveryFailures: disc, deleteFailures: del } = report;
  return [
    cond(
      "NamespaceDeletionDiscoveryFailure",
      disc.length > 0,
      ["DiscoveryFailed", `Discovery failed for some groups, ${disc.length} failing: ${disc.join(", ")}`],
      ["ResourcesDiscovered", "All resources successfully discovered"],
    ),
    cond(
      "NamespaceDeletionGroupVersionParsingFailure",
      false,
      ["GroupVersionParsingFailed", ""],
      ["ParsedGroupVersions", "All legacy kube types successfully parsed"],
    ),
    cond(
      "NamespaceDeletionContentFailure",
      del.length > 0,
      [
        "ContentDeletionFailed",
        `Failed to delete all resource types, ${del.length} remaining: ${del.join(", ")}`,
      ],
      ["ContentDeleted", "All content successfully deleted, may be waiting on finalization"],
    ),
    cond(
      "NamespaceContentRemaining",
      report.remaining.size > 0,
      [
        "SomeResourcesRemain",
        `Some resources are remaining: ${describe(report.remaining, (r, n) => `${r} has ${n} resource instances`)}`,
      ],
      ["ContentRemoved", "All content successfully removed"],
    ),
    cond(
      "NamespaceFinalizersRemaining",
      report.finalizers.size > 0,
      [
        "SomeFinalizersRemain",
        `Some content in the namespace has finalizers remaining: ${describe(report.finalizers, (f, n) => `${f} in ${n} resource instances`)}`,
      ],
      ["ContentHasNoFinalizers", "All content-preserving finalizers finished"],
    ),
  ];
}
