import { GoValue } from "../errors.ts";
// Upstream prints the bad value of an Invalid error with Go's %#v when it is a map, slice or
// struct (`map[string]string{"app":"x"}`, `v1.LabelSelector{...}`), and clients show that text
// verbatim. These helpers render our JSON values the same way.
import { isObject, objects } from "./json.ts";

/**
 * A bad value that errors.ts prints exactly as `text`. errors.ts prints strings quoted and
 * objects as JSON, but anything else through String(); a function whose toString returns the
 * text is the one value that comes out verbatim.
 */
export function goValue(text: string): unknown {
  return new GoValue(text);
}

/** Go's %q for a string (JSON escaping matches it for everything we print). */
export const goQuote = (s: string) => JSON.stringify(String(s));

const sortedEntries = (m: Record<string, unknown>) =>
  Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** map[string]string{"a":"b", "c":"d"} (keys sorted, as fmt prints maps); nil as map[string]string(nil). */
export function goStringMap(m: Record<string, string> | null | undefined): string {
  if (!isObject(m)) return "map[string]string(nil)";
  return `map[string]string{${sortedEntries(m)
    .map(([k, v]) => `${goQuote(k)}:${goQuote(String(v))}`)
    .join(", ")}}`;
}

/** []string{"a", "b"}; nil as []string(nil). */
export function goStringSlice(a: readonly string[] | null | undefined): string {
  if (!Array.isArray(a)) return "[]string(nil)";
  return `[]string{${a.map((s) => goQuote(String(s))).join(", ")}}`;
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key?: string; operator?: string; values?: string[] }[];
}

/** A metav1.LabelSelector as %#v prints it, e.g. in "spec.selector: ...: field is immutable". */
export function goLabelSelector(sel: Selector | null | undefined): string {
  if (!isObject(sel)) return "(*v1.LabelSelector)(nil)";
  const exprs = Array.isArray(sel.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${objects(sel.matchExpressions)
        .map(
          (e) =>
            `v1.LabelSelectorRequirement{Key:${goQuote(e.key ?? "")}, Operator:${goQuote(e.operator ?? "")}, Values:${goStringSlice(e.values)}}`,
        )
        .join(", ")}}`
    : "[]v1.LabelSelectorRequirement(nil)";
  return `v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels)}, MatchExpressions:${exprs}}`;
}

/**
 * A loose %#v of any JSON value under a Go type name, for structs too large to model exactly
 * (e.g. a whole pod template). Field names are capitalised the way Go's are.
 */
export function goStruct(typeName: string, v: unknown): string {
  return `${typeName}{${goFields(v)}}`;
}

function goFields(v: unknown): string {
  if (!v || typeof v !== "object" || Array.isArray(v)) return "";
  return Object.entries(v as Record<string, unknown>)
    .map(([k, val]) => `${k.charAt(0).toUpperCase()}${k.slice(1)}:${goAny(val)}`)
    .join(", ");
}

function goAny(v: unknown): string {
  if (v === null || v === undefined) return "nil";
  if (typeof v === "string") return goQuote(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[]{${v.map(goAny).join(", ")}}`;
  return `{${goFields(v)}}`;
}

/** An intstr.IntOrString as %#v prints it. */
export function goIntOrString(v: unknown): string {
  if (typeof v === "string") return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${goQuote(v)}}`;
  return `intstr.IntOrString{Type:0, IntVal:${Number(v ?? 0)}, StrVal:""}`;
}
