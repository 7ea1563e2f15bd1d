// JSON Merge Patch (RFC 7386): objects merge recursively, null deletes a member, and any other
// value (arrays included) replaces the target's value whole.
import { cloneJson, isJsonObject, type JsonObject, ownValue, setOwnValue } from "./json-values.ts";

/**
 * The result of merging `patch` into `target`; neither input is modified unless `owned`: then
 * both are the caller's to give away (a private copy of the object, a freshly parsed patch), and
 * the merge happens in place without copying either (it runs on every PATCH request).
 */
export function applyMergePatch(target: unknown, patch: unknown, owned = false): unknown {
  if (!isJsonObject(patch)) return owned ? patch : cloneJson(patch);
  const start = isJsonObject(target) ? (owned ? target : cloneJson(target)) : {};
  return mergeInto(start, patch, owned ? (v) => v : cloneJson);
}

/** Merges into `target`, which the caller owns; values taken from `patch` go through `take`. */
function mergeInto(target: JsonObject, patch: JsonObject, take: <V>(v: V) => V): JsonObject {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete target[key];
    } else if (isJsonObject(value)) {
      const current = ownValue(target, key);
      setOwnValue(target, key, mergeInto(isJsonObject(current) ? current : {}, value, take));
    } else {
      setOwnValue(target, key, take(value));
    }
  }
  return target;
}
