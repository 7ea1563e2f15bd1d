// The apps/v1 DaemonSet strategy (SetDefaults_DaemonSet, ValidateDaemonSet, immutable selector).
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, forbidden, invalid, notSupported, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import {
  intOrPercentValue,
  nonNegative,
  notMoreThan100Percent,
  validatePositiveIntOrPercent,
  validateSelectorImmutable,
} from "./controller-common.ts";
import { goIntOrString, goLabelSelector, goStruct, goValue } from "./go-format.ts";
import { isObject, type Json } from "./json.ts";
import {
  selectorCompiles,
  validateLabelSelector,
  validateSelectorMatchesTemplate,
} from "./label-selector.ts";
import { dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { defaultPodTemplate } from "./pod-defaults.ts";
import { validatePodTemplateSpec } from "./pod-spec.ts";

export const TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation";

function defaults(ds: KubeObject): void {
  const spec: Json = ds.spec;
  if (!isObject(spec)) return;
  spec.updateStrategy ??= {};
  const us = spec.updateStrategy;
  if (isObject(us)) {
    if (!us.type) us.type = "RollingUpdate";
    if (us.type === "RollingUpdate") us.rollingUpdate ??= {};
    const ru = us.rollingUpdate;
    if (us.type === "RollingUpdate" && isObject(ru)) {
      if (ru.maxUnavailable == null) ru.maxUnavailable = 1;
      if (ru.maxSurge == null) ru.maxSurge = 0;
    }
  }
  if (spec.revisionHistoryLimit == null) spec.revisionHistoryLimit = 10;
  defaultPodTemplate(spec.template);
}

function validateUpdateStrategy(us: Json | undefined, path: string): FieldError[] {
  const s = isObject(us) ? us : {};
  if (s.type === "OnDelete") return [];
  if (s.type !== "RollingUpdate")
    return [
      notSupported(path, goValue(goStruct("apps.DaemonSetUpdateStrategy", s)), ["RollingUpdate", "OnDelete"]),
    ];
  const ru = s.rollingUpdate;
  if (!isObject(ru)) return [required(`${path}.rollingUpdate`, "")];
  const p = `${path}.rollingUpdate`;
  const errs = [
    ...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`),
    ...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`),
    ...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`),
    ...notMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`),
  ];
  // A DaemonSet rolls either by taking pods down first or by surging, never both.
  const unavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
  const surge = intOrPercentValue(ru.maxSurge) !== 0;
  if (unavailable && surge)
    errs.push(
      invalid(
        `${p}.maxSurge`,
        goValue(goIntOrString(ru.maxSurge)),
        "may not be set when maxUnavailable is non-zero",
      ),
    );
  else if (!unavailable && !surge)
    errs.push(required(`${p}.maxUnavailable`, "cannot be 0 when maxSurge is 0"));
  return errs;
}

function validateSpec(spec: Json): FieldError[] {
  const errs = validateLabelSelector(spec.selector, "spec.selector");
  const template: Json = spec.template ?? {};
  if (selectorCompiles(spec.selector))
    errs.push(
      ...validateSelectorMatchesTemplate(
        spec.selector,
        template.metadata?.labels,
        "spec.template.metadata.labels",
      ),
    );
  const sel = spec.selector;
  if (sel && !Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)
    errs.push(
      invalid("spec.selector", goValue(goLabelSelector(sel)), "empty selector is invalid for daemonset"),
    );
  errs.push(...validatePodTemplateSpec(template, "spec.template"));
  const restart = template.spec?.restartPolicy ?? "";
  if (restart !== "Always") errs.push(notSupported("spec.template.spec.restartPolicy", restart, ["Always"]));
  if (template.spec?.activeDeadlineSeconds != null)
    errs.push(
      forbidden(
        "spec.template.spec.activeDeadlineSeconds",
        "activeDeadlineSeconds in DaemonSet is not Supported",
      ),
    );
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...validateUpdateStrategy(spec.updateStrategy, "spec.updateStrategy"));
  errs.push(...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"));
  return errs;
}

export const daemonSetStrategy: Strategy = {
  hasStatus: true,
  tracksGeneration: true,
  defaults,
  prepareForCreate(ds) {
    // These counters carry no omitempty, so a new DaemonSet shows them as zero.
    ds.status = {
      currentNumberScheduled: 0,
      desiredNumberScheduled: 0,
      numberMisscheduled: 0,
      numberReady: 0,
    };
    // apps/v1 keeps the internal templateGeneration (1 for a new DaemonSet) in an annotation.
    ds.metadata.annotations = {
      ...(isObject(ds.metadata.annotations) ? ds.metadata.annotations : {}),
      [TEMPLATE_GENERATION_ANNOTATION]: "1",
    };
  },
  prepareForUpdate(ds, old) {
    // The template generation moves with every template change, as upstream's does.
    const before = Number(old.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION] ?? "1");
    const changed = JSON.stringify(ds.spec?.template) !== JSON.stringify(old.spec?.template);
    ds.metadata.annotations = {
      ...(isObject(ds.metadata.annotations) ? ds.metadata.annotations : {}),
      [TEMPLATE_GENERATION_ANNOTATION]: String(changed ? before + 1 : before),
    };
  },
  validate(ds) {
    const errs = validateObjectMeta(ds.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
    errs.push(...validateSpec(ds.spec && typeof ds.spec === "object" ? ds.spec : {}));
    return errs;
  },
  validateUpdate(ds, old) {
    return [
      ...validateObjectMetaUpdate(ds.metadata, old.metadata),
      ...validateSelectorImmutable(ds.spec?.selector, old.spec?.selector, "spec.selector"),
    ];
  },
};
