// metav1.LabelSelector validation (ValidateLabelSelector) and the selector-vs-template-labels
// rule every controller shares.
import { fromLabelSelector, type LabelSelector, matches } from "../../../kube/labels.ts";
import { type FieldError, forbidden, invalid, required } from "../errors.ts";
import { goStringMap, goValue } from "./go-format.ts";
import { isObject, objects, strings } from "./json.ts";
import { validateLabels } from "./meta.ts";
import { labelValue, qualifiedName } from "./names.ts";

const OPERATORS = new Set(["In", "NotIn", "Exists", "DoesNotExist"]);

export function validateLabelSelector(sel: LabelSelector | null | undefined, path: string): FieldError[] {
  if (!sel || typeof sel !== "object") return [];
  const errs = validateLabels(sel.matchLabels, `${path}.matchLabels`);
  objects(sel.matchExpressions).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = strings(e.values);
    if (e.operator === "In" || e.operator === "NotIn") {
      if (!values.length)
        errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (e.operator === "Exists" || e.operator === "DoesNotExist") {
      if (values.length)
        errs.push(
          forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
        );
    } else {
      errs.push(invalid(`${p}.operator`, e.operator ?? "", "not a valid selector operator"));
    }
    for (const m of qualifiedName(e.key ?? "")) errs.push(invalid(`${p}.key`, e.key ?? "", m));
    values.forEach((v, j) => {
      for (const m of labelValue(v)) errs.push(invalid(`${p}.values[${j}]`, v, m));
    });
  });
  return errs;
}

/** True when the selector can be compiled (every operator is known). */
export function selectorCompiles(sel: LabelSelector | null | undefined): boolean {
  // A missing selector compiles (to one that selects nothing).
  if (sel === null || sel === undefined) return true;
  if (!isObject(sel)) return false;
  if (sel.matchLabels != null && !isObject(sel.matchLabels)) return false;
  if (sel.matchExpressions == null) return true;
  if (!Array.isArray(sel.matchExpressions)) return false;
  return sel.matchExpressions.every(
    (e) => isObject(e) && OPERATORS.has(e.operator) && (e.values == null || Array.isArray(e.values)),
  );
}

/** A selector with nothing in it, which selects everything. */
export const selectorIsEmpty = (sel: LabelSelector | null | undefined) =>
  isObject(sel) && !Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length;

/**
 * The template's labels must satisfy the selector. A missing selector selects nothing, so it
 * fails too (upstream reports both that and "Required"); an empty one selects everything.
 */
export function validateSelectorMatchesTemplate(
  sel: LabelSelector | null | undefined,
  templateLabels: Record<string, string> | undefined,
  path: string,
): FieldError[] {
  if (!selectorCompiles(sel) || selectorIsEmpty(sel)) return [];
  if (matches(fromLabelSelector(sel ?? null), templateLabels)) return [];
  return [invalid(path, goValue(goStringMap(templateLabels)), "`selector` does not match template `labels`")];
}
