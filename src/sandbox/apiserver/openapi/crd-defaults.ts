// Defaulting of custom resources from the CRD schema's `default` values: a field that is absent
// (or null while not nullable) gets a copy of its default, recursively, including inside array
// items and map values, and inside values that were just defaulted (as upstream does).
import type { JsonSchema } from "./json-schema.ts";
import { additionalSchema, cloneJson, isObject } from "./json-schema.ts";

const needsDefault = (v: unknown, s: JsonSchema) =>
  v === null && s.nullable !== true && s.default !== undefined;

/** Applies the schema's defaults to `obj` in place. */
export function applySchemaDefaults(schema: JsonSchema | undefined, obj: unknown): void {
  if (!schema) return;
  if (Array.isArray(obj)) {
    const items = schema.items;
    if (!items) return;
    obj.forEach((v, i) => {
      if (needsDefault(v, items)) obj[i] = cloneJson(items.default);
      applySchemaDefaults(items, obj[i]);
    });
    return;
  }
  if (!isObject(obj)) return;
  for (const [k, prop] of Object.entries(schema.properties ?? {})) {
    if (prop.default === undefined) continue;
    if (!Object.hasOwn(obj, k) || needsDefault(obj[k], prop)) obj[k] = cloneJson(prop.default);
  }
  const values = additionalSchema(schema);
  for (const k of Object.keys(obj)) {
    const prop = schema.properties?.[k];
    if (prop) applySchemaDefaults(prop, obj[k]);
    else if (values) {
      if (needsDefault(obj[k], values)) obj[k] = cloneJson(values.default);
      applySchemaDefaults(values, obj[k]);
    }
  }
}
