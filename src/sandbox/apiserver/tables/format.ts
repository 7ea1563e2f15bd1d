// Small formatting helpers the upstream printers share: label maps, label selectors,
// container name/image lists, "a,b,c + 2 more..." lists and condition lookups.
import {
  fromLabelSelector,
  type LabelSelector,
  type Requirement,
  selectorString,
} from "../../../kube/labels.ts";

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** labels.FormatLabels: `k=v` pairs sorted by key, "<none>" when empty. */
export function formatLabels(labels: Record<string, string> | undefined | null): string {
  const keys = Object.keys(labels ?? {}).sort(byCodeUnit);
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(",") : "<none>";
}

/**
 * labels.Selector.String() of metav1.LabelSelectorAsSelector: requirements sorted by key, in/notin values sorted.
 * A nil selector (selects nothing) and `{}` (everything) both print as ""; undefined means the operator is invalid.
 */
export function selectorText(sel: LabelSelector | null | undefined): string | undefined {
  let reqs: Requirement[] | null;
  try {
    reqs = fromLabelSelector(sel);
  } catch {
    return undefined;
  }
  if (!reqs) return "";
  const sorted = reqs
    .map((r) => ({ ...r, values: [...r.values].sort(byCodeUnit) }))
    .sort((a, b) => byCodeUnit(a.key, b.key));
  return selectorString(sorted);
}

/** metav1.FormatLabelSelector: like selectorText but "<none>" when empty and "<error>" when invalid. */
export function formatLabelSelector(sel: LabelSelector | null | undefined): string {
  const s = selectorText(sel);
  if (s === undefined) return "<error>";
  return s || "<none>";
}

/** layoutContainerCells: container names and images, each comma-joined. */
export function containerCells(podSpec: any): [names: string, images: string] {
  const containers: any[] = podSpec?.containers ?? [];
  return [containers.map((c) => c.name ?? "").join(","), containers.map((c) => c.image ?? "").join(",")];
}

/** Up to three items then " + N more..." (formatEndpoints / listWithMoreString). */
export function listWithMore(items: string[], max = 3): string {
  if (items.length <= max) return items.join(",");
  return `${items.slice(0, max).join(",")} + ${items.length - max} more...`;
}

/** The status of the first condition of `type` ("True"/"False"/"Unknown"), or undefined when absent. */
export function conditionStatus(conditions: any[] | undefined, type: string): string | undefined {
  return conditions?.find((c) => c?.type === type)?.status;
}

export const isConditionTrue = (conditions: any[] | undefined, type: string) =>
  conditionStatus(conditions, type) === "True";

/** Number fields of status blocks are omitted when zero in stored JSON. */
export const int = (v: unknown): number => (typeof v === "number" ? v : 0);
