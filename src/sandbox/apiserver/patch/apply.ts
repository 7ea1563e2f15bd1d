// A simplified server-side apply (Content-Type: application/apply-patch+yaml): the applied
// configuration is merged onto the live object like a strategic merge patch without
// directives. Fields the configuration sets are set (maps merge, lists with a merge key merge
// by key, primitive sets are unioned, other lists are replaced); fields it leaves out keep
// their live values; a null in the configuration leaves the field as it is.
//
// Not implemented: field ownership (metadata.managedFields is neither recorded nor used), so
// there are no conflicts between managers and `force` has nothing to do, and a field that a
// manager stops applying is kept rather than removed. Lists of custom resources are replaced
// whole, since their list types (x-kubernetes-list-map-keys) are not consulted.
import { errBadRequest } from "../errors.ts";
import { describeJson, isJsonObject } from "./json-values.ts";
import { mergeStrategically } from "./strategic-merge-patch.ts";

/** The object after applying `applied` onto `live` (absent: the object is being created). */
export function applyServerSide(
  live: object | undefined,
  applied: object,
  model: string | undefined,
): Record<string, any> {
  if (!isJsonObject(applied))
    throw errBadRequest(`an apply configuration must be an object, got ${describeJson(applied)}`);
  const metadata = applied.metadata;
  // Upstream refuses to take ownership records from the client.
  if (isJsonObject(metadata) && metadata.managedFields !== undefined && metadata.managedFields !== null) {
    throw errBadRequest("metadata.managedFields must be nil");
  }
  return mergeStrategically(live ?? {}, applied, model, "apply");
}
