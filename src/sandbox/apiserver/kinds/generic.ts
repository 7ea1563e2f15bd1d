// The strategy for resources without kind-specific rules: metadata checks only, with the
// generic name rule (any name that works as a URL path segment).
import type { Strategy } from "../types.ts";
import { pathSegmentName, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";

export const genericStrategy: Strategy = {
  hasStatus: false,
  tracksGeneration: false,
  validate(obj) {
    return validateObjectMeta(obj.metadata, { nameValidator: pathSegmentName, kubeFinalizers: false });
  },
  validateUpdate(obj, old) {
    return validateObjectMetaUpdate(obj.metadata, old.metadata);
  },
};
