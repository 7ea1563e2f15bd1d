// ObjectMeta validation shared by every kind (apimachinery's ValidateObjectMeta and
// ValidateObjectMetaUpdate), plus the name rules each kind picks from.
import type { ObjectMeta, OwnerReference } from "../../../kube/objects.ts";
import { type FieldError, forbidden, invalid, required, tooLong } from "../errors.ts";
import { goQuote, goStringSlice, goValue } from "./go-format.ts";
import { isObject, objects, strings } from "./json.ts";
import { byteLength, dns1123Label, labelValue, pathSegmentName, qualifiedName } from "./names.ts";

export {
  configMapKey,
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  envVarName,
  isValidCIDR,
  isValidIP,
  isValidIPv4,
  isValidIPv6,
  isValidPortName,
  labelValue,
  pathSegmentName,
  qualifiedName,
} from "./names.ts";

/** Returns upstream's explanations of why `name` is not valid for a kind (empty when valid). */
export type NameValidator = (name: string) => string[];

export interface MetaOptions {
  /** Scope checks: a namespace is required (true) or forbidden (false); undefined leaves it to the server. */
  namespaced?: boolean;
  nameValidator: NameValidator;
  /** Core kinds also insist finalizers without a '/' be one of the standard ones. */
  kubeFinalizers?: boolean;
}

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;
export const FIELD_IMMUTABLE = "field is immutable";
export const NEGATIVE = "must be greater than or equal to 0";

const STANDARD_FINALIZERS = new Set(["kubernetes", "orphan", "foregroundDeletion"]);

/** Keys sorted, so error order does not depend on how a client ordered its map. */
const sortedKeys = (m: Record<string, unknown>) => Object.keys(m).sort();

/** metav1 ValidateLabels: each bad key or value is an Invalid on the map's own path. */
export function validateLabels(
  labels: Record<string, string> | undefined | null,
  path: string,
): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(labels)) return errs;
  for (const k of sortedKeys(labels)) {
    for (const msg of qualifiedName(k)) errs.push(invalid(path, k, msg));
    for (const msg of labelValue(String(labels[k] ?? ""))) errs.push(invalid(path, labels[k], msg));
  }
  return errs;
}

/** Annotation keys are qualified names compared case-insensitively; all of them share a size budget. */
export function validateAnnotations(
  annotations: Record<string, string> | undefined | null,
  path: string,
): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(annotations)) return errs;
  let size = 0;
  for (const k of sortedKeys(annotations)) {
    for (const msg of qualifiedName(k.toLowerCase())) errs.push(invalid(path, k, msg));
    size += byteLength(k) + byteLength(String(annotations[k] ?? ""));
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

function goOwnerReference(r: Partial<OwnerReference>): string {
  const ptr = (b: boolean | undefined) => (b === undefined ? "(*bool)(nil)" : `(*bool)(${b})`);
  return `v1.OwnerReference{APIVersion:${goQuote(r.apiVersion ?? "")}, Kind:${goQuote(r.kind ?? "")}, Name:${goQuote(r.name ?? "")}, UID:${goQuote(r.uid ?? "")}, Controller:${ptr(r.controller)}, BlockOwnerDeletion:${ptr(r.blockOwnerDeletion)}}`;
}

export function validateOwnerReferences(
  refs: Partial<OwnerReference>[] | undefined,
  path: string,
): FieldError[] {
  const errs: FieldError[] = [];
  if (!Array.isArray(refs)) return errs;
  let firstController = "";
  for (const ref of objects(refs) as Partial<OwnerReference>[]) {
    const apiVersion = ref.apiVersion ?? "";
    const version = apiVersion.includes("/") ? apiVersion.slice(apiVersion.indexOf("/") + 1) : apiVersion;
    // Upstream reports these on the list's path, not the entry's.
    if (!version) errs.push(invalid(`${path}.apiVersion`, apiVersion, "version must not be empty"));
    if (!ref.kind) errs.push(invalid(`${path}.kind`, ref.kind ?? "", "must not be empty"));
    if (!ref.name) errs.push(invalid(`${path}.name`, ref.name ?? "", "must not be empty"));
    if (!ref.uid) errs.push(invalid(`${path}.uid`, ref.uid ?? "", "must not be empty"));
    if (apiVersion === "v1" && ref.kind === "Event")
      errs.push(
        invalid(path, goValue(goOwnerReference(ref)), "/v1, Kind=Event is disallowed from being an owner"),
      );
    if (ref.controller) {
      const cur = `${ref.kind}/${ref.name}`;
      if (firstController)
        errs.push(
          invalid(
            path,
            goValue(`[]v1.OwnerReference{${objects(refs).map(goOwnerReference).join(", ")}}`),
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`,
          ),
        );
      else firstController = cur;
    }
  }
  return errs;
}

export function validateFinalizers(
  finalizers: string[] | undefined,
  path: string,
  kube: boolean,
): FieldError[] {
  const errs: FieldError[] = [];
  if (!Array.isArray(finalizers)) return errs;
  for (const f of finalizers) for (const msg of qualifiedName(f)) errs.push(invalid(path, f, msg));
  if (finalizers.includes("orphan") && finalizers.includes("foregroundDeletion"))
    errs.push(
      invalid(
        path,
        goValue(goStringSlice(finalizers)),
        "finalizer orphan and foregroundDeletion cannot be both set",
      ),
    );
  if (kube)
    finalizers.forEach((f, i) => {
      if (!String(f).includes("/") && !STANDARD_FINALIZERS.has(f))
        errs.push(
          invalid(`${path}[${i}]`, f, "name is neither a standard finalizer name nor is it fully qualified"),
        );
    });
  return errs;
}

/**
 * Create-time metadata rules. The server has already turned generateName into a name, so the
 * final name is what gets validated.
 */
export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  opts: MetaOptions,
  path = "metadata",
): FieldError[] {
  const m: ObjectMeta = meta ?? {};
  const errs: FieldError[] = [];
  if (!m.name) errs.push(required(`${path}.name`, "name or generateName is required"));
  else for (const msg of opts.nameValidator(m.name)) errs.push(invalid(`${path}.name`, m.name, msg));
  if (opts.namespaced === true) {
    if (!m.namespace) errs.push(required(`${path}.namespace`, ""));
    else
      for (const msg of dns1123Label(m.namespace)) errs.push(invalid(`${path}.namespace`, m.namespace, msg));
  } else if (opts.namespaced === false && m.namespace) {
    errs.push(forbidden(`${path}.namespace`, "not allowed on this type"));
  }
  if (typeof m.generation === "number" && m.generation < 0)
    errs.push(invalid(`${path}.generation`, m.generation, NEGATIVE));
  errs.push(...validateLabels(m.labels, `${path}.labels`));
  errs.push(...validateAnnotations(m.annotations, `${path}.annotations`));
  errs.push(...validateOwnerReferences(m.ownerReferences, `${path}.ownerReferences`));
  errs.push(...validateFinalizers(m.finalizers, `${path}.finalizers`, opts.kubeFinalizers ?? true));
  return errs;
}

/**
 * What every write must also satisfy whatever the kind (the generic registry's own pass): the
 * name must work as a URL path segment.
 */
export function validateGenericMeta(meta: ObjectMeta | undefined, path = "metadata"): FieldError[] {
  const name = meta?.name;
  if (!name) return [];
  return pathSegmentName(name).map((msg) => invalid(`${path}.name`, name, msg));
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Update-time metadata rules: identity fields are immutable; a deleting object takes no new finalizers. */
export function validateObjectMetaUpdate(
  meta: ObjectMeta | undefined,
  old: ObjectMeta | undefined,
  path = "metadata",
): FieldError[] {
  const m: ObjectMeta = meta ?? {};
  const o: ObjectMeta = old ?? {};
  const errs: FieldError[] = [];
  if (o.deletionTimestamp) {
    const before = new Set(strings(o.finalizers));
    const extra = [...new Set(strings(m.finalizers))].filter((f) => !before.has(f)).sort();
    if (extra.length)
      errs.push(
        forbidden(
          `${path}.finalizers`,
          `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice(extra)}`,
        ),
      );
  }
  const immutable: [keyof ObjectMeta, unknown][] = [
    ["name", m.name ?? ""],
    ["namespace", m.namespace ?? ""],
    ["uid", m.uid ?? ""],
    ["creationTimestamp", m.creationTimestamp ?? null],
    ["deletionTimestamp", m.deletionTimestamp ?? null],
    ["deletionGracePeriodSeconds", m.deletionGracePeriodSeconds ?? null],
  ];
  for (const [field, value] of immutable) {
    const before = o[field] ?? (field === "name" || field === "namespace" || field === "uid" ? "" : null);
    if (!same(value, before)) errs.push(invalid(`${path}.${field}`, value, FIELD_IMMUTABLE));
  }
  return errs;
}
