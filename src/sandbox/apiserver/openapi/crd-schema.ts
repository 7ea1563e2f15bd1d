// Validation of custom resources against a CRD version's structural openAPIV3Schema, with
// upstream's field errors (kube-openapi's messages wrapped as apiextensions does):
//   spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"
//   spec.mode: Unsupported value: "x": supported values: "a", "b"
//   spec.name: Required value
// Pruning, defaulting and the shape check of the schema itself live beside this module and are
// re-exported here, so callers have one place to go for "CRD schema" behaviour.
import type { FieldError } from "../errors.ts";
import { invalid, notSupported, required } from "../errors.ts";
import type { JsonObject, JsonSchema } from "./json-schema.ts";
import { additionalSchema, childPath, indexPath, isObject } from "./json-schema.ts";

export { applySchemaDefaults } from "./crd-defaults.ts";
export { dropNonNullableNulls, pruneUnknownFields } from "./crd-prune.ts";
export { crdSchemaShapeErrors, validateCrdSchemaShape } from "./crd-shape.ts";

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const INT64 = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };

/** Validates a custom resource (`obj`, the whole object) against the version's schema. */
export function validateAgainstSchema(schema: JsonSchema | undefined, obj: unknown): FieldError[] {
  const errs: FieldError[] = [];
  if (isObject(schema)) validate(schema, obj, "", errs);
  return errs;
}

/** The JSON type of a value, as kube-openapi names it in messages. */
export function jsonTypeName(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  if (typeof v === "object") return "object";
  return typeof v;
}

function hasType(v: unknown, type: string): boolean {
  switch (type) {
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "string":
    case "boolean":
      return typeof v === type;
    case "array":
      return Array.isArray(v);
    case "object":
      return isObject(v);
    default:
      return true;
  }
}

// x-kubernetes-int-or-string stands for the type list [integer, string], as apiextensions converts it.
function typesOf(s: JsonSchema): string[] {
  if (s["x-kubernetes-int-or-string"] === true) return ["integer", "string"];
  return s.type ? [s.type] : [];
}

/** kube-openapi names the location "<path> in body". */
const where = (path: string) => `${path || "<root>"} in body`;

function typeError(path: string, types: string[], actual: string): FieldError {
  return {
    type: "FieldValueTypeInvalid",
    field: path,
    value: actual,
    detail: `${where(path)} must be of type ${types.join(",")}: ${JSON.stringify(actual)}`,
  };
}

function validate(s: JsonSchema, v: unknown, path: string, errs: FieldError[]): void {
  const types = typesOf(s);
  if (v === null || v === undefined) {
    if (s.nullable !== true && types.length > 0) errs.push(typeError(path, types, "null"));
    return;
  }
  if (types.length > 0 && !types.some((t) => hasType(v, t))) {
    errs.push(typeError(path, types, jsonTypeName(v)));
    return;
  }
  if (typeof v === "number") validateNumber(s, v, path, errs);
  if (typeof v === "string") validateString(s, v, path, errs);
  if (s.enum && !s.enum.some((e) => jsonEqual(e, v)))
    errs.push(
      notSupported(
        path,
        v,
        s.enum.map((e) => (typeof e === "string" ? e : JSON.stringify(e))),
      ),
    );
  if (Array.isArray(v)) validateArray(s, v, path, errs);
  else if (isObject(v)) validateObject(s, v, path, errs);
  validateJunctions(s, v, path, errs);
}

function validateNumber(s: JsonSchema, v: number, path: string, errs: FieldError[]): void {
  const range = s.format === "int32" ? INT32 : s.format === "int64" ? INT64 : undefined;
  if (range && Number.isInteger(v) && (v < range.min || v > range.max))
    errs.push({
      type: "FieldValueTypeInvalid",
      field: path,
      value: v,
      detail: `${where(path)} must be of type ${s.format}`,
    });
  if (typeof s.minimum === "number") {
    const fails = s.exclusiveMinimum ? v <= s.minimum : v < s.minimum;
    const words = s.exclusiveMinimum ? "greater than" : "greater than or equal to";
    if (fails) errs.push(invalid(path, v, `${where(path)} should be ${words} ${s.minimum}`));
  }
  if (typeof s.maximum === "number") {
    const fails = s.exclusiveMaximum ? v >= s.maximum : v > s.maximum;
    const words = s.exclusiveMaximum ? "less than" : "less than or equal to";
    if (fails) errs.push(invalid(path, v, `${where(path)} should be ${words} ${s.maximum}`));
  }
}

function validateString(s: JsonSchema, v: string, path: string, errs: FieldError[]): void {
  const length = [...v].length; // characters, as Go's utf8.RuneCountInString
  if (typeof s.maxLength === "number" && length > s.maxLength)
    errs.push({
      type: "FieldValueTooLong",
      field: path,
      value: v,
      detail: `may not be more than ${s.maxLength} bytes`,
    });
  if (typeof s.minLength === "number" && length < s.minLength)
    errs.push(invalid(path, v, `${where(path)} should be at least ${s.minLength} chars long`));
  if (typeof s.pattern === "string") {
    const re = compilePattern(s.pattern);
    if (re && !re.test(v)) errs.push(invalid(path, v, `${where(path)} should match '${s.pattern}'`));
  }
}

function validateArray(s: JsonSchema, v: unknown[], path: string, errs: FieldError[]): void {
  if (typeof s.maxItems === "number" && v.length > s.maxItems)
    // Upstream prints the count as the value: "Too many: 4: must have at most 3 items".
    errs.push({
      type: "FieldValueTooMany",
      field: path,
      detail: `${v.length}: must have at most ${s.maxItems} items`,
    });
  if (typeof s.minItems === "number" && v.length < s.minItems)
    errs.push(invalid(path, v.length, `${where(path)} should have at least ${s.minItems} items`));
  if (isObject(s.items))
    for (const [i, item] of v.entries()) validate(s.items, item, indexPath(path, i), errs);
}

function validateObject(s: JsonSchema, v: JsonObject, path: string, errs: FieldError[]): void {
  const count = Object.keys(v).length;
  if (typeof s.maxProperties === "number" && count > s.maxProperties)
    errs.push({
      type: "FieldValueTooMany",
      field: path,
      detail: `${count}: must have at most ${s.maxProperties} items`,
    });
  if (typeof s.minProperties === "number" && count < s.minProperties)
    errs.push(invalid(path, count, `${where(path)} should have at least ${s.minProperties} properties`));
  for (const name of s.required ?? [])
    if (!Object.hasOwn(v, name)) errs.push(required(childPath(path, name)));
  if (s["x-kubernetes-embedded-resource"] === true)
    for (const name of ["apiVersion", "kind"])
      if (!Object.hasOwn(v, name)) errs.push(required(childPath(path, name), "must not be empty"));
  const values = additionalSchema(s);
  for (const [k, x] of Object.entries(v)) {
    const prop = s.properties?.[k] ?? values;
    if (prop) validate(prop, x, childPath(path, k), errs);
  }
}

// Value validations under allOf/anyOf/oneOf/not (structural schemas keep types outside them).
function validateJunctions(s: JsonSchema, v: unknown, path: string, errs: FieldError[]): void {
  const passes = (sub: JsonSchema) => {
    const e: FieldError[] = [];
    validate(sub, v, path, e);
    return e;
  };
  for (const sub of s.allOf ?? []) errs.push(...passes(sub));
  if (s.anyOf && !s.anyOf.some((sub) => passes(sub).length === 0))
    errs.push(invalid(path, v, `${where(path)} must validate at least one schema (anyOf)`));
  if (s.oneOf && s.oneOf.filter((sub) => passes(sub).length === 0).length !== 1)
    errs.push(invalid(path, v, `${where(path)} must validate one and only one schema (oneOf)`));
  if (isObject(s.not) && passes(s.not).length === 0)
    errs.push(invalid(path, v, `${where(path)} must not validate the schema (not)`));
}

const patterns = new Map<string, RegExp | null>();

/** ECMAScript reads most RE2 patterns the same; one it cannot compile is not enforced. */
function compilePattern(p: string): RegExp | null {
  let re = patterns.get(p);
  if (re === undefined) {
    try {
      re = new RegExp(p, "u");
    } catch {
      re = null;
    }
    patterns.set(p, re);
  }
  return re;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]))
    );
  }
  return false;
}
