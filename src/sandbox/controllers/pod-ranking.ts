// Which surplus pods a ReplicaSet deletes first (upstream's ActivePodsWithRanks, with the
// PodDeletionCost and LogarithmicScaleDown behaviour that is on by default): the pods whose
// loss hurts least and that are most likely broken or least settled go first.

import { type KubeObject, parseTime } from "../../kube/objects.ts";
import { isPodActive, isPodReady, podReadySince } from "./pod-control.ts";

export const POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(pod: KubeObject): number {
  const v = pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  const n = v === undefined ? 0 : Number(v);
  return Number.isInteger(n) ? n : 0;
}

function maxRestarts(pod: KubeObject): number {
  let max = 0;
  for (const c of pod.status?.containerStatuses ?? []) max = Math.max(max, c.restartCount ?? 0);
  return max;
}

/** log2 of the age in nanoseconds, as an integer bucket (-1 for no age). */
function logAge(t: number, now: number): number {
  const d = (now - t) * 1e6;
  return d > 0 ? Math.floor(Math.log2(d)) : -1;
}

/**
 * Negative when `a` should go before `b`. Times are compared in logarithmic buckets of age
 * (so pods of similar age count as equal and are spread pseudo-randomly by UID); a missing
 * time sorts first.
 */
function compareTimes(a: KubeObject, b: KubeObject, ta: number, tb: number, now: number): number {
  if (ta === tb || (Number.isNaN(ta) && Number.isNaN(tb))) return 0;
  if (Number.isNaN(ta)) return -1;
  if (Number.isNaN(tb)) return 1;
  const diff = logAge(ta, now) - logAge(tb, now);
  if (diff === 0) return (a.metadata.uid ?? "") < (b.metadata.uid ?? "") ? -1 : 1;
  return diff; // younger (smaller age bucket) first
}

interface Ranked {
  pod: KubeObject;
  /** Active related pods on the same node: doubled-up pods go first. */
  rank: number;
}

function compare(x: Ranked, y: Ranked, now: number): number {
  const a = x.pod;
  const b = y.pod;
  // 1. Unassigned before assigned.
  const na = a.spec?.nodeName ?? "";
  const nb = b.spec?.nodeName ?? "";
  if (na !== nb && (!na || !nb)) return na ? 1 : -1;
  // 2. Pending < Unknown < Running.
  const pa = PHASE_ORDER[a.status?.phase] ?? 0;
  const pb = PHASE_ORDER[b.status?.phase] ?? 0;
  if (pa !== pb) return pa - pb;
  // 3. Not ready before ready.
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  // 4. Lower deletion cost first.
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  // 5. More colocated related pods first.
  if (x.rank !== y.rank) return y.rank - x.rank;
  // 6. Ready for less time first.
  if (ra && rb) {
    const c = compareTimes(a, b, podReadySince(a), podReadySince(b), now);
    if (c !== 0) return c;
  }
  // 7. More restarts first.
  const rsa = maxRestarts(a);
  const rsb = maxRestarts(b);
  if (rsa !== rsb) return rsb - rsa;
  // 8. Newer first.
  return compareTimes(
    a,
    b,
    parseTime(a.metadata.creationTimestamp),
    parseTime(b.metadata.creationTimestamp),
    now,
  );
}

/**
 * `pods` ordered by deletion preference. `related` are the pods of the owner and its sibling
 * ReplicaSets (same Deployment); a pod's rank is how many active ones share its node.
 */
export function rankForDeletion(pods: KubeObject[], related: KubeObject[], now: number): KubeObject[] {
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const node = p.spec?.nodeName ?? "";
    onNode.set(node, (onNode.get(node) ?? 0) + 1);
  }
  const ranked: Ranked[] = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? "") ?? 0 }));
  ranked.sort((x, y) => compare(x, y, now));
  return ranked.map((r) => r.pod);
}

/** The `n` pods to delete from `pods`. */
export function podsToDelete(
  pods: KubeObject[],
  related: KubeObject[],
  n: number,
  now: number,
): KubeObject[] {
  if (n >= pods.length) return [...pods];
  return rankForDeletion(pods, related, now).slice(0, n);
}
