// PATCH request bodies: picks the patch format from the Content-Type, decodes the body and
// applies it to the current object.
import { parse as parseYaml } from "yaml";
import { ApiError, errBadRequest, errInternal } from "../errors.ts";
import { applyServerSide } from "./apply.ts";
import { applyJsonPatch } from "./json-patch.ts";
import { describeJson, isJsonObject } from "./json-values.ts";
import { applyMergePatch } from "./merge-patch.ts";
import { unappliablePatch } from "./patch-errors.ts";
import { applyStrategicMergePatch } from "./strategic-merge-patch.ts";

export { applyServerSide } from "./apply.ts";
export { applyJsonPatch } from "./json-patch.ts";
export { applyMergePatch } from "./merge-patch.ts";
export { applyStrategicMergePatch } from "./strategic-merge-patch.ts";

export const JSON_PATCH = "application/json-patch+json";
export const MERGE_PATCH = "application/merge-patch+json";
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
export const APPLY_PATCH = "application/apply-patch+yaml";

/** Patch media types, in the order upstream lists them. */
export const PATCH_MEDIA_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH] as const;

/**
 * The patched object. `model` is the @kubernetes/client-node model of a built-in kind and
 * undefined for custom resources, which (as upstream) do not accept strategic merge patch.
 * `original` is undefined only for a server-side apply that creates the object. With
 * `ownsOriginal`, the caller hands over `original` (a private copy) and it may be patched in place.
 */
export function applyPatch(
  contentType: string,
  original: object | undefined,
  body: Buffer | string,
  model: string | undefined,
  ownsOriginal = false,
): Record<string, any> {
  const mediaType = contentType.split(";")[0].trim().toLowerCase();
  const text = typeof body === "string" ? body : body.toString("utf8");
  switch (mediaType) {
    case JSON_PATCH:
      return patchedObject(applyJsonPatch(existing(original), parseJson(text)));
    case MERGE_PATCH:
      // The patch is parsed here, so it is ours to give away as well.
      return patchedObject(
        applyMergePatch(existing(original), parseJsonObject(text, "merge patch"), ownsOriginal),
      );
    case STRATEGIC_MERGE_PATCH:
      if (!model) throw unsupportedMediaType([JSON_PATCH, MERGE_PATCH, APPLY_PATCH]);
      return applyStrategicMergePatch(
        existing(original),
        parseJsonObject(text, "strategic merge patch"),
        model,
        ownsOriginal,
      );
    case APPLY_PATCH:
      return applyServerSide(original, parseApplyConfiguration(text), model);
    default:
      throw unsupportedMediaType(PATCH_MEDIA_TYPES);
  }
}

// Upstream's negotiation error, listing what this resource does accept.
const unsupportedMediaType = (accepted: readonly string[]) =>
  new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );

function existing(original: object | undefined): object {
  // Only server-side apply may create; the handler answers 404 before patching otherwise.
  if (original === undefined) throw errInternal("a patch needs an existing object");
  return original;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw errBadRequest(`error decoding patch: ${(err as Error).message}`);
  }
}

function parseJsonObject(text: string, what: string): object {
  const value = parseJson(text);
  if (!isJsonObject(value))
    throw errBadRequest(`a ${what} must be a JSON object, got ${describeJson(value)}`);
  return value;
}

function parseApplyConfiguration(text: string): object {
  let value: unknown;
  try {
    // YAML is a superset of JSON, so this also reads the JSON that kubectl sends.
    value = parseYaml(text);
  } catch (err) {
    throw errBadRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  if (!isJsonObject(value))
    throw errBadRequest(`an apply configuration must be an object, got ${describeJson(value)}`);
  return value;
}

/** A patch whose result is no longer an object (say, a JSON patch replacing the root). */
function patchedObject(value: unknown): Record<string, any> {
  if (!isJsonObject(value))
    throw unappliablePatch(`the patched document must be an object, got ${describeJson(value)}`);
  return value;
}
