// Kubernetes strategic merge patch: a JSON merge patch whose lists merge by key where the
// type's patch metadata says so, plus directives that steer the merge:
//   "$patch": "replace" | "delete" | "merge"     on a map, or as a list item
//   "$retainKeys": [keys]                         clear every other key of the original map
//   "$setElementOrder/<list>": [items]           the order of the merged list
//   "$deleteFromPrimitiveList/<list>": [values]  remove values from a merged primitive list
// The patch is walked alongside the original with the model schema, so at each map we know
// its model and so which of its lists merge. Maps without a known model merge as plain JSON
// merge patch. Semantics follow upstream apimachinery (pkg/util/strategicpatch) as applied
// by the API server, and the community doc contributors/devel/sig-api-machinery/
// strategic-merge-patch.md.
import { type FieldType, hasModel, modelField } from "../schema/models.ts";
import {
  cloneJson,
  describeJson,
  isJsonObject,
  type JsonObject,
  jsonEqual,
  ownValue,
  setOwnValue,
} from "./json-values.ts";
import { type ItemIdentity, orderMergedList } from "./list-order.ts";
import { malformedPatch, unappliablePatch } from "./patch-errors.ts";
import { mergesList, type PatchMeta, patchMetaFor } from "./patch-metadata.ts";

const PATCH = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ELEMENT_ORDER = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/";

/**
 * "patch": a strategic merge patch (directives are honoured, null deletes a field).
 * "apply": a server-side apply configuration (every key is data, null means "not applied").
 */
export type MergeMode = "patch" | "apply";

/** What the schema says about the value at some path; undefined when unknown. */
type Shape = FieldType | undefined;

/**
 * Applies a strategic merge patch to an object of `model` (e.g. "V1Pod"); inputs are not
 * modified unless `owned` (see mergeStrategically).
 */
export function applyStrategicMergePatch(
  original: object,
  patch: object,
  model: string,
  owned = false,
): Record<string, any> {
  return mergeStrategically(original, patch, model, "patch", owned);
}

/**
 * The strategic merge of `patch` into `original`, shaped by `model` when it names a known
 * model. Inputs are copied, never modified, unless `owned`: then both are the caller's to give
 * away (a private copy of the object, a freshly parsed patch) and the merge works on them in
 * place, saving two deep copies on every PATCH request.
 */
export function mergeStrategically(
  original: object,
  patch: object,
  model: string | undefined,
  mode: MergeMode,
  owned = false,
): Record<string, any> {
  if (!isJsonObject(patch))
    throw malformedPatch(`a strategic merge patch must be a JSON object, got ${describeJson(patch)}`);
  const start = isJsonObject(original) ? (owned ? original : cloneJson(original)) : {};
  const shape: Shape = model && hasModel(model) ? { kind: "ref", model } : undefined;
  // `$patch: delete` at the top deletes everything the object had.
  return new StrategicMerge(mode).map(start, owned ? patch : cloneJson(patch), shape) ?? {};
}

const isDirectiveKey = (key: string) =>
  key === PATCH ||
  key === RETAIN_KEYS ||
  key.startsWith(SET_ELEMENT_ORDER) ||
  key.startsWith(DELETE_FROM_PRIMITIVE_LIST);

/** A list item that is a `$patch` directive rather than data. */
const isDirectiveItem = (item: unknown): item is JsonObject =>
  isJsonObject(item) && Object.hasOwn(item, PATCH);

function childShape(shape: Shape, key: string): Shape {
  if (shape?.kind === "ref") return modelField(shape.model, key);
  if (shape?.kind === "map") return shape.values;
  return undefined;
}

/** Items of a keyed list are identified by their merge-key value, primitives by themselves. */
const identityBy =
  (mergeKey: string | undefined): ItemIdentity =>
  (item) =>
    mergeKey === undefined ? item : isJsonObject(item) ? ownValue(item, mergeKey) : undefined;

const itemShape = (shape: Shape): Shape => (shape?.kind === "array" ? shape.items : undefined);
const metaOf = (shape: Shape, key: string) =>
  shape?.kind === "ref" ? patchMetaFor(shape.model, key) : undefined;

/**
 * One merge. Both documents are private copies, so the original is updated in place and
 * values are taken from the patch without copying again.
 */
class StrategicMerge {
  readonly mode: MergeMode;
  constructor(mode: MergeMode) {
    this.mode = mode;
  }

  /** Merges a patch map into an original map (absent: a fresh one); undefined means "delete it". */
  map(original: JsonObject | undefined, patch: JsonObject, shape: Shape): JsonObject | undefined {
    if (this.mode === "apply") return this.fields(original ?? {}, patch, shape, new Set());

    const directive = ownValue(patch, PATCH);
    if (directive === "delete") return undefined;
    if (directive === "replace") {
      // Built from the patch alone; nested directives still apply and nulls vanish.
      const rest = { ...patch };
      delete rest[PATCH];
      return this.map(undefined, rest, shape);
    }
    if (directive !== undefined && directive !== "merge") {
      throw malformedPatch(`unknown patch type: ${describeJson(directive)} in map: ${describeJson(patch)}`);
    }

    const target = original ?? {};
    retainKeys(target, patch);
    deleteFromPrimitiveLists(target, patch);
    const ordered = this.setElementOrders(target, patch, shape);
    return this.fields(target, patch, shape, ordered);
  }

  /** The ordinary fields of a patch map, other than directives and lists already merged. */
  private fields(target: JsonObject, patch: JsonObject, shape: Shape, done: Set<string>): JsonObject {
    for (const [key, value] of Object.entries(patch)) {
      if (done.has(key) || (this.mode === "patch" && isDirectiveKey(key))) continue;
      if (value === null) {
        // A patch deletes the field; an apply configuration merely does not set it.
        if (this.mode === "patch") delete target[key];
        continue;
      }
      const merged = this.value(ownValue(target, key), value, childShape(shape, key), metaOf(shape, key));
      if (merged === undefined) delete target[key];
      else setOwnValue(target, key, merged);
    }
    return target;
  }

  private value(original: unknown, patch: unknown, shape: Shape, meta: PatchMeta | undefined): unknown {
    if (isJsonObject(patch)) {
      if (meta?.strategy === "replace") return this.map(undefined, patch, shape);
      return this.map(isJsonObject(original) ? original : undefined, patch, shape);
    }
    if (Array.isArray(patch)) {
      // Lists without a merge strategy are atomic: the patch's list replaces the original.
      if (!mergesList(meta)) return patch;
      return this.list(Array.isArray(original) ? original : [], patch, itemShape(shape), meta?.mergeKey);
    }
    return patch;
  }

  /** Merges a list whose strategy is merge: by `mergeKey` for maps, as a set for primitives. */
  list(original: unknown[], patch: unknown[], shape: Shape, mergeKey: string | undefined): unknown[] {
    let server = original;
    let items = patch;
    if (this.mode === "patch") {
      items = patch.filter((item) => !isDirectiveItem(item));
      let replace = false;
      for (const directive of patch.filter(isDirectiveItem)) {
        const kind = directive[PATCH];
        if (kind === "replace") replace = true;
        else if (kind === "delete") server = deleteListItem(server, directive, mergeKey);
        else if (kind !== "merge") {
          throw malformedPatch(
            `unknown patch type: ${describeJson(kind)} in map: ${describeJson(directive)}`,
          );
        }
      }
      // The patch's items become the whole list.
      if (replace)
        return items.map((item) => (isJsonObject(item) ? (this.map(undefined, item, shape) ?? {}) : item));
    }

    if (mergeKey === undefined) {
      const merged: unknown[] = [];
      for (const item of [...server, ...items])
        if (!merged.some((m) => jsonEqual(m, item))) merged.push(item);
      return orderMergedList(merged, items, server, identityBy(undefined));
    }

    const merged = [...server];
    for (const item of items) {
      if (!isJsonObject(item)) {
        throw unappliablePatch(`expected a map in a list merged by ${mergeKey}, got ${describeJson(item)}`);
      }
      requireMergeKey(item, mergeKey);
      const at = merged.findIndex(
        (m) => isJsonObject(m) && Object.hasOwn(m, mergeKey) && jsonEqual(m[mergeKey], item[mergeKey]),
      );
      if (at >= 0) merged[at] = this.map(merged[at] as JsonObject, item, shape) ?? {};
      else merged.push(this.map(undefined, item, shape) ?? {});
    }
    return orderMergedList(merged, items, server, identityBy(mergeKey));
  }

  /**
   * `$setElementOrder/<list>`: merges that list now (with the patch's own items for it) and
   * puts it in the requested order. Returns the list fields it handled.
   */
  private setElementOrders(target: JsonObject, patch: JsonObject, shape: Shape): Set<string> {
    const done = new Set<string>();
    for (const [key, order] of Object.entries(patch)) {
      if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
      const field = key.slice(SET_ELEMENT_ORDER.length);
      if (!Array.isArray(order))
        throw malformedPatch(`invalid patch format of setElementOrder list: ${key} must be a list`);
      const meta = metaOf(shape, field);
      const patchList = ownValue(patch, field);
      // Only merged lists have an order to keep; a replaced or deleted list is as the patch says.
      if (!mergesList(meta) || patchList === null) continue;
      if (patchList !== undefined && !Array.isArray(patchList)) {
        throw malformedPatch(`${field} must be a list to go with ${key}, got ${describeJson(patchList)}`);
      }
      const mergeKey = meta?.mergeKey;
      const identity = identityBy(mergeKey);
      validateOrderList(key, order, patchList ?? [], mergeKey, identity);

      const current = ownValue(target, field);
      const server = Array.isArray(current) ? current : [];
      if (server.length === 0 && (patchList === undefined || patchList.length === 0)) continue;
      const merged = this.list(server, patchList ?? [], itemShape(childShape(shape, field)), mergeKey);
      setOwnValue(target, field, orderMergedList(merged, order, server, identity));
      done.add(field);
    }
    return done;
  }
}

/** `$retainKeys`: keys of the original map that are not listed are cleared before merging. */
function retainKeys(target: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const keep = patch[RETAIN_KEYS];
  if (!Array.isArray(keep) || !keep.every((k) => typeof k === "string")) {
    throw malformedPatch(`invalid patch format of retainKeys: ${RETAIN_KEYS} must be a list of field names`);
  }
  // A field the patch sets must be one it retains, or the patch contradicts itself.
  for (const [key, value] of Object.entries(patch)) {
    if (value !== null && !isDirectiveKey(key) && !keep.includes(key)) {
      throw malformedPatch(
        `invalid patch format of retainKeys: ${JSON.stringify(key)} is set but not in ${RETAIN_KEYS}`,
      );
    }
  }
  for (const key of Object.keys(target)) if (!keep.includes(key)) delete target[key];
}

/** `$deleteFromPrimitiveList/<list>`: every listed value is removed from the original list. */
function deleteFromPrimitiveLists(target: JsonObject, patch: JsonObject): void {
  for (const [key, values] of Object.entries(patch)) {
    if (!key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
    if (!Array.isArray(values))
      throw malformedPatch(`invalid patch format of primitive list: ${key} must be a list`);
    const current = ownValue(target, field);
    if (current === undefined || current === null) continue;
    if (!Array.isArray(current)) throw unappliablePatch(`${key}: ${field} is not a list`);
    setOwnValue(
      target,
      field,
      current.filter((v) => !values.some((d) => jsonEqual(v, d))),
    );
  }
}

/** `{"$patch": "delete", <mergeKey>: value}` in a list removes the items with that key. */
function deleteListItem(list: unknown[], directive: JsonObject, mergeKey: string | undefined): unknown[] {
  if (mergeKey === undefined) {
    throw unappliablePatch(
      `$patch: delete cannot remove ${describeJson(directive)} from a list of primitives; use ${DELETE_FROM_PRIMITIVE_LIST}<list>`,
    );
  }
  requireMergeKey(directive, mergeKey);
  return list.filter(
    (item) => !(isJsonObject(item) && jsonEqual(ownValue(item, mergeKey), directive[mergeKey])),
  );
}

function requireMergeKey(item: JsonObject, mergeKey: string): void {
  if (!Object.hasOwn(item, mergeKey)) {
    throw unappliablePatch(`map: ${describeJson(item)} does not contain declared merge key: ${mergeKey}`);
  }
}

/**
 * A `$setElementOrder` list names items by merge key (or value), and must list the patch's
 * own items in the same relative order (deletions aside).
 */
function validateOrderList(
  key: string,
  order: unknown[],
  patchList: unknown[],
  mergeKey: string | undefined,
  identity: ItemIdentity,
): void {
  if (mergeKey !== undefined) {
    for (const entry of order) {
      if (!isJsonObject(entry) || !Object.hasOwn(entry, mergeKey)) {
        throw malformedPatch(
          `invalid patch format of setElementOrder list: ${key} item ${describeJson(entry)} does not contain merge key ${mergeKey}`,
        );
      }
    }
  }
  const ids = order.map(identity);
  let from = 0;
  for (const item of patchList) {
    if (isDirectiveItem(item)) continue;
    const at = ids.findIndex((id, i) => i >= from && jsonEqual(id, identity(item)));
    if (at < 0) {
      throw malformedPatch(
        `the order in the patch list ${describeJson(patchList)} doesn't match ${key} list ${describeJson(order)}`,
      );
    }
    from = at + 1;
  }
}
