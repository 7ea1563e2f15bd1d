// Strict field validation (`?fieldValidation=Strict|Warn|Ignore`): the fields of a request
// body that the schema does not declare, as JSON paths in upstream's notation
// (`spec.containers[0].imagee`, map keys as `.key`), and upstream's messages for them.
import type { FieldType } from "../schema/models.ts";
import { modelFields } from "../schema/models.ts";
import type { JsonSchema } from "./json-schema.ts";
import { childPath, indexPath, isObject } from "./json-schema.ts";
import { walkStructural } from "./structural-walk.ts";

type Found = (container: Record<string, unknown>, key: string, path: string) => void;

const fieldIndexes = new Map<string, Map<string, FieldType> | null>();

function fieldIndex(model: string): Map<string, FieldType> | undefined {
  let index = fieldIndexes.get(model);
  if (index === undefined) {
    const fields = modelFields(model);
    index = fields ? new Map(fields.map((f) => [f.name, f.type])) : null;
    fieldIndexes.set(model, index);
  }
  return index ?? undefined;
}

function visitModel(model: string, v: unknown, path: string, found: Found): void {
  const fields = fieldIndex(model);
  // Unknown models (e.g. MicroTime, which client-node names but does not generate) are scalars.
  if (!fields || !isObject(v)) return;
  for (const [k, x] of Object.entries(v)) {
    const t = fields.get(k);
    if (t) visitType(t, x, childPath(path, k), found);
    else found(v, k, childPath(path, k));
  }
}

function visitType(t: FieldType, v: unknown, path: string, found: Found): void {
  if (t.kind === "ref") visitModel(t.model, v, path, found);
  else if (t.kind === "array" && Array.isArray(v))
    for (const [i, x] of v.entries()) visitType(t.items, x, indexPath(path, i), found);
  else if (t.kind === "map" && isObject(v))
    for (const [k, x] of Object.entries(v)) visitType(t.values, x, childPath(path, k), found);
  // Scalars, int-or-string and arbitrary JSON ("any") hold no fields to check.
}

/**
 * Paths of the fields of `obj` that the built-in model (e.g. "V1Pod") does not declare, in
 * document order, as upstream's strict decoding reports them. Matching is case-sensitive.
 */
export function unknownFields(model: string, obj: unknown, prefix = ""): string[] {
  const out: string[] = [];
  visitModel(model, obj, prefix, (_c, _k, path) => out.push(path));
  return out;
}

/**
 * Deletes the fields `unknownFields` reports (a typed decode drops them when validation is
 * Ignore or Warn). Returns their paths.
 */
export function dropUnknownFields(model: string, obj: unknown, prefix = ""): string[] {
  const found: { c: Record<string, unknown>; k: string; path: string }[] = [];
  visitModel(model, obj, prefix, (c, k, path) => found.push({ c, k, path }));
  for (const f of found) delete f.c[f.k];
  return found.map((f) => f.path);
}

/**
 * Paths of the fields of a custom resource that its CRD version's schema does not declare:
 * unknown ObjectMeta fields of `metadata` first, then the fields pruning would drop (sorted),
 * then unknown fields in the metadata of embedded resources, in upstream's order.
 * Honours x-kubernetes-preserve-unknown-fields and x-kubernetes-embedded-resource.
 */
export function unknownFieldsForSchema(schema: JsonSchema | undefined, obj: unknown): string[] {
  const root = isObject(obj) ? unknownFields("V1ObjectMeta", obj.metadata, "metadata") : [];
  const walk = walkStructural(schema, obj, false);
  const embedded = walk.embeddedMetadata.flatMap((m) => unknownFields("V1ObjectMeta", m.value, m.path));
  return [...root, ...walk.unknown, ...embedded];
}

// ---- messages ----

/** One strict-decoding error, also the text of a Warn-mode warning: `unknown field "spec.foo"`. */
export const unknownFieldMessage = (path: string) => `unknown field ${JSON.stringify(path)}`;

/** `strict decoding error: unknown field "a", unknown field "b"` (the body of a PATCH's 400). */
export function strictDecodingMessage(paths: string[]): string {
  return `strict decoding error: ${paths.map(unknownFieldMessage).join(", ")}`;
}

/**
 * The 400 BadRequest message of a create or update whose body fails strict decoding:
 * `Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "…"`.
 */
export function decodeErrorMessage(kind: string, version: string, paths: string[]): string {
  return `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${kind}: ${strictDecodingMessage(paths)}`;
}
