// OpenAPI v3 component schemas for the built-in models, converted from the structural schema
// in schema/models.ts, with descriptions and required lists from the library's JSDoc, the
// strategic-merge-patch extensions the server's patcher uses, and the known enums.
import { mergesList, patchMetaFor } from "../patch/patch-metadata.ts";
import type { FieldType } from "../schema/models.ts";
import { hasModel, modelFields } from "../schema/models.ts";
import { fieldDescription, modelDocs } from "./descriptions.ts";
import { enumOf } from "./enums.ts";
import type { JsonSchema } from "./json-schema.ts";
import { INT_OR_STRING_SCHEMA, MICRO_TIME_SCHEMA, schemaNameOf, TIME_SCHEMA } from "./schema-names.ts";

export const refTo = (schemaName: string) => `#/components/schemas/${schemaName}`;

/** Schemas of the apimachinery primitives the models reference but client-node inlines. */
const PRIMITIVES: Record<string, JsonSchema> = {
  [TIME_SCHEMA]: {
    description: "A timestamp in RFC 3339 form, serialized to and from JSON with second precision.",
    type: "string",
    format: "date-time",
  },
  // Undescribed: client-node gives MicroTime fields the type's description already.
  [MICRO_TIME_SCHEMA]: {
    type: "string",
    format: "date-time",
  },
  // Undescribed: client-node gives int-or-string fields the type's description already.
  [INT_OR_STRING_SCHEMA]: {
    type: "string",
    format: "int-or-string",
    "x-kubernetes-int-or-string": true,
  },
};

/** A reference, wrapped in allOf when the property has its own description (as upstream does). */
function reference(name: string, description?: string): JsonSchema {
  return description ? { allOf: [{ $ref: refTo(name) }], description } : { $ref: refTo(name) };
}

/**
 * Adds the schema of `model` and of every model it reaches to `into` (keyed by upstream schema
 * name). Returns the schema name of `model`.
 */
export function addModelSchemas(model: string, into: Record<string, JsonSchema>): string {
  const root = schemaNameOf(model);
  const queue = [model];
  while (queue.length > 0) {
    const m = queue.pop()!;
    const name = schemaNameOf(m);
    if (into[name]) continue;
    const refs: string[] = [];
    into[name] = modelSchema(m, refs);
    for (const r of refs) {
      if (PRIMITIVES[r]) into[r] ??= structuredClone(PRIMITIVES[r]);
      else queue.push(r);
    }
  }
  return root;
}

function modelSchema(model: string, refs: string[]): JsonSchema {
  const docs = modelDocs(model);
  const properties: Record<string, JsonSchema> = {};
  for (const f of modelFields(model) ?? []) {
    const s = fieldSchema(f.type, refs, fieldDescription(model, f.name));
    const patch = patchMetaFor(model, f.name);
    if (patch) {
      s["x-kubernetes-patch-strategy"] = patch.strategy;
      if (patch.mergeKey && mergesList(patch)) s["x-kubernetes-patch-merge-key"] = patch.mergeKey;
    }
    const values = enumOf(model, f.name);
    if (values) s.enum = [...values];
    properties[f.name] = s;
  }
  const schema: JsonSchema = { type: "object" };
  if (docs?.description) schema.description = docs.description;
  schema.properties = properties;
  if (docs?.required.length) schema.required = [...docs.required];
  return schema;
}

/**
 * The schema of one field. `refs` collects the models (by client-node name) and primitive
 * schemas (by schema name) it references.
 */
function fieldSchema(t: FieldType, refs: string[], description?: string): JsonSchema {
  const withDescription = (s: JsonSchema): JsonSchema => (description ? { ...s, description } : s);
  switch (t.kind) {
    case "string":
      if (t.format === "date-time") {
        refs.push(TIME_SCHEMA);
        return reference(TIME_SCHEMA, description);
      }
      return withDescription(t.format ? { type: "string", format: t.format } : { type: "string" });
    case "integer":
      return withDescription(t.format ? { type: "integer", format: t.format } : { type: "integer" });
    case "number":
      return withDescription({ type: "number", format: t.format ?? "double" });
    case "boolean":
      return withDescription({ type: "boolean" });
    case "int-or-string":
      refs.push(INT_OR_STRING_SCHEMA);
      return reference(INT_OR_STRING_SCHEMA, description);
    case "any":
      // Arbitrary JSON (RawExtension, JSON, FieldsV1): declared, but not described further.
      return withDescription({ "x-kubernetes-preserve-unknown-fields": true });
    case "array":
      return withDescription({ type: "array", items: fieldSchema(t.items, refs) });
    case "map":
      return withDescription({ type: "object", additionalProperties: fieldSchema(t.values, refs) });
    case "ref": {
      if (!hasModel(t.model)) {
        // client-node names MicroTime but does not generate it.
        refs.push(MICRO_TIME_SCHEMA);
        return reference(MICRO_TIME_SCHEMA, description);
      }
      refs.push(t.model);
      if (description) return reference(schemaNameOf(t.model), description);
      // client-node drops the comments of fields that refer to a model; rather than leave the
      // field undescribed in `kubectl explain` field lists, describe it by its type. As a
      // sibling of $ref it is not printed a second time when the field itself is explained.
      const typeDescription = modelDocs(t.model)?.description;
      const ref: JsonSchema = { $ref: refTo(schemaNameOf(t.model)) };
      return typeDescription ? { ...ref, description: typeDescription } : ref;
    }
  }
}
