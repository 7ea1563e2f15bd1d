// Helpers for the strategy tests: run an object through the create or update flow the server
// uses (prepareForCreate, defaults, validate[, validateUpdate]) and read the errors as text.
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, fieldErrorBody } from "../errors.ts";
import type { Strategy } from "../types.ts";

/** "field: body", the way each cause appears in a 422 message. */
export const asText = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${fieldErrorBody(e)}`);

/** A copy of `obj` as the server would store it on create (uid set, prepared, defaulted). */
export function created(strategy: Strategy, obj: unknown, uid = "0b9c9d7e-uid"): KubeObject {
  const o = structuredClone(obj) as KubeObject;
  o.metadata ??= {};
  o.metadata.uid ??= uid;
  strategy.prepareForCreate?.(o);
  strategy.defaults?.(o);
  return o;
}

/** The create-time errors for `obj`. */
export function createErrors(strategy: Strategy, obj: unknown): string[] {
  return asText(strategy.validate?.(created(strategy, obj)) ?? []);
}

/** The update-time errors for writing `next` over the stored `old`. */
export function updateErrors(strategy: Strategy, next: KubeObject, old: KubeObject): string[] {
  const o = structuredClone(next);
  strategy.defaults?.(o);
  return asText([...(strategy.validate?.(o) ?? []), ...(strategy.validateUpdate?.(o, old) ?? [])]);
}
