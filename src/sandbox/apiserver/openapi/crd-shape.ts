// Checks that a CRD version's openAPIV3Schema is structural enough for pruning, defaulting and
// validation to mean something, with upstream's messages so the server can answer a bad CRD
// with 422, e.g.
//   spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields
// Covers the common structural rules; it is not upstream's complete CRD validation.
import type { FieldError } from "../errors.ts";
import { fieldErrorBody, forbidden, invalid, required } from "../errors.ts";
import type { JsonSchema } from "./json-schema.ts";
import { isObject } from "./json-schema.ts";

type Level = "root" | "field" | "item";

const EMPTY_TYPE: Record<Level, string> = {
  root: "must not be empty at the root",
  field: "must not be empty for specified object fields",
  item: "must not be empty for specified array items",
};

/** Keys a junction (allOf/anyOf/oneOf/not) may not set in a structural schema. */
const NOT_IN_JUNCTIONS = ["type", "description", "default", "additionalProperties", "nullable"];
const JUNCTIONS = ["allOf", "anyOf", "oneOf"] as const;

/** Field errors of a non-structural schema, with paths under `base`. */
export function crdSchemaShapeErrors(
  schema: unknown,
  base = "spec.validation.openAPIV3Schema",
): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(schema)) {
    errs.push(required(base, "must be specified"));
    return errs;
  }
  check(schema as JsonSchema, "root", base, errs);
  return errs;
}

/** The same problems as `path: message` strings. */
export function validateCrdSchemaShape(schema: unknown, base?: string): string[] {
  return crdSchemaShapeErrors(schema, base).map((e) => `${e.field}: ${fieldErrorBody(e)}`);
}

function check(s: JsonSchema, level: Level, path: string, errs: FieldError[]): void {
  const intOrString = s["x-kubernetes-int-or-string"] === true;
  const preserve = s["x-kubernetes-preserve-unknown-fields"];
  const embedded = s["x-kubernetes-embedded-resource"] === true;

  if (typeof s.$ref === "string") errs.push(forbidden(`${path}.$ref`, "$ref is not supported"));
  if (preserve === false)
    errs.push(invalid(`${path}.x-kubernetes-preserve-unknown-fields`, false, "must be true or undefined"));

  if (embedded && s.type !== "object") {
    if (!s.type)
      errs.push(required(`${path}.type`, "must be object if x-kubernetes-embedded-resource is true"));
    else
      errs.push(invalid(`${path}.type`, s.type, "must be object if x-kubernetes-embedded-resource is true"));
  } else if (!s.type && !intOrString && preserve !== true) {
    errs.push(required(`${path}.type`, EMPTY_TYPE[level]));
  }
  if (intOrString && s.type)
    errs.push(invalid(`${path}.type`, s.type, "must be empty if x-kubernetes-int-or-string is true"));
  if (level === "root" && s.type && s.type !== "object")
    errs.push(invalid(`${path}.type`, s.type, "must be object at the root"));

  if (s.type === "array" && !isObject(s.items)) errs.push(required(`${path}.items`, "must be specified"));
  if (isObject(s.properties) && s.additionalProperties !== undefined)
    errs.push(
      forbidden(`${path}.additionalProperties`, "additionalProperties and properties are mutual exclusive"),
    );
  if (embedded && preserve !== true && Object.keys(s.properties ?? {}).length === 0)
    errs.push(
      required(
        `${path}.properties`,
        "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
      ),
    );

  if (level === "root" || embedded) checkTypeMeta(s, path, level, errs);

  for (const [k, p] of Object.entries(s.properties ?? {}))
    if (isObject(p)) check(p as JsonSchema, "field", `${path}.properties[${k}]`, errs);
  if (isObject(s.items)) check(s.items, "item", `${path}.items`, errs);
  if (isObject(s.additionalProperties))
    check(s.additionalProperties as JsonSchema, "field", `${path}.additionalProperties`, errs);

  for (const j of JUNCTIONS)
    for (const [i, sub] of (s[j] ?? []).entries())
      checkJunction(sub, intOrString, `${path}.${j}[${i}]`, errs);
  if (isObject(s.not)) checkJunction(s.not, intOrString, `${path}.not`, errs);
}

// kind/apiVersion must be strings and metadata an object; at the root, metadata may only
// constrain name and generateName.
function checkTypeMeta(s: JsonSchema, path: string, level: Level, errs: FieldError[]): void {
  const props = s.properties ?? {};
  for (const name of ["kind", "apiVersion"])
    if (isObject(props[name]) && props[name].type !== "string")
      errs.push(invalid(`${path}.properties[${name}].type`, props[name].type ?? "", "must be string"));
  const meta = props.metadata;
  if (!isObject(meta)) return;
  if (meta.type !== "object")
    errs.push(invalid(`${path}.properties[metadata].type`, meta.type ?? "", "must be object"));
  if (level !== "root") return;
  const allowed = new Set(["type", "description", "properties"]);
  const extraKeys = Object.keys(meta).filter((k) => !allowed.has(k));
  const extraProps = Object.keys(meta.properties ?? {}).filter((k) => k !== "name" && k !== "generateName");
  if (extraKeys.length > 0 || extraProps.length > 0)
    errs.push(
      forbidden(
        `${path}.properties[metadata]`,
        "must not specify anything other than name and generateName, but metadata is implicitly specified",
      ),
    );
}

function checkJunction(sub: JsonSchema, intOrString: boolean, path: string, errs: FieldError[]): void {
  if (!isObject(sub)) return;
  // The one allowed use of type in a junction: anyOf [{type: integer}, {type: string}] for int-or-string.
  const intOrStringBranch = intOrString && (sub.type === "integer" || sub.type === "string");
  for (const key of NOT_IN_JUNCTIONS) {
    if (sub[key] === undefined || (key === "type" && intOrStringBranch)) continue;
    errs.push(forbidden(`${path}.${key}`, "must be empty to be structural"));
  }
  for (const [k, p] of Object.entries(sub.properties ?? {}))
    if (isObject(p)) checkJunction(p as JsonSchema, false, `${path}.properties[${k}]`, errs);
  if (isObject(sub.items)) checkJunction(sub.items, false, `${path}.items`, errs);
}
