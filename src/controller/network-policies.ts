// NetworkPolicy -> its compiled form in the backend (policy-compiler.ts), which each node's agent
// enforces for its own pods. Level-triggered in the sample-controller shape: a sync compiles the
// policy against the caches as they are and writes it only when it differs. Which policies a pod
// or namespace change touches is decided here (policiesTouchedBy*), so a label change recompiles
// the few policies that select or name the pod, not all of them.
import { parsePortAnnotation } from "../api/annotations.ts";
import type { PolicyProtocol } from "../api/compiled-policy.ts";
import type { KubeObject } from "../kube/objects.ts";
import { NAMESPACE_INDEX } from "../kube/store.ts";
import type { ControllerDeps, Lister } from "./context.ts";
import { isFinished } from "./pods.ts";
import {
  compilePolicy,
  type PolicyCluster,
  type PolicyPod,
  policyConcerns,
  policyReadsNamespaces,
} from "./policy-compiler.ts";

export class NetworkPolicyReconciler {
  private readonly d: ControllerDeps;
  private readonly policies: Lister;
  /** Policy pods by the cached pod object (a new version is a new object). */
  private readonly views = new WeakMap<KubeObject, PolicyPod | null>();
  /** The warnings last reported per policy, so each is an Event once, not once per sync. */
  private readonly warned = new Map<string, string>();
  /** What the last PolicyCompiled Event said per policy. */
  private readonly summaries = new Map<string, string>();

  constructor(d: ControllerDeps, policies: Lister) {
    this.d = d;
    this.policies = policies;
  }

  /** What policies read of a pod; null for a pod that holds no address (finished). */
  podView(pod: KubeObject): PolicyPod | null {
    const cached = this.views.get(pod);
    if (cached !== undefined) return cached;
    let view: PolicyPod | null = null;
    if (!isFinished(pod)) {
      let ip: string | undefined;
      const text = pod.metadata.annotations?.[this.d.keys.port];
      if (text)
        try {
          ip = parsePortAnnotation(this.d.keys.port, text).fixed_ips[0]?.ip_address;
        } catch {
          // a port annotation that is not Raven's: the pod has no address Raven knows
        }
      view = {
        namespace: pod.metadata.namespace ?? "",
        name: pod.metadata.name ?? "",
        labels: pod.metadata.labels ?? {},
        ip,
        node: pod.spec?.nodeName,
        hostNetwork: !!pod.spec?.hostNetwork,
        namedPorts: ((pod.spec?.containers ?? []) as { ports?: Record<string, unknown>[] }[]).flatMap((c) =>
          (c.ports ?? []).flatMap((p) =>
            typeof p.name === "string" && typeof p.containerPort === "number"
              ? [
                  {
                    name: p.name,
                    port: p.containerPort,
                    protocol: ((p.protocol as string) ?? "TCP") as PolicyProtocol,
                  },
                ]
              : [],
          ),
        ),
      };
    }
    this.views.set(pod, view);
    return view;
  }

  private cluster(): PolicyCluster {
    const { pods, namespaces } = this.d.informers;
    return {
      namespaces: () =>
        namespaces.list().map((n) => ({ name: n.metadata.name!, labels: n.metadata.labels ?? {} })),
      podsIn: (ns) =>
        pods.byIndex(NAMESPACE_INDEX, ns).flatMap((p) => {
          const v = this.podView(p);
          return v ? [v] : [];
        }),
    };
  }

  async sync(key: string): Promise<void> {
    const store = this.d.backend.policies;
    const np = this.policies.get(key);
    const [namespace, name] = key.split("/");
    if (!np) {
      this.warned.delete(key);
      this.summaries.delete(key);
      await store?.delete(namespace, name);
      return;
    }
    if (!store) {
      this.warnOnce(np, `spec: the ${this.d.backend.name} backend does not enforce NetworkPolicy`);
      return;
    }
    const { policy, warnings } = compilePolicy(np, this.cluster());
    await store.ensure(policy);
    this.warnOnce(np, warnings.map((w) => `${w.field}: ${w.message}`).join("; "));
    // What is enforced, told when it changes (kubectl describe networkpolicy shows it).
    const nodes = new Set(policy.targets.map((t) => t.node)).size;
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
    const dirs = (["ingress", "egress"] as const)
      .filter((d) => policy.isolates[d])
      .map((d) => `${d} (${plural(policy[d].length, "rule")})`);
    const summary = `isolates ${plural(policy.targets.length, "pod")} on ${plural(nodes, "node")} for ${dirs.join(" and ")}`;
    if (this.summaries.get(key) !== summary) {
      this.summaries.set(key, summary);
      this.d.recorder.event(np, "Normal", "PolicyCompiled", summary);
    }
  }

  /** A Warning for what cannot be enforced, once per distinct text ("" clears it). */
  private warnOnce(np: KubeObject, text: string): void {
    const key = `${np.metadata.namespace}/${np.metadata.name}`;
    if (text && this.warned.get(key) !== text)
      this.d.recorder.event(np, "Warning", "PolicyNotEnforced", text);
    if (text) this.warned.set(key, text);
    else this.warned.delete(key);
  }

  /** The keys of the policies whose compiled form a pod's change can change. */
  policiesTouchedByPod(before: KubeObject | undefined, after: KubeObject | undefined): string[] {
    const a = before && this.podView(before);
    const b = after && this.podView(after);
    if (a && b && samePolicyView(a, b)) return [];
    const nsLabels = (ns: string) => this.d.informers.namespaces.get(ns)?.metadata.labels;
    const keys: string[] = [];
    for (const np of this.policies.list()) {
      const hit = [a, b].some((v) => v && policyConcerns(np, v, nsLabels(v.namespace)));
      if (hit) keys.push(`${np.metadata.namespace}/${np.metadata.name}`);
    }
    return keys;
  }

  /** The keys of the policies that select namespaces by label (a namespace came, went or changed). */
  policiesReadingNamespaces(): string[] {
    return this.policies
      .list()
      .filter(policyReadsNamespaces)
      .map((np) => `${np.metadata.namespace}/${np.metadata.name}`);
  }

  forget(key: string): void {
    this.warned.delete(key);
    this.summaries.delete(key);
  }
}

const samePolicyView = (a: PolicyPod, b: PolicyPod) =>
  a.ip === b.ip &&
  a.node === b.node &&
  a.hostNetwork === b.hostNetwork &&
  JSON.stringify(a.labels) === JSON.stringify(b.labels) &&
  JSON.stringify(a.namedPorts) === JSON.stringify(b.namedPorts);
