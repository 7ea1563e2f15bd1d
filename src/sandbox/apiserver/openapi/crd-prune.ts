// Pruning of custom resources, as the apiextensions server does while decoding: fields the
// CRD schema does not declare are dropped (unless under x-kubernetes-preserve-unknown-fields),
// apiVersion and kind are kept, metadata keeps only ObjectMeta fields (at the root and in
// embedded resources), and nulls of non-nullable fields that have no default are removed.
import type { JsonObject, JsonSchema } from "./json-schema.ts";
import { additionalSchema, isObject } from "./json-schema.ts";
import { walkStructural } from "./structural-walk.ts";
import { dropUnknownFields } from "./unknown-fields.ts";

/** Prunes `obj` in place; returns the paths of the fields it dropped (for Warn warnings). */
export function pruneUnknownFields(schema: JsonSchema | undefined, obj: unknown): string[] {
  const root =
    isObject(obj) && isObject(obj.metadata)
      ? dropUnknownFields("V1ObjectMeta", obj.metadata, "metadata")
      : [];
  const walk = walkStructural(schema, obj, true);
  const embedded = walk.embeddedMetadata.flatMap((m) => dropUnknownFields("V1ObjectMeta", m.value, m.path));
  if (schema) dropNonNullableNulls(schema, obj);
  return [...root, ...walk.unknown, ...embedded];
}

/** Removes `null` values of object fields that are neither nullable nor defaulted. */
export function dropNonNullableNulls(schema: JsonSchema, obj: unknown): void {
  if (Array.isArray(obj)) {
    if (schema.items) for (const v of obj) dropNonNullableNulls(schema.items, v);
    return;
  }
  if (!isObject(obj)) return;
  const values = additionalSchema(schema);
  for (const [k, v] of Object.entries(obj)) {
    const s = schema.properties?.[k] ?? values;
    if (!s) continue;
    if (v === null && s.default === undefined && s.nullable !== true) delete (obj as JsonObject)[k];
    else dropNonNullableNulls(s, v);
  }
}
