// The coordination.k8s.io/v1 Lease strategy: positive durations, non-negative transitions.
import { type FieldError, invalid, notSupported } from "../errors.ts";
import type { Strategy } from "../types.ts";
import type { Json } from "./json.ts";
import { dns1123Subdomain, NEGATIVE, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";

const STRATEGIES = ["OldestEmulationVersion"];

function validateSpec(spec: Json): FieldError[] {
  const errs: FieldError[] = [];
  const d = spec.leaseDurationSeconds;
  if (d != null && d <= 0) errs.push(invalid("spec.leaseDurationSeconds", d, "must be greater than 0"));
  const t = spec.leaseTransitions;
  if (t != null && t < 0) errs.push(invalid("spec.leaseTransitions", t, NEGATIVE));
  if (spec.strategy != null && !STRATEGIES.includes(spec.strategy))
    errs.push(notSupported("spec.strategy", spec.strategy, STRATEGIES));
  return errs;
}

export const leaseStrategy: Strategy = {
  hasStatus: false,
  tracksGeneration: false,
  validate(lease) {
    const errs = validateObjectMeta(lease.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
    errs.push(...validateSpec(lease.spec && typeof lease.spec === "object" ? lease.spec : {}));
    return errs;
  },
  validateUpdate(lease, old) {
    return validateObjectMetaUpdate(lease.metadata, old.metadata);
  },
};
