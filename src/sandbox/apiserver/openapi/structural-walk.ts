// Upstream's pruning walk over a structural schema (apiextensions-apiserver pruning): which
// fields of a custom resource the CRD schema does not declare. At the root and at every
// x-kubernetes-embedded-resource node, apiVersion, kind and metadata are left alone (metadata
// is ObjectMeta, checked separately); below x-kubernetes-preserve-unknown-fields nothing is
// unknown, but declared properties are still walked.
import type { JsonObject, JsonSchema } from "./json-schema.ts";
import { additionalSchema, childPath, indexPath, isObject } from "./json-schema.ts";

const TYPE_META = new Set(["apiVersion", "kind", "metadata"]);

export interface WalkResult {
  /** Paths of undeclared fields, sorted as upstream sorts them. */
  unknown: string[];
  /** The metadata objects of nested embedded resources, with their paths. */
  embeddedMetadata: { path: string; value: JsonObject }[];
}

/** Walks `obj` against `schema`; with `remove`, deletes the undeclared fields as it goes. */
export function walkStructural(schema: JsonSchema | undefined, obj: unknown, remove: boolean): WalkResult {
  const result: WalkResult = { unknown: [], embeddedMetadata: [] };
  // The resource root behaves as an embedded resource.
  const root: JsonSchema = { ...(schema ?? {}), "x-kubernetes-embedded-resource": true };
  prune(obj, root, "", remove, result, true);
  result.unknown.sort();
  return result;
}

function prune(
  x: unknown,
  s: JsonSchema | undefined,
  path: string,
  remove: boolean,
  r: WalkResult,
  root = false,
) {
  if (s?.["x-kubernetes-preserve-unknown-fields"] === true) {
    skipPrune(x, s, path, remove, r, root);
    return;
  }
  if (Array.isArray(x)) {
    for (const [i, v] of x.entries()) prune(v, s?.items, indexPath(path, i), remove, r);
    return;
  }
  if (!isObject(x)) return;
  if (!s) {
    for (const k of Object.keys(x)) unknownField(x, k, path, remove, r);
    return;
  }
  noteEmbeddedMetadata(x, s, path, r, root);
  const values = additionalSchema(s);
  for (const [k, v] of Object.entries(x)) {
    if (s["x-kubernetes-embedded-resource"] === true && TYPE_META.has(k)) continue;
    const prop = s.properties?.[k];
    if (prop) prune(v, prop, childPath(path, k), remove, r);
    else if (values) prune(v, values, childPath(path, k), remove, r);
    else unknownField(x, k, path, remove, r);
  }
}

function skipPrune(x: unknown, s: JsonSchema, path: string, remove: boolean, r: WalkResult, root = false) {
  if (Array.isArray(x)) {
    const items = s.items;
    if (items) for (const [i, v] of x.entries()) skipPrune(v, items, indexPath(path, i), remove, r);
    return;
  }
  if (!isObject(x)) return;
  noteEmbeddedMetadata(x, s, path, r, root);
  const values = additionalSchema(s);
  for (const [k, v] of Object.entries(x)) {
    if (s["x-kubernetes-embedded-resource"] === true && TYPE_META.has(k)) continue;
    const prop = s.properties?.[k];
    if (prop) prune(v, prop, childPath(path, k), remove, r);
    else if (values) prune(v, values, childPath(path, k), remove, r);
  }
}

function unknownField(x: JsonObject, k: string, path: string, remove: boolean, r: WalkResult) {
  r.unknown.push(childPath(path, k));
  if (remove) delete x[k];
}

function noteEmbeddedMetadata(x: JsonObject, s: JsonSchema, path: string, r: WalkResult, root: boolean) {
  if (!root && s["x-kubernetes-embedded-resource"] === true && isObject(x.metadata))
    r.embeddedMetadata.push({ path: childPath(path, "metadata"), value: x.metadata });
}
