// JSON Patch (RFC 6902): an ordered list of add / remove / replace / move / copy / test
// operations on JSON Pointer locations. All operations apply or none do: the document is
// copied first and the copy is only returned once every operation has succeeded.
import { ApiError } from "../errors.ts";
import { arrayIndexOf, parseJsonPointer } from "./json-pointer.ts";
import {
  cloneJson,
  describeJson,
  isJsonObject,
  type JsonObject,
  jsonEqual,
  setOwnValue,
} from "./json-values.ts";
import { malformedPatch, unappliablePatch } from "./patch-errors.ts";

// Upstream's limit on operations per patch (apiserver maxJSONPatchOperations).
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/** Applies `operations` (the parsed patch body) to a copy of `document`. */
export function applyJsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw malformedPatch("a JSON patch must be a JSON array of operations");
  if (operations.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new ApiError(
      413,
      "RequestEntityTooLarge",
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${operations.length}`,
    );
  }
  let doc = cloneJson(document);
  operations.forEach((raw, index) => {
    doc = applyOperation(doc, raw, index);
  });
  return doc;
}

/** A failed operation, named by its position, kind and path so the client can find it. */
class OperationFailure {
  readonly label: string;
  constructor(index: number, raw: JsonObject) {
    const op = typeof raw.op === "string" ? raw.op : "?";
    const path = typeof raw.path === "string" ? ` ${JSON.stringify(raw.path)}` : "";
    this.label = `json patch operation ${index} (${op}${path})`;
  }
  error(detail: string): ApiError {
    return unappliablePatch(`${this.label}: ${detail}`);
  }
}

function applyOperation(doc: unknown, raw: unknown, index: number): unknown {
  if (!isJsonObject(raw))
    throw unappliablePatch(`json patch operation ${index}: must be a JSON object, got ${describeJson(raw)}`);
  const fail = new OperationFailure(index, raw);
  const path = pointerMember(raw, "path", fail);
  switch (raw.op) {
    case "add":
      return add(doc, path, valueMember(raw, fail), fail);
    case "remove":
      return remove(doc, path, fail);
    case "replace":
      return replace(doc, path, valueMember(raw, fail), fail);
    case "move": {
      const from = pointerMember(raw, "from", fail);
      if (from.length < path.length && from.every((t, i) => t === path[i])) {
        throw fail.error(`cannot move ${JSON.stringify(raw.from)} into one of its own children`);
      }
      const value = valueAt(doc, from, fail);
      return add(remove(doc, from, fail), path, value, fail);
    }
    case "copy": {
      const from = pointerMember(raw, "from", fail);
      return add(doc, path, cloneJson(valueAt(doc, from, fail)), fail);
    }
    case "test": {
      const expected = valueMember(raw, fail);
      const actual = valueAt(doc, path, fail);
      if (!jsonEqual(actual, expected)) {
        throw fail.error(`test failed: the value is ${describeJson(actual)}, not ${describeJson(expected)}`);
      }
      return doc;
    }
    default:
      throw fail.error(
        `unsupported operation ${describeJson(raw.op)}; expected one of add, remove, replace, move, copy, test`,
      );
  }
}

function pointerMember(raw: JsonObject, member: "path" | "from", fail: OperationFailure): string[] {
  const pointer = raw[member];
  if (typeof pointer !== "string") throw fail.error(`"${member}" must be a JSON pointer string`);
  const tokens = parseJsonPointer(pointer);
  if (!Array.isArray(tokens)) throw fail.error(tokens.error);
  return tokens;
}

function valueMember(raw: JsonObject, fail: OperationFailure): unknown {
  // null is a legitimate value; only a missing member is an error.
  if (!Object.hasOwn(raw, "value")) throw fail.error(`"value" is required`);
  return cloneJson(raw.value);
}

const pointerText = (tokens: string[]) =>
  tokens.map((t) => `/${t.replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");

/** The value at `tokens`; every step must exist. */
function valueAt(doc: unknown, tokens: string[], fail: OperationFailure): unknown {
  let current = doc;
  tokens.forEach((token, depth) => {
    const missing = () =>
      fail.error(`path ${JSON.stringify(pointerText(tokens.slice(0, depth + 1)))} does not exist`);
    if (Array.isArray(current)) {
      const i = arrayIndexOf(token);
      if (i === undefined || i >= current.length) throw missing();
      current = current[i];
    } else if (isJsonObject(current)) {
      if (!Object.hasOwn(current, token)) throw missing();
      current = current[token];
    } else {
      throw missing();
    }
  });
  return current;
}

/** The container that holds the last token of a non-empty pointer. */
function parentOf(doc: unknown, tokens: string[], fail: OperationFailure): unknown[] | JsonObject {
  const parent = valueAt(doc, tokens.slice(0, -1), fail);
  if (Array.isArray(parent) || isJsonObject(parent)) return parent;
  throw fail.error(
    `${JSON.stringify(pointerText(tokens.slice(0, -1)))} is ${describeJson(parent)}, not an object or array`,
  );
}

function add(doc: unknown, tokens: string[], value: unknown, fail: OperationFailure): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, fail);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    // "-" appends; an index may be one past the end, which also appends.
    const i = last === "-" ? parent.length : arrayIndexOf(last);
    if (i === undefined || i > parent.length) {
      throw fail.error(
        `array index ${JSON.stringify(last)} is out of range (the array has ${parent.length} items)`,
      );
    }
    parent.splice(i, 0, value);
  } else {
    setOwnValue(parent, last, value);
  }
  return doc;
}

function remove(doc: unknown, tokens: string[], fail: OperationFailure): unknown {
  if (tokens.length === 0) throw fail.error("cannot remove the whole document");
  const parent = parentOf(doc, tokens, fail);
  const last = tokens[tokens.length - 1];
  const missing = () => fail.error(`path ${JSON.stringify(pointerText(tokens))} does not exist`);
  if (Array.isArray(parent)) {
    const i = arrayIndexOf(last);
    if (i === undefined || i >= parent.length) throw missing();
    parent.splice(i, 1);
  } else {
    if (!Object.hasOwn(parent, last)) throw missing();
    delete parent[last];
  }
  return doc;
}

function replace(doc: unknown, tokens: string[], value: unknown, fail: OperationFailure): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, fail);
  const last = tokens[tokens.length - 1];
  const missing = () => fail.error(`path ${JSON.stringify(pointerText(tokens))} does not exist`);
  if (Array.isArray(parent)) {
    const i = arrayIndexOf(last);
    if (i === undefined || i >= parent.length) throw missing();
    parent[i] = value;
  } else {
    if (!Object.hasOwn(parent, last)) throw missing();
    setOwnValue(parent, last, value);
  }
  return doc;
}
