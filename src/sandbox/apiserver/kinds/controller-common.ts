// Rules the pod-owning controllers (Deployment, ReplicaSet, DaemonSet) share: a required,
// non-empty, immutable selector that matches the template, a template that always restarts,
// and int-or-percent rollout knobs.
import type { LabelSelector } from "../../../kube/labels.ts";
import { type FieldError, forbidden, invalid, notSupported, required } from "../errors.ts";
import { goIntOrString, goLabelSelector, goValue } from "./go-format.ts";
import type { Json } from "./json.ts";
import {
  selectorCompiles,
  validateLabelSelector,
  validateSelectorMatchesTemplate,
} from "./label-selector.ts";
import { FIELD_IMMUTABLE, NEGATIVE } from "./meta.ts";
import { percent } from "./names.ts";
import { validatePodTemplateSpec } from "./pod-spec.ts";
import { canonicalJson } from "./semantic-equal.ts";

/** A negative count as upstream's ValidateNonnegativeField reports it. */
export function nonNegative(value: unknown, path: string): FieldError[] {
  return typeof value === "number" && value < 0 ? [invalid(path, value, NEGATIVE)] : [];
}

/** The selector must be given and select something; its syntax must be valid. */
export function validateControllerSelector(
  sel: LabelSelector | undefined,
  kind: string,
  path: string,
): FieldError[] {
  if (!sel || typeof sel !== "object") return [required(path, "")];
  const errs = validateLabelSelector(sel, path);
  if (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)
    errs.push(invalid(path, goValue(goLabelSelector(sel)), `empty selector is invalid for ${kind}`));
  return errs;
}

/**
 * The pod template of a long-running controller (upstream ValidatePodTemplateSpecForReplicaSet).
 * A selector that does not compile is reported instead, and the template is then not checked.
 */
export function validateAlwaysRestartingTemplate(spec: Json, kind: string, path: string): FieldError[] {
  if (!selectorCompiles(spec.selector))
    return [invalid(`${path}.selector`, goValue(goLabelSelector(spec.selector)), "invalid label selector")];
  const template: Json = spec.template ?? {};
  const errs = validateSelectorMatchesTemplate(
    spec.selector,
    template.metadata?.labels,
    `${path}.template.metadata.labels`,
  );
  errs.push(...validatePodTemplateSpec(template, `${path}.template`));
  const restart = template.spec?.restartPolicy ?? "";
  if (restart !== "Always")
    errs.push(notSupported(`${path}.template.spec.restartPolicy`, restart, ["Always"]));
  if (template.spec?.activeDeadlineSeconds != null)
    errs.push(
      forbidden(
        `${path}.template.spec.activeDeadlineSeconds`,
        `activeDeadlineSeconds in ${kind} is not Supported`,
      ),
    );
  return errs;
}

/** apps/v1 selectors may not change after creation. */
export function validateSelectorImmutable(sel: unknown, old: unknown, path: string): FieldError[] {
  if (canonicalJson(sel) === canonicalJson(old)) return [];
  return [invalid(path, goValue(goLabelSelector(sel as LabelSelector)), FIELD_IMMUTABLE)];
}

const percentValue = (v: unknown) =>
  typeof v === "string" && !percent(v).length ? Number(v.slice(0, -1)) : undefined;

/** The number an int-or-percent stands for (a percent counts as its number). */
export function intOrPercentValue(v: unknown): number {
  const p = percentValue(v);
  if (p !== undefined) return p;
  return typeof v === "number" ? v : 0;
}

export function validatePositiveIntOrPercent(v: unknown, path: string): FieldError[] {
  if (typeof v === "string") return percent(v).map((m) => invalid(path, goValue(goIntOrString(v)), m));
  if (typeof v === "number") return nonNegative(v, path);
  return [];
}

export function notMoreThan100Percent(v: unknown, path: string): FieldError[] {
  const p = percentValue(v);
  return p !== undefined && p > 100
    ? [invalid(path, goValue(goIntOrString(v)), "must not be greater than 100%")]
    : [];
}
