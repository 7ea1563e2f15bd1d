// Pure scheduling predicates: does a pod fit a node? (Ready, schedulable, nodeSelector,
// required node affinity, taints vs tolerations.)
import { matches, type Requirement } from "../../kube/labels.ts";

export interface FitResult {
  fits: boolean;
  /** Upstream-style reason counted in the FailedScheduling message when it does not fit. */
  reason?: string;
}

export function isNodeReady(node: any): boolean {
  return (node.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");
}

function tolerates(tolerations: any[], taint: any): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === "Exists") return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
  });
}

function nodeSelectorTermMatches(term: any, node: any): boolean {
  const labels = node.metadata.labels ?? {};
  const reqs: Requirement[] = [];
  for (const e of term.matchExpressions ?? []) {
    const op = e.operator;
    if (op === "In") reqs.push({ key: e.key, op: "in", values: e.values ?? [] });
    else if (op === "NotIn") reqs.push({ key: e.key, op: "notin", values: e.values ?? [] });
    else if (op === "Exists") reqs.push({ key: e.key, op: "exists", values: [] });
    else if (op === "DoesNotExist") reqs.push({ key: e.key, op: "!", values: [] });
    else if (op === "Gt") reqs.push({ key: e.key, op: "gt", values: e.values ?? [] });
    else if (op === "Lt") reqs.push({ key: e.key, op: "lt", values: e.values ?? [] });
    else return false;
  }
  if (!matches(reqs, labels)) return false;
  for (const f of term.matchFields ?? []) {
    if (f.key !== "metadata.name") return false;
    const inList = (f.values ?? []).includes(node.metadata.name);
    if (f.operator === "In" ? !inList : f.operator === "NotIn" ? inList : true) return false;
  }
  return true;
}

export function podFitsNode(pod: any, node: any): FitResult {
  if (!isNodeReady(node)) return { fits: false, reason: "node(s) were not ready" };
  if (
    node.spec?.unschedulable &&
    !tolerates(pod.spec?.tolerations ?? [], { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" })
  )
    return { fits: false, reason: "node(s) were unschedulable" };
  const sel = pod.spec?.nodeSelector ?? {};
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(sel))
    if (labels[k] !== v) return { fits: false, reason: "node(s) didn't match Pod's node affinity/selector" };
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms?.length && !terms.some((t: any) => nodeSelectorTermMatches(t, node)))
    return { fits: false, reason: "node(s) didn't match Pod's node affinity/selector" };
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect !== "NoSchedule" && taint.effect !== "NoExecute") continue;
    if (!tolerates(pod.spec?.tolerations ?? [], taint))
      return { fits: false, reason: `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}` };
  }
  return { fits: true };
}

/** `0/3 nodes are available: 2 node(s) didn't match ..., 1 node(s) were not ready.` */
export function unschedulableMessage(total: number, reasons: string[]): string {
  if (total === 0) return "no nodes available to schedule pods";
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([r, n]) => `${n} ${r}`);
  return `0/${total} nodes are available: ${parts.join(", ")}.`;
}
