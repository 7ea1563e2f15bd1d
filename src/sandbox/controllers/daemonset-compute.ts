// The DaemonSet controller's arithmetic (upstream pkg/controller/daemon): which nodes should
// run a daemon pod, the pod for a node, which pods to create and delete, which old pods a
// rolling update may replace, and the status counters. Pure functions of the DaemonSet,
// its pods, the nodes and the time.

import { type KubeObject, parseTime } from "../../kube/objects.ts";
import { isPodAvailable, isPodReady } from "./pod-control.ts";
import { isNodeReady, podFitsNode } from "./scheduling.ts";
import { canonicalJson, fnv1a32 } from "./template-hash.ts";

export const REVISION_HASH_LABEL = "controller-revision-hash";
export const TEMPLATE_GENERATION_LABEL = "pod-template-generation";
export const TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation";

/** Tolerations every daemon pod gets, so node conditions do not keep or drive it away. */
export const DAEMON_TOLERATIONS = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];
const NETWORK_UNAVAILABLE = {
  key: "node.kubernetes.io/network-unavailable",
  operator: "Exists",
  effect: "NoSchedule",
};

// Upstream's rand.SafeEncodeString alphabet: no vowels, no look-alikes.
const SAFE = "bcdfghjklmnpqrstvwxz2456789";

/**
 * The controller-revision-hash of a DaemonSet's template: FNV-1a of the template (and the
 * collision count), printed in upstream's "safe" alphabet, e.g. `6c5b8f7d9`.
 */
export function revisionHash(ds: KubeObject): string {
  let h = fnv1a32(new TextEncoder().encode(canonicalJson(ds.spec?.template)));
  const collisions = ds.status?.collisionCount;
  if (collisions != null) {
    const buf = new Uint8Array(8);
    new DataView(buf.buffer).setUint32(0, collisions >>> 0, true);
    h = fnv1a32(buf, h);
  }
  return [...String(h)].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join("");
}

/** The template generation (the API server's annotation; the object generation before it exists). */
export function templateGeneration(ds: KubeObject): string {
  return ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION] ?? String(ds.metadata.generation ?? 1);
}

/** A pod of the current template: either label says so (upstream's IsPodUpdated). */
export function isPodUpdated(pod: KubeObject, hash: string, generation: string): boolean {
  const labels = pod.metadata.labels ?? {};
  return labels[REVISION_HASH_LABEL] === hash || labels[TEMPLATE_GENERATION_LABEL] === generation;
}

/** The pod the DaemonSet runs on `nodeName` (without owner reference and name). */
export function daemonPodTemplate(ds: KubeObject, nodeName: string, hash: string): any {
  const template = structuredClone(ds.spec?.template ?? {});
  template.metadata ??= {};
  template.metadata.labels = {
    ...(template.metadata.labels ?? {}),
    [TEMPLATE_GENERATION_LABEL]: templateGeneration(ds),
    [REVISION_HASH_LABEL]: hash,
  };
  template.spec ??= {};
  const spec = template.spec;
  const tolerations: any[] = [...(spec.tolerations ?? [])];
  const wanted = spec.hostNetwork ? [...DAEMON_TOLERATIONS, NETWORK_UNAVAILABLE] : DAEMON_TOLERATIONS;
  for (const t of wanted)
    if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) tolerations.push({ ...t });
  spec.tolerations = tolerations;
  // Pinned to the node by required affinity, so the default scheduler places it (upstream's
  // ReplaceDaemonSetPodNodeNameNodeAffinity replaces any other required terms).
  const term = { matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] };
  spec.affinity ??= {};
  spec.affinity.nodeAffinity ??= {};
  spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    ...(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? {}),
    nodeSelectorTerms: [term],
  };
  return template;
}

/** The node a daemon pod is for: where it is bound, else its matchFields affinity target. */
export function targetNodeOf(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  for (const t of terms ?? [])
    for (const f of t.matchFields ?? [])
      if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) return f.values[0];
  return undefined;
}

/** The node as a running pod sees it: readiness and NoSchedule taints no longer matter. */
function asSeenByRunningPod(node: KubeObject): KubeObject {
  const conditions = (node.status?.conditions ?? []).filter((c: any) => c.type !== "Ready");
  conditions.push({ type: "Ready", status: "True" });
  return {
    ...node,
    spec: {
      ...(node.spec ?? {}),
      unschedulable: false,
      taints: (node.spec?.taints ?? []).filter((t: any) => t.effect === "NoExecute"),
    },
    status: { ...(node.status ?? {}), conditions },
  };
}

export interface NodeDecision {
  /** The node should have a daemon pod (selector, affinity and taints allow it). */
  shouldRun: boolean;
  /** A new pod may be created now (sandbox: only on Ready nodes, which the scheduler requires). */
  canCreate: boolean;
  /** An existing pod may stay (only untolerated NoExecute taints or a selector change evict). */
  shouldContinueRunning: boolean;
}

/** Upstream's NodeShouldRunDaemonPod, for the DaemonSet's pod on that node. */
export function nodeShouldRunDaemonPod(podTemplate: any, node: KubeObject): NodeDecision {
  const pod = { metadata: podTemplate.metadata ?? {}, spec: podTemplate.spec ?? {} };
  if (pod.spec.nodeName && pod.spec.nodeName !== node.metadata.name)
    return { shouldRun: false, canCreate: false, shouldContinueRunning: false };
  const readyView = {
    ...node,
    status: { ...(node.status ?? {}), conditions: [{ type: "Ready", status: "True" }] },
  };
  const shouldRun = podFitsNode(pod, readyView).fits;
  const shouldContinueRunning = podFitsNode(pod, asSeenByRunningPod(node)).fits;
  return { shouldRun, canCreate: shouldRun && isNodeReady(node), shouldContinueRunning };
}

/** Oldest first, bound pods before unbound ones (upstream's podByCreationTimestampAndPhase). */
export function compareDaemonPods(a: KubeObject, b: KubeObject): number {
  const boundA = Boolean(a.spec?.nodeName);
  const boundB = Boolean(b.spec?.nodeName);
  if (boundA !== boundB) return boundA ? -1 : 1;
  const ta = parseTime(a.metadata.creationTimestamp);
  const tb = parseTime(b.metadata.creationTimestamp);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  return a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0;
}

/** Daemon pods by target node; pods with no target node are listed under "". */
export function podsByNode(pods: readonly KubeObject[]): Map<string, KubeObject[]> {
  const m = new Map<string, KubeObject[]>();
  for (const p of pods) {
    const n = targetNodeOf(p) ?? "";
    m.set(n, [...(m.get(n) ?? []), p]);
  }
  for (const list of m.values()) list.sort(compareDaemonPods);
  return m;
}

export interface ManagePlan {
  /** Nodes that need a daemon pod. */
  create: string[];
  delete: KubeObject[];
  /** Failed pods among `delete`, for a warning event. */
  failed: KubeObject[];
}

/**
 * Upstream's podsShouldBeOnNode over all nodes: create where a pod should run and none
 * exists; delete failed pods, duplicates (keeping the oldest) and pods on nodes that no longer
 * qualify; pods bound to nodes that no longer exist go as well.
 */
export function planDaemonPods(
  ds: KubeObject,
  nodes: readonly KubeObject[],
  byNode: Map<string, KubeObject[]>,
  hash: string,
): ManagePlan {
  const plan: ManagePlan = { create: [], delete: [], failed: [] };
  const known = new Set<string>();
  for (const node of nodes) {
    const name = node.metadata.name!;
    known.add(name);
    const pods = byNode.get(name) ?? [];
    const d = nodeShouldRunDaemonPod(daemonPodTemplate(ds, name, hash), node);
    if (d.shouldRun && pods.length === 0) {
      if (d.canCreate) plan.create.push(name);
    } else if (d.shouldContinueRunning) {
      const running: KubeObject[] = [];
      for (const p of pods) {
        if (p.metadata.deletionTimestamp) continue;
        if (p.status?.phase === "Failed") {
          plan.delete.push(p);
          plan.failed.push(p);
        } else {
          running.push(p);
        }
      }
      // One daemon pod a node: the oldest stays.
      plan.delete.push(...running.slice(1));
    } else {
      plan.delete.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
    }
  }
  for (const [name, pods] of byNode)
    if (!known.has(name)) plan.delete.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
  return plan;
}

/** An int-or-percent of `total`, percentages rounded up (GetScaledValueFromIntOrPercent). */
export function scaledValue(v: number | string | undefined, total: number, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (m) return Math.ceil((Number(m[1]) * total) / 100);
  const n = Number(v);
  return Number.isInteger(n) ? n : fallback;
}

/**
 * Old pods a rolling update (maxSurge 0) may delete now: every unavailable old pod, plus
 * available ones while fewer than maxUnavailable nodes are short of an available pod.
 */
export function rollingUpdateDeletions(
  ds: KubeObject,
  byNode: Map<string, KubeObject[]>,
  desired: number,
  hash: string,
  now: number,
): KubeObject[] {
  const maxUnavailable = Math.max(
    1,
    scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, desired, 1),
  );
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const generation = templateGeneration(ds);
  let unavailable = 0;
  const replaceNow: KubeObject[] = [];
  const candidates: KubeObject[] = [];
  for (const [node, all] of byNode) {
    if (!node) continue;
    const pods = all.filter((p) => !p.metadata.deletionTimestamp);
    const fresh = pods.filter((p) => isPodUpdated(p, hash, generation));
    const old = pods.filter((p) => !isPodUpdated(p, hash, generation));
    if (fresh.length > 1 || old.length > 1 || (fresh.length === 0) === (old.length === 0)) {
      // Being created, or more than one pod: the manage step sorts it out; counts as down.
      unavailable++;
    } else if (fresh.length) {
      if (!isPodAvailable(fresh[0], minReady, now)) unavailable++;
    } else if (!isPodAvailable(old[0], minReady, now)) {
      replaceNow.push(old[0]);
    } else if (unavailable < maxUnavailable) {
      candidates.push(old[0]);
    }
  }
  const room = Math.max(0, Math.min(maxUnavailable - unavailable, candidates.length));
  return [...replaceNow, ...candidates.sort(compareDaemonPods).slice(0, room)];
}

export interface DaemonSetCounts {
  desiredNumberScheduled: number;
  currentNumberScheduled: number;
  numberMisscheduled: number;
  numberReady: number;
  updatedNumberScheduled: number;
  numberAvailable: number;
  numberUnavailable: number;
}

/** The status counters (upstream's updateDaemonSetStatus), from the oldest pod on each node. */
export function daemonSetCounts(
  ds: KubeObject,
  nodes: readonly KubeObject[],
  byNode: Map<string, KubeObject[]>,
  hash: string,
  now: number,
): DaemonSetCounts {
  const c: DaemonSetCounts = {
    desiredNumberScheduled: 0,
    currentNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
    updatedNumberScheduled: 0,
    numberAvailable: 0,
    numberUnavailable: 0,
  };
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const generation = templateGeneration(ds);
  for (const node of nodes) {
    const pods = byNode.get(node.metadata.name!) ?? [];
    const d = nodeShouldRunDaemonPod(daemonPodTemplate(ds, node.metadata.name!, hash), node);
    if (d.shouldRun) {
      c.desiredNumberScheduled++;
      if (!pods.length) continue;
      c.currentNumberScheduled++;
      const pod = pods[0];
      if (isPodReady(pod)) {
        c.numberReady++;
        if (isPodAvailable(pod, minReady, now)) c.numberAvailable++;
      }
      if (isPodUpdated(pod, hash, generation)) c.updatedNumberScheduled++;
    } else if (pods.length) {
      c.numberMisscheduled++;
    }
  }
  c.numberUnavailable = c.desiredNumberScheduled - c.numberAvailable;
  return c;
}
