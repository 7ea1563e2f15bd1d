// JSON Merge Patch (RFC 7386): objects merge recursively, null deletes a member, and any other
// value (arrays included) replaces the target's value whole.
import { cloneJson, isJsonObject, type JsonObject, ownValue, setOwnValue } from "./json-values.ts";

/** The result of merging `patch` into `target`; neither input is modified. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  return mergeInto(isJsonObject(target) ? cloneJson(target) : {}, patch);
}

/** Merges into `target`, which the caller owns; values taken from `patch` are copied. */
function mergeInto(target: JsonObject, patch: JsonObject): JsonObject {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete target[key];
    } else if (isJsonObject(value)) {
      const current = ownValue(target, key);
      setOwnValue(target, key, mergeInto(isJsonObject(current) ? current : {}, value));
    } else {
      setOwnValue(target, key, cloneJson(value));
    }
  }
  return target;
}
