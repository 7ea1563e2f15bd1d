// The DaemonSet controller: one pod of the DaemonSet's template on every node that qualifies
// (nodeSelector, required node affinity, taints), pinned there by node affinity and placed by
// the default scheduler; pods leave nodes that stop qualifying, come back when deleted, and
// are replaced node by node on a template change (RollingUpdate) or only when deleted
// (OnDelete). Status counts the nodes as upstream does.

import { type Clock, systemClock } from "../../kube/clock.ts";
import { isNotFound } from "../../kube/errors.ts";
import type { EventRecorder } from "../../kube/events.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import { type KubeObject, objectKey } from "../../kube/objects.ts";
import { DAEMONSETS, NODES, PODS } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";
import {
  daemonPodTemplate,
  daemonSetCounts,
  planDaemonPods,
  podsByNode,
  revisionHash,
  rollingUpdateDeletions,
} from "./daemonset-compute.ts";
import { ControllerExpectations } from "./expectations.ts";
import { ownerSelector, watchOwnedPods } from "./owned-pods.ts";
import {
  CONTROLLER_INDEX,
  checkOwnerFresh,
  claimCandidates,
  ensureControllerIndex,
  executeClaims,
  planClaims,
} from "./owner-claims.ts";
import { controllerRefTo, errorMessage, podFromTemplate, podKey, slowStartBatch } from "./pod-control.ts";

/** Upstream's failed-pod backoff: 1 s doubling to 15 minutes per node. */
const FAILED_POD_BACKOFF_MS = 1000;
const MAX_FAILED_POD_BACKOFF_MS = 15 * 60_000;
/** Upstream's burst of creates or deletes per sync. */
const BURST_REPLICAS = 250;

export interface DaemonSetControllerOptions {
  /** DaemonSets synced in parallel (upstream's --concurrent-daemonset-syncs). Default 2. */
  workers?: number;
  clock?: Clock;
}

/** Whether a node change can change where daemon pods belong. */
function nodeChanged(old: KubeObject, cur: KubeObject): boolean {
  const conds = (n: KubeObject) =>
    JSON.stringify((n.status?.conditions ?? []).map((c: any) => [c.type, c.status]).sort());
  return (
    JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(cur.metadata.labels ?? {}) ||
    JSON.stringify(old.spec?.taints ?? []) !== JSON.stringify(cur.spec?.taints ?? []) ||
    Boolean(old.spec?.unschedulable) !== Boolean(cur.spec?.unschedulable) ||
    conds(old) !== conds(cur)
  );
}

export class DaemonSetController implements Controller {
  readonly name = "daemonset-controller";
  private readonly queue = new WorkQueue();
  private readonly workers: number;
  private readonly clock: Clock;
  private readonly expectations: ControllerExpectations;
  /** `dsUid/node` → failed pods deleted in a row and when the last one was. */
  private readonly failedBackoff = new Map<string, { count: number; at: number }>();
  private daemonSets!: SharedInformer;
  private pods!: SharedInformer;
  private nodes!: SharedInformer;
  private recorder!: EventRecorder;

  constructor(opts: DaemonSetControllerOptions = {}) {
    this.workers = opts.workers ?? 2;
    this.clock = opts.clock ?? systemClock;
    this.expectations = new ControllerExpectations({ clock: this.clock });
  }

  setup(ctx: ControllerContext): void {
    this.daemonSets = ctx.informers.informerFor(DAEMONSETS);
    this.pods = ctx.informers.informerFor(PODS);
    this.nodes = ctx.informers.informerFor(NODES);
    ensureControllerIndex(this.pods);
    const enqueue = (key: string) => this.queue.add(key);
    const enqueueAll = () => {
      for (const key of this.daemonSets.listKeys()) enqueue(key);
    };
    this.daemonSets.addEventHandler({
      onAdd: (ds) => enqueue(objectKey(ds)),
      onUpdate: (_o, ds) => enqueue(objectKey(ds)),
      onDelete: (ds) => {
        this.expectations.forget(objectKey(ds));
        for (const k of this.failedBackoff.keys())
          if (k.startsWith(`${ds.metadata.uid}/`)) this.failedBackoff.delete(k);
        enqueue(objectKey(ds));
      },
    });
    watchOwnedPods(this.pods, this.daemonSets, "DaemonSet", this.expectations, enqueue);
    this.nodes.addEventHandler({
      onAdd: enqueueAll,
      onUpdate: (old, cur) => (old !== cur && nodeChanged(old, cur) ? enqueueAll() : undefined),
      onDelete: enqueueAll,
    });
  }

  run(ctx: ControllerContext): Promise<void> {
    this.recorder = ctx.recorder("daemonset-controller");
    return runQueue(ctx, this.name, this.queue, this.workers, (key) => this.sync(ctx, key));
  }

  private async sync(ctx: ControllerContext, key: string): Promise<void> {
    const ds = this.daemonSets.get(key);
    if (!ds) {
      this.expectations.forget(key);
      return;
    }
    // Being deleted: the garbage collector takes the pods; creating more would race it.
    if (ds.metadata.deletionTimestamp) return;
    const nodes = this.nodes.list();
    const hash = revisionHash(ds);
    const pods = await this.claimPods(ctx, ds);
    let error: unknown;
    if (this.expectations.satisfied(key)) {
      try {
        await this.manage(ctx, ds, key, nodes, pods, hash);
      } catch (err) {
        error = err;
      }
    }
    await this.writeStatus(ctx, ds, key, nodes, hash);
    if (error) throw error;
  }

  /** The DaemonSet's pods: owned ones that still match, plus adopted orphans. */
  private async claimPods(ctx: ControllerContext, ds: KubeObject): Promise<KubeObject[]> {
    const plan = planClaims(ds, ownerSelector(ds), claimCandidates(this.pods, ds));
    if (!plan.adopt.length && !plan.release.length) return plan.owned;
    return executeClaims(ctx.client, PODS, plan, controllerRefTo(ds, "apps/v1", "DaemonSet"), () =>
      checkOwnerFresh(ctx.client, DAEMONSETS, ds),
    );
  }

  private async manage(
    ctx: ControllerContext,
    ds: KubeObject,
    key: string,
    nodes: KubeObject[],
    pods: KubeObject[],
    hash: string,
  ): Promise<void> {
    const now = this.clock.now();
    const byNode = podsByNode(pods);
    const plan = planDaemonPods(ds, nodes, byNode, hash);
    const toDelete: KubeObject[] = [];
    for (const pod of plan.delete) {
      if (!plan.failed.includes(pod)) {
        toDelete.push(pod);
        continue;
      }
      // A pod that keeps failing on a node is replaced ever more slowly.
      const node = pod.spec?.nodeName ?? "";
      const wait = this.failedPodWait(ds, node, now);
      if (wait > 0) {
        this.queue.addAfter(key, wait);
        continue;
      }
      this.noteFailedPod(ds, node, now);
      this.recorder.event(
        ds,
        "Warning",
        "FailedDaemonPod",
        `Found failed daemon pod ${podKey(pod)} on node ${node}, will try to kill it`,
      );
      toDelete.push(pod);
    }
    const type = ds.spec?.updateStrategy?.type ?? "RollingUpdate";
    if (type === "RollingUpdate" && !plan.create.length && !toDelete.length) {
      const desired = daemonSetCounts(ds, nodes, byNode, hash, now).desiredNumberScheduled;
      toDelete.push(...rollingUpdateDeletions(ds, byNode, desired, hash, now));
    }
    await this.syncNodes(
      ctx,
      ds,
      key,
      plan.create.slice(0, BURST_REPLICAS),
      toDelete.slice(0, BURST_REPLICAS),
      hash,
    );
  }

  private failedPodWait(ds: KubeObject, node: string, now: number): number {
    const b = this.failedBackoff.get(`${ds.metadata.uid}/${node}`);
    if (!b) return 0;
    const delay = Math.min(MAX_FAILED_POD_BACKOFF_MS, FAILED_POD_BACKOFF_MS * 2 ** (b.count - 1));
    return Math.max(0, b.at + delay - now);
  }

  private noteFailedPod(ds: KubeObject, node: string, now: number): void {
    const k = `${ds.metadata.uid}/${node}`;
    this.failedBackoff.set(k, { count: (this.failedBackoff.get(k)?.count ?? 0) + 1, at: now });
  }

  /**
   * Deletes `remove` pods, or else creates pods on `create` nodes, with expectations set
   * first. One kind per sync: the events of one batch requeue the DaemonSet for the next.
   */
  private async syncNodes(
    ctx: ControllerContext,
    ds: KubeObject,
    key: string,
    create: string[],
    remove: KubeObject[],
    hash: string,
  ): Promise<void> {
    if (remove.length) {
      this.expectations.expectDeletions(key, remove.map(podKey));
      let error: unknown;
      await Promise.all(
        remove.map(async (pod) => {
          try {
            await ctx.client.delete(PODS, pod.metadata.namespace!, pod.metadata.name!, {
              preconditions: { uid: pod.metadata.uid },
            });
            this.recorder.event(ds, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
          } catch (err) {
            // No event will come for a delete that did not happen.
            this.expectations.deletionObserved(key, podKey(pod));
            if (!isNotFound(err)) {
              this.recorder.event(ds, "Warning", "FailedDelete", `Error deleting: ${errorMessage(err)}`);
              error ??= err;
            }
          }
        }),
      );
      if (error) throw error;
      return;
    }
    if (!create.length) return;
    this.expectations.expectCreations(key, create.length);
    const ref = controllerRefTo(ds, "apps/v1", "DaemonSet");
    const nodes = [...create];
    const created = await slowStartBatch(create.length, 1, async () => {
      const node = nodes.shift()!;
      try {
        const pod = await ctx.client.create(
          PODS,
          podFromTemplate(daemonPodTemplate(ds, node, hash), ds, ref),
        );
        this.recorder.event(ds, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`);
      } catch (err) {
        this.recorder.event(ds, "Warning", "FailedCreate", `Error creating: ${errorMessage(err)}`);
        throw err;
      }
    });
    if (created.successes < create.length)
      this.expectations.creationsSkipped(key, create.length - created.successes);
    if (created.error) throw created.error;
  }

  private async writeStatus(
    ctx: ControllerContext,
    ds: KubeObject,
    key: string,
    nodes: KubeObject[],
    hash: string,
  ): Promise<void> {
    const now = this.clock.now();
    // Recount from the cache: the status reflects what exists, not what was just requested.
    const pods = this.pods.byIndex(CONTROLLER_INDEX, ds.metadata.uid!);
    const counts = daemonSetCounts(ds, nodes, podsByNode(pods), hash, now);
    const status: any = { ...(ds.status ?? {}), ...counts, observedGeneration: ds.metadata.generation };
    for (const f of ["updatedNumberScheduled", "numberAvailable", "numberUnavailable"])
      if (!status[f]) delete status[f];
    // Pods ready but not yet available for minReadySeconds become available later: look again then.
    const minReady = ds.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && counts.numberReady !== counts.numberAvailable)
      this.queue.addAfter(key, minReady * 1000);
    const same = Object.keys({ ...status, ...(ds.status ?? {}) }).every(
      (k) => JSON.stringify(status[k]) === JSON.stringify(ds.status?.[k]),
    );
    if (same) return;
    try {
      await ctx.client.updateStatus(DAEMONSETS, { ...ds, status });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
