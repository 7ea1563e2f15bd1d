// A model of how `kubectl explain` (the OpenAPI v3 "plaintext" template, kubectl 1.27+) reads
// a group-version document: the GVK comes from an operation on the resource's paths, the
// schema is the one whose x-kubernetes-group-version-kind list holds that GVK, and fields are
// followed through properties, $ref, items, additionalProperties and allOf, in that order.
// Used by tests to check that the documents answer explain the way a real server's do.
import type { JsonSchema } from "./json-schema.ts";
import { isObject } from "./json-schema.ts";

export interface ExplainResource {
  group: string;
  version: string;
  /** The plural resource name, e.g. `pods`. */
  resource: string;
}

export interface ExplainResult {
  gvk: { group: string; kind: string; version: string };
  /** The last element of the field path (absent when explaining the kind itself). */
  field?: string;
  /** The type kubectl prints after the field name: `string`, `[]string`, `Probe`, `map[string]string`. */
  type?: string;
  /** The DESCRIPTION block: the field's description followed by those of the types it refers to. */
  description: string;
  enum?: unknown[];
  /** Names under FIELDS when the path ends at an object. */
  fields: string[];
}

interface Doc {
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ["get", "post", "put", "patch", "delete"];

/** Explains `fieldPath` (e.g. ["spec", "restartPolicy"]) of a resource; throws kubectl's errors. */
export function explain(doc: Doc, r: ExplainResource, fieldPath: string[]): ExplainResult {
  const gvk = gvkOf(doc, r);
  if (!gvk)
    throw new Error(
      `error: GVR (${r.group}/${r.version}, Resource=${r.resource}) not found in OpenAPI schema`,
    );
  const schema = Object.values(doc.components?.schemas ?? {}).find((s) =>
    (s["x-kubernetes-group-version-kind"] as unknown[] | undefined)?.some((e) => sameGvk(e, gvk)),
  );
  if (!schema) throw new Error(`error: GVK ${JSON.stringify(gvk)} not found in OpenAPI schema`);
  const out = output(doc, schema, fieldPath, new Set());
  if (!out) throw new Error(`error: field "${fieldPath[fieldPath.length - 1]}" does not exist`);
  return { gvk, ...out };
}

function gvkOf(doc: Doc, r: ExplainResource): ExplainResult["gvk"] | undefined {
  const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const candidates = [
    `${prefix}/${r.resource}`,
    `${prefix}/${r.resource}/{name}`,
    `${prefix}/namespaces/{namespace}/${r.resource}`,
    `${prefix}/namespaces/{namespace}/${r.resource}/{name}`,
  ];
  for (const p of candidates) {
    const item = doc.paths?.[p];
    if (!item) continue;
    for (const m of METHODS) {
      const op = item[m];
      if (isObject(op) && isObject(op["x-kubernetes-group-version-kind"]))
        return op["x-kubernetes-group-version-kind"] as ExplainResult["gvk"];
    }
  }
  return undefined;
}

// kubectl compares the maps exactly: the same three keys with the same values.
function sameGvk(a: unknown, b: ExplainResult["gvk"]): boolean {
  if (!isObject(a)) return false;
  const keys = Object.keys(a).sort();
  return (
    keys.join() === "group,kind,version" &&
    a.group === b.group &&
    a.kind === b.kind &&
    a.version === b.version
  );
}

function resolveRef(doc: Doc, ref: unknown): JsonSchema | undefined {
  if (typeof ref !== "string" || !ref.startsWith("#/components/schemas/")) return undefined;
  return doc.components?.schemas?.[ref.slice("#/components/schemas/".length)];
}

type Explained = Omit<ExplainResult, "gvk">;

function output(doc: Doc, schema: JsonSchema, path: string[], history: Set<string>): Explained | undefined {
  const ref = typeof schema.$ref === "string" ? schema.$ref : "";
  const resolved = resolveRef(doc, ref) ?? schema;
  const next = new Set(history).add(ref);
  if (path.length === 0)
    return { description: description(doc, resolved), fields: fieldList(doc, resolved, new Set()) };
  if (ref && history.has(ref)) return undefined;
  const sub = resolved.properties?.[path[0]];
  if (sub) {
    const rest = output(doc, sub, path.slice(1), new Set());
    if (!rest || path.length > 1) return rest;
    return { ...rest, field: path[0], type: typeGuess(doc, sub), ...(sub.enum ? { enum: sub.enum } : {}) };
  }
  if (isObject(resolved.items)) return output(doc, resolved.items, path, next);
  if (isObject(resolved.additionalProperties))
    return output(doc, resolved.additionalProperties as JsonSchema, path, next);
  for (const alt of resolved.allOf ?? []) {
    const r = output(doc, alt, path, next);
    if (r) return r;
  }
  return undefined;
}

function description(doc: Doc, schema: JsonSchema): string {
  const s = resolveRef(doc, schema.$ref) ?? schema;
  let out = s.description ? `${s.description}\n` : "";
  for (const alt of s.allOf ?? []) out += description(doc, alt);
  if (isObject(s.items)) out += description(doc, s.items);
  if (isObject(s.additionalProperties)) out += description(doc, s.additionalProperties as JsonSchema);
  return out;
}

function fieldList(doc: Doc, schema: JsonSchema, history: Set<string>): string[] {
  const ref = typeof schema.$ref === "string" ? schema.$ref : "";
  if (ref && history.has(ref)) return [];
  const next = new Set(history).add(ref);
  const s = resolveRef(doc, ref) ?? schema;
  const names = Object.keys(s.properties ?? {}).sort();
  for (const alt of s.allOf ?? []) names.push(...fieldList(doc, alt, next));
  if (isObject(s.items)) names.push(...fieldList(doc, s.items, next));
  if (isObject(s.additionalProperties))
    names.push(...fieldList(doc, s.additionalProperties as JsonSchema, next));
  return names;
}

/** kubectl's "typeGuess": the type hint printed in angle brackets. */
function typeGuess(doc: Doc, s: JsonSchema): string {
  if (isObject(s.items)) return `[]${typeGuess(doc, s.items)}`;
  if (isObject(s.additionalProperties))
    return `map[string]${typeGuess(doc, s.additionalProperties as JsonSchema)}`;
  if (s.allOf && !s.properties && s.allOf.length === 1) return typeGuess(doc, s.allOf[0]);
  if (typeof s.$ref === "string") {
    const target = resolveRef(doc, s.$ref);
    if (!target?.type || target.type === "object")
      return s.$ref.split("/").pop()!.split(".").pop() || "Object";
    return target.type;
  }
  return s.type === "object" || !s.type ? "Object" : s.type;
}
