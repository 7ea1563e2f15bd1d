// The ConfigMap strategy: config-key names, a 1 MiB budget, and the `immutable` lock.
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, invalid, tooLong } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { base64Error, decodedLength, entries, MAX_DATA_SIZE, validateImmutableData } from "./data-payload.ts";
import { configMapKey, dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { byteLength } from "./names.ts";

function validate(cm: KubeObject): FieldError[] {
  const errs = validateObjectMeta(cm.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
  let size = 0;
  const binary = cm.binaryData && typeof cm.binaryData === "object" ? cm.binaryData : {};
  for (const [key, value] of entries(cm.data)) {
    for (const m of configMapKey(key)) errs.push(invalid(`data[${key}]`, key, m));
    if (key in binary) errs.push(invalid(`data[${key}]`, key, "duplicate of key present in binaryData"));
    size += byteLength(String(value ?? ""));
  }
  for (const [key, value] of entries(cm.binaryData)) {
    for (const m of configMapKey(key)) errs.push(invalid(`binaryData[${key}]`, key, m));
    const bad = base64Error(String(value ?? ""));
    if (bad) errs.push(invalid(`binaryData[${key}]`, "<binary data redacted>", bad));
    else size += decodedLength(String(value ?? ""));
  }
  // Upstream attaches the size error to the whole object: its path is empty.
  if (size > MAX_DATA_SIZE) errs.push(tooLong("", MAX_DATA_SIZE));
  return errs;
}

export const configMapStrategy: Strategy = {
  hasStatus: false,
  tracksGeneration: false,
  validate,
  validateUpdate(cm, old) {
    return [
      ...validateObjectMetaUpdate(cm.metadata, old.metadata),
      ...validateImmutableData(cm, old, ["data", "binaryData"]),
    ];
  },
};
