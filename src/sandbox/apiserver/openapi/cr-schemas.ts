// OpenAPI v3 schemas for custom resources: the CRD version's openAPIV3Schema, published under
// upstream's name for CR kinds (reversed group, e.g. com.example.stable.v1.CronTab), with
// apiVersion/kind described, metadata referring to ObjectMeta (also inside embedded
// resources), the GVK attached, and a matching <Kind>List schema.
import type { ResourceDef } from "../types.ts";
import { fieldDescription } from "./descriptions.ts";
import type { JsonSchema } from "./json-schema.ts";
import { isObject } from "./json-schema.ts";
import { addModelSchemas, refTo } from "./model-schemas.ts";
import { LIST_META_SCHEMA, OBJECT_META_SCHEMA } from "./schema-names.ts";

export interface Gvk {
  group: string;
  kind: string;
  version: string;
}

/** `stable.example.com`, `v1`, `CronTab` → `com.example.stable.v1.CronTab`. */
export function crSchemaName(group: string, version: string, kind: string): string {
  return `${group.split(".").reverse().join(".")}.${version}.${kind}`;
}

// The generic descriptions of the type-meta fields, read from a built-in kind's docs.
const typeMetaField = (field: "apiVersion" | "kind"): JsonSchema => {
  const description = fieldDescription("V1Pod", field);
  return description ? { type: "string", description } : { type: "string" };
};

const metadataField = (description: string): JsonSchema => ({
  allOf: [{ $ref: refTo(OBJECT_META_SCHEMA) }],
  description,
});

/**
 * Adds the kind and list schemas of a custom resource (and ObjectMeta/ListMeta with what they
 * reach) to `into`. Returns the kind's schema name.
 */
export function addCustomResourceSchemas(def: ResourceDef, into: Record<string, JsonSchema>): string {
  addModelSchemas("V1ObjectMeta", into);
  addModelSchemas("V1ListMeta", into);
  const name = crSchemaName(def.group, def.version, def.kind);
  const source = def.crd?.schema as JsonSchema | undefined;
  const schema: JsonSchema = isObject(source)
    ? structuredClone(source)
    : { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  withEmbeddedMeta(schema);
  schema.type = "object";
  schema.properties = {
    ...schema.properties,
    apiVersion: typeMetaField("apiVersion"),
    kind: typeMetaField("kind"),
    metadata: metadataField("Standard object's metadata."),
  };
  schema["x-kubernetes-group-version-kind"] = [{ group: def.group, kind: def.kind, version: def.version }];
  into[name] = schema;

  into[crSchemaName(def.group, def.version, def.listKind)] = {
    description: `${def.listKind} is a list of ${def.kind}`,
    type: "object",
    properties: {
      apiVersion: typeMetaField("apiVersion"),
      items: {
        description: `List of ${def.plural}.`,
        type: "array",
        items: { $ref: refTo(name) },
      },
      kind: typeMetaField("kind"),
      metadata: {
        allOf: [{ $ref: refTo(LIST_META_SCHEMA) }],
        description: "Standard list metadata.",
      },
    },
    required: ["items"],
    "x-kubernetes-group-version-kind": [{ group: def.group, kind: def.listKind, version: def.version }],
  };
  return name;
}

/** Gives every nested x-kubernetes-embedded-resource node the type-meta and metadata fields. */
function withEmbeddedMeta(s: JsonSchema): void {
  for (const p of Object.values(s.properties ?? {})) if (isObject(p)) visit(p);
  if (isObject(s.items)) visit(s.items);
  if (isObject(s.additionalProperties)) visit(s.additionalProperties as JsonSchema);

  function visit(child: JsonSchema): void {
    withEmbeddedMeta(child);
    if (child["x-kubernetes-embedded-resource"] !== true) return;
    child.properties = {
      ...child.properties,
      apiVersion: typeMetaField("apiVersion"),
      kind: typeMetaField("kind"),
      metadata: metadataField("Standard object's metadata."),
    };
  }
}
