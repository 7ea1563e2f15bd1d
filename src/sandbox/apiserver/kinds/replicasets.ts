// The apps/v1 ReplicaSet strategy (SetDefaults_ReplicaSet, ValidateReplicaSet, immutable selector).
import type { KubeObject } from "../../../kube/objects.ts";
import type { FieldError } from "../errors.ts";
import type { Strategy } from "../types.ts";
import {
  nonNegative,
  validateAlwaysRestartingTemplate,
  validateControllerSelector,
  validateSelectorImmutable,
} from "./controller-common.ts";
import type { Json } from "./json.ts";
import { dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { defaultPodTemplate } from "./pod-defaults.ts";

function defaults(rs: KubeObject): void {
  const spec: Json = rs.spec;
  if (!spec || typeof spec !== "object") return;
  if (spec.replicas == null) spec.replicas = 1;
  defaultPodTemplate(spec.template);
}

function validateSpec(spec: Json): FieldError[] {
  const errs = nonNegative(spec.replicas, "spec.replicas");
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  // Upstream's message names deployments here too.
  errs.push(...validateControllerSelector(spec.selector, "deployment", "spec.selector"));
  errs.push(...validateAlwaysRestartingTemplate(spec, "ReplicaSet", "spec"));
  return errs;
}

export const replicaSetStrategy: Strategy = {
  hasStatus: true,
  tracksGeneration: true,
  defaults,
  prepareForCreate(rs) {
    // replicas carries no omitempty, so even a new ReplicaSet shows it.
    rs.status = { replicas: 0 };
  },
  validate(rs) {
    const errs = validateObjectMeta(rs.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
    errs.push(...validateSpec(rs.spec && typeof rs.spec === "object" ? rs.spec : {}));
    return errs;
  },
  validateUpdate(rs, old) {
    return [
      ...validateObjectMetaUpdate(rs.metadata, old.metadata),
      ...validateSelectorImmutable(rs.spec?.selector, old.spec?.selector, "spec.selector"),
    ];
  },
  selectableFields(rs) {
    return { "status.replicas": String(rs.status?.replicas ?? 0) };
  },
};
