// The apiextensions.k8s.io/v1 CustomResourceDefinition strategy: name defaults, the
// <plural>.<group> naming rule, exactly one storage version, required schemas, and the fields
// that identify the served resource and so never change.
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, forbidden, invalid, notSupported, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { goValue } from "./go-format.ts";
import { isObject, type Json, objects, strings } from "./json.ts";
import {
  dns1035Label,
  dns1123Subdomain,
  FIELD_IMMUTABLE,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";

const SCOPES = ["Cluster", "Namespaced"];
const CONVERSION_STRATEGIES = ["None", "Webhook"];

function defaults(crd: KubeObject): void {
  const spec: Json = crd.spec;
  if (!spec || typeof spec !== "object") return;
  spec.names ??= {};
  const names = spec.names;
  if (!isObject(names)) return;
  if (!names.singular && names.kind) names.singular = String(names.kind).toLowerCase();
  if (!names.listKind && names.kind) names.listKind = `${names.kind}List`;
  spec.conversion ??= { strategy: "None" };
}

/** The versions list as %#v prints the internal type (pointer fields show as addresses). */
function goVersions(versions: Json[]): unknown {
  const ptr = (t: string, v: unknown) =>
    v ? `(*apiextensions.${t})(0xc000a1b2c0)` : `(*apiextensions.${t})(nil)`;
  const one = (v: Json) =>
    `apiextensions.CustomResourceDefinitionVersion{Name:${JSON.stringify(v.name ?? "")}, Served:${Boolean(v.served)}, Storage:${Boolean(v.storage)}, Deprecated:${Boolean(v.deprecated)}, DeprecationWarning:(*string)(nil), Schema:${ptr("CustomResourceValidation", v.schema)}, Subresources:${ptr("CustomResourceSubresources", v.subresources)}, AdditionalPrinterColumns:[]apiextensions.CustomResourceColumnDefinition(nil), SelectableFields:[]apiextensions.SelectableField(nil)}`;
  return goValue(
    versions.length
      ? `[]apiextensions.CustomResourceDefinitionVersion{${versions.map(one).join(", ")}}`
      : "[]apiextensions.CustomResourceDefinitionVersion(nil)",
  );
}

function validateScale(scale: Json, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const spec = scale.specReplicasPath ?? "";
  const status = scale.statusReplicasPath ?? "";
  if (!spec) errs.push(required(`${path}.specReplicasPath`, ""));
  else if (!spec.startsWith(".spec."))
    errs.push(invalid(`${path}.specReplicasPath`, spec, "should be a json path under .spec"));
  if (!status) errs.push(required(`${path}.statusReplicasPath`, ""));
  else if (!status.startsWith(".status."))
    errs.push(invalid(`${path}.statusReplicasPath`, status, "should be a json path under .status"));
  const sel = scale.labelSelectorPath;
  if (sel && !sel.startsWith(".spec.") && !sel.startsWith(".status."))
    errs.push(
      invalid(`${path}.labelSelectorPath`, sel, "should be a json path under either .spec or .status"),
    );
  return errs;
}

function validateVersion(v: Json, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const schema = v.schema?.openAPIV3Schema;
  if (!schema || typeof schema !== "object")
    errs.push(required(`${path}.schema.openAPIV3Schema`, "schemas are required"));
  else if (!schema.type)
    errs.push(required(`${path}.schema.openAPIV3Schema.type`, "must not be empty at the root"));
  else if (schema.type !== "object")
    errs.push(invalid(`${path}.schema.openAPIV3Schema.type`, schema.type, "must be object at the root"));
  if (v.subresources?.scale) errs.push(...validateScale(v.subresources.scale, `${path}.subresources.scale`));
  return errs;
}

function validateNames(names: Json): FieldError[] {
  const errs: FieldError[] = [];
  const p = "spec.names";
  for (const f of ["plural", "singular", "kind", "listKind"])
    if (!names[f]) errs.push(required(`${p}.${f}`, ""));
  for (const f of ["plural", "singular"]) {
    const msgs = names[f] ? dns1035Label(names[f]) : [];
    if (msgs.length) errs.push(invalid(`${p}.${f}`, names[f], msgs.join(",")));
  }
  // Kinds are CamelCase; only their lower-cased form must be a DNS label.
  for (const f of ["kind", "listKind"]) {
    const msgs = names[f] ? dns1035Label(String(names[f]).toLowerCase()) : [];
    if (msgs.length)
      errs.push(
        invalid(`${p}.${f}`, names[f], `may have mixed case, but should otherwise match: ${msgs.join(",")}`),
      );
  }
  for (const f of ["shortNames", "categories"])
    strings(names[f]).forEach((n, i) => {
      const msgs = dns1035Label(n);
      if (msgs.length) errs.push(invalid(`${p}.${f}[${i}]`, n, msgs.join(",")));
    });
  if (names.kind && names.kind === names.listKind)
    errs.push(invalid(`${p}.listKind`, names.listKind, "kind and listKind may not be the same"));
  return errs;
}

function validateSpec(spec: Json): FieldError[] {
  const errs: FieldError[] = [];
  const group = spec.group ?? "";
  const groupMsgs = dns1123Subdomain(group);
  if (!group) errs.push(required("spec.group", ""));
  else if (groupMsgs.length) errs.push(invalid("spec.group", group, groupMsgs.join(",")));
  else if (group.split(".").length < 2)
    errs.push(invalid("spec.group", group, "should be a domain with at least one dot"));
  if (!spec.scope) errs.push(required("spec.scope", ""));
  else if (!SCOPES.includes(spec.scope)) errs.push(notSupported("spec.scope", spec.scope, SCOPES));
  const versions = objects(spec.versions);
  const seen = new Set<string>();
  let unique = true;
  versions.forEach((v, i) => {
    if (seen.has(v.name)) unique = false;
    seen.add(v.name);
    const msgs = dns1035Label(v.name ?? "");
    if (msgs.length) errs.push(invalid(`spec.versions[${i}].name`, v.name ?? "", msgs.join(",")));
    errs.push(...validateVersion(v, `spec.versions[${i}]`));
  });
  if (!unique) errs.push(invalid("spec.versions", goVersions(versions), "must contain unique version names"));
  if (versions.filter((v) => v.storage).length !== 1)
    errs.push(
      invalid(
        "spec.versions",
        goVersions(versions),
        "must have exactly one version marked as storage version",
      ),
    );
  errs.push(...validateNames(isObject(spec.names) ? spec.names : {}));
  const conv = spec.conversion;
  if (conv) {
    if (!conv.strategy) errs.push(required("spec.conversion.strategy", ""));
    else if (!CONVERSION_STRATEGIES.includes(conv.strategy))
      errs.push(notSupported("spec.conversion.strategy", conv.strategy, CONVERSION_STRATEGIES));
    else if (conv.strategy === "Webhook" && !conv.webhook?.clientConfig)
      errs.push(required("spec.conversion.webhook.clientConfig", "required when strategy is set to Webhook"));
    else if (conv.strategy === "None" && conv.webhook)
      errs.push(
        forbidden("spec.conversion.webhook", "should not be set when strategy is not set to Webhook"),
      );
  }
  return errs;
}

function validate(crd: KubeObject): FieldError[] {
  const spec: Json = crd.spec && typeof crd.spec === "object" ? crd.spec : {};
  // The name is derived from the resource it serves, so a mismatch is a naming error.
  const nameValidator = (name: string) => {
    const msgs = dns1123Subdomain(name);
    if (name !== `${spec.names?.plural ?? ""}.${spec.group ?? ""}`)
      msgs.push('must be spec.names.plural+"."+spec.group');
    return msgs;
  };
  const errs = validateObjectMeta(crd.metadata, { namespaced: false, nameValidator, kubeFinalizers: false });
  errs.push(...validateSpec(spec));
  return errs;
}

const established = (crd: KubeObject) =>
  objects(crd.status?.conditions).some((c) => c.type === "Established" && c.status === "True");

function validateUpdate(crd: KubeObject, old: KubeObject): FieldError[] {
  const spec: Json = crd.spec ?? {};
  const prev: Json = old.spec ?? {};
  const errs = validateObjectMetaUpdate(crd.metadata, old.metadata);
  const frozen = (next: unknown, before: unknown, path: string) => {
    if ((next ?? "") !== (before ?? "")) errs.push(invalid(path, next ?? "", FIELD_IMMUTABLE));
  };
  // Scope and kind shape what is stored, so once served they stay.
  if (established(old)) {
    frozen(spec.scope, prev.scope, "spec.scope");
    frozen(spec.names?.kind, prev.names?.kind, "spec.names.kind");
  }
  frozen(spec.group, prev.group, "spec.group");
  frozen(spec.names?.plural, prev.names?.plural, "spec.names.plural");
  const stored = strings(crd.status?.storedVersions);
  const names = new Set(objects(spec.versions).map((v) => v.name));
  stored.forEach((v, i) => {
    if (!names.has(v)) errs.push(invalid(`status.storedVersions[${i}]`, v, "must appear in spec.versions"));
  });
  return errs;
}

export const crdStrategy: Strategy = {
  hasStatus: true,
  tracksGeneration: true,
  defaults,
  prepareForCreate(crd) {
    const storage = objects(crd.spec?.versions).find((v) => v.storage)?.name;
    crd.status = { acceptedNames: { kind: "", plural: "" }, storedVersions: storage ? [storage] : [] };
  },
  validate,
  validateUpdate,
};
