// The Secret strategy: type Opaque by default, stringData folded into data, base64 values,
// config-key names, a 1 MiB budget, per-type required keys, and an immutable type.
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, invalid, required, tooLong } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { base64Error, decodedLength, entries, MAX_DATA_SIZE, validateImmutableData } from "./data-payload.ts";
import {
  configMapKey,
  dns1123Subdomain,
  FIELD_IMMUTABLE,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";

const REDACTED = "<secret contents redacted>";

function defaults(secret: KubeObject): void {
  if (!secret.type) secret.type = "Opaque";
  // stringData is write-only: v1 conversion folds it into data and drops it.
  if (secret.stringData && typeof secret.stringData === "object") {
    secret.data = secret.data && typeof secret.data === "object" ? secret.data : {};
    for (const [k, v] of entries(secret.stringData))
      secret.data[k] = Buffer.from(String(v ?? ""), "utf8").toString("base64");
    delete secret.stringData;
  }
}

function typeRules(secret: KubeObject): FieldError[] {
  const data: Record<string, string> = secret.data && typeof secret.data === "object" ? secret.data : {};
  const has = (k: string) => k in data;
  const need = (k: string) => (has(k) ? [] : [required(`data[${k}]`, "")]);
  const jsonKey = (k: string): FieldError[] => {
    if (!has(k)) return [required(`data[${k}]`, "")];
    try {
      const parsed = JSON.parse(Buffer.from(data[k], "base64").toString("utf8"));
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
        throw new Error("json: cannot unmarshal into Go value of type map[string]interface {}");
      return [];
    } catch (err) {
      return [invalid(`data[${k}]`, REDACTED, (err as Error).message)];
    }
  };
  switch (secret.type) {
    case "kubernetes.io/service-account-token":
      return secret.metadata.annotations?.["kubernetes.io/service-account.name"]
        ? []
        : [required("metadata.annotations[kubernetes.io/service-account.name]", "")];
    case "kubernetes.io/dockercfg":
      return jsonKey(".dockercfg");
    case "kubernetes.io/dockerconfigjson":
      return jsonKey(".dockerconfigjson");
    case "kubernetes.io/basic-auth":
      // Either may be empty, but one of them must be present.
      return has("username") || has("password") ? [] : [...need("username"), ...need("password")];
    case "kubernetes.io/ssh-auth":
      return data["ssh-privatekey"] ? [] : [required("data[ssh-privatekey]", "")];
    case "kubernetes.io/tls":
      return [...need("tls.crt"), ...need("tls.key")];
    default:
      return [];
  }
}

function validate(secret: KubeObject): FieldError[] {
  const errs = validateObjectMeta(secret.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
  let size = 0;
  for (const [key, value] of entries(secret.data)) {
    for (const m of configMapKey(key)) errs.push(invalid(`data[${key}]`, key, m));
    const bad = base64Error(String(value ?? ""));
    if (bad) errs.push(invalid(`data[${key}]`, REDACTED, bad));
    else size += decodedLength(String(value ?? ""));
  }
  if (size > MAX_DATA_SIZE) errs.push(tooLong("data", MAX_DATA_SIZE));
  errs.push(...typeRules(secret));
  return errs;
}

export const secretStrategy: Strategy = {
  hasStatus: false,
  tracksGeneration: false,
  defaults,
  validate,
  validateUpdate(secret, old) {
    const errs = validateObjectMetaUpdate(secret.metadata, old.metadata);
    if ((secret.type ?? "") !== (old.type ?? ""))
      errs.push(invalid("type", secret.type ?? "", FIELD_IMMUTABLE));
    errs.push(...validateImmutableData(secret, old, ["data"]));
    return errs;
  },
  selectableFields(secret) {
    return { type: secret.type ?? "" };
  },
};
