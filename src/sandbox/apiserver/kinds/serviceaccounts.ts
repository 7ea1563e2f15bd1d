// The ServiceAccount strategy: metadata only (subdomain names).
import type { Strategy } from "../types.ts";
import { dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";

export const serviceAccountStrategy: Strategy = {
  hasStatus: false,
  tracksGeneration: false,
  validate(sa) {
    return validateObjectMeta(sa.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
  },
  validateUpdate(sa, old) {
    return validateObjectMetaUpdate(sa.metadata, old.metadata);
  },
};
