// The apps/v1 Deployment strategy (SetDefaults_Deployment, ValidateDeployment, immutable selector).
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, forbidden, invalid, notSupported, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import {
  intOrPercentValue,
  nonNegative,
  notMoreThan100Percent,
  validateAlwaysRestartingTemplate,
  validateControllerSelector,
  validatePositiveIntOrPercent,
  validateSelectorImmutable,
} from "./controller-common.ts";
import { goIntOrString, goStruct, goValue } from "./go-format.ts";
import { isObject, type Json } from "./json.ts";
import { dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { defaultPodTemplate } from "./pod-defaults.ts";

function defaults(d: KubeObject): void {
  const spec: Json = d.spec;
  if (!isObject(spec)) return;
  if (spec.replicas == null) spec.replicas = 1;
  spec.strategy ??= {};
  const strategy = spec.strategy;
  if (isObject(strategy)) {
    if (!strategy.type) strategy.type = "RollingUpdate";
    if (strategy.type === "RollingUpdate") strategy.rollingUpdate ??= {};
    const ru = strategy.rollingUpdate;
    if (strategy.type === "RollingUpdate" && isObject(ru)) {
      if (ru.maxUnavailable == null) ru.maxUnavailable = "25%";
      if (ru.maxSurge == null) ru.maxSurge = "25%";
    }
  }
  if (spec.revisionHistoryLimit == null) spec.revisionHistoryLimit = 10;
  if (spec.progressDeadlineSeconds == null) spec.progressDeadlineSeconds = 600;
  defaultPodTemplate(spec.template);
}

function validateStrategy(strategy: Json, path: string): FieldError[] {
  const s = isObject(strategy) ? strategy : {};
  if (s.type === "Recreate")
    return s.rollingUpdate
      ? [forbidden(`${path}.rollingUpdate`, "may not be specified when strategy `type` is 'Recreate'")]
      : [];
  if (s.type === "RollingUpdate") {
    const ru = s.rollingUpdate;
    if (!isObject(ru))
      return [required(`${path}.rollingUpdate`, "this should be defaulted and never be nil")];
    const p = `${path}.rollingUpdate`;
    const errs = [
      ...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`),
      ...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`),
    ];
    if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0)
      errs.push(
        invalid(
          `${p}.maxUnavailable`,
          goValue(goIntOrString(ru.maxUnavailable ?? 0)),
          "may not be 0 when `maxSurge` is 0",
        ),
      );
    errs.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
    return errs;
  }
  return [notSupported(path, goValue(goStruct("apps.DeploymentStrategy", s)), ["Recreate", "RollingUpdate"])];
}

function validateSpec(spec: Json): FieldError[] {
  const errs = nonNegative(spec.replicas, "spec.replicas");
  errs.push(...validateControllerSelector(spec.selector, "deployment", "spec.selector"));
  errs.push(...validateAlwaysRestartingTemplate(spec, "ReplicaSet", "spec"));
  errs.push(...validateStrategy(spec.strategy, "spec.strategy"));
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"));
  if (spec.progressDeadlineSeconds != null) {
    errs.push(...nonNegative(spec.progressDeadlineSeconds, "spec.progressDeadlineSeconds"));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0))
      errs.push(
        invalid(
          "spec.progressDeadlineSeconds",
          spec.progressDeadlineSeconds,
          "must be greater than minReadySeconds",
        ),
      );
  }
  return errs;
}

export const deploymentStrategy: Strategy = {
  hasStatus: true,
  tracksGeneration: true,
  defaults,
  prepareForCreate(d) {
    d.status = {};
  },
  validate(d) {
    const errs = validateObjectMeta(d.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
    errs.push(...validateSpec(d.spec && typeof d.spec === "object" ? d.spec : {}));
    return errs;
  },
  validateUpdate(d, old) {
    return [
      ...validateObjectMetaUpdate(d.metadata, old.metadata),
      ...validateSelectorImmutable(d.spec?.selector, old.spec?.selector, "spec.selector"),
    ];
  },
};
