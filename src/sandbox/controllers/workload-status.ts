// Status bookkeeping shared by the ReplicaSet and Deployment controllers: conditions set the
// way upstream's SetCondition does, and "did anything change" for writing status only then.

import { canonicalJson } from "./template-hash.ts";

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return (conditions ?? []).find((c) => c.type === type);
}

/**
 * `conditions` with `cond` set (a new list). As upstream: a condition with the same status
 * and reason is left alone (message and times included); one with the same status keeps its
 * lastTransitionTime; the changed condition moves to the end.
 */
export function setCondition(conditions: Condition[] | undefined, cond: Condition): Condition[] {
  const list = conditions ?? [];
  const current = getCondition(list, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return [...list];
  const next = { ...cond };
  if (current && current.status === cond.status) next.lastTransitionTime = current.lastTransitionTime;
  return [...list.filter((c) => c.type !== cond.type), next];
}

export function removeCondition(conditions: Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** Top-level zero counts dropped: upstream omits them (omitempty), and absent means 0. */
function withoutZeroCounts(status: unknown): unknown {
  if (!status || typeof status !== "object") return {};
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== 0));
}

/** Whether two statuses say the same (semantic equality, zero counts as absent). */
export function sameStatus(a: unknown, b: unknown): boolean {
  return canonicalJson(withoutZeroCounts(a)) === canonicalJson(withoutZeroCounts(b));
}
