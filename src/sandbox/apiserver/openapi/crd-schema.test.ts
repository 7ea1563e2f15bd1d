import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldError } from "../errors.ts";
import { errInvalid, fieldErrorBody } from "../errors.ts";
import {
  applySchemaDefaults,
  crdSchemaShapeErrors,
  pruneUnknownFields,
  validateAgainstSchema,
  validateCrdSchemaShape,
} from "./crd-schema.ts";
import type { JsonSchema } from "./json-schema.ts";
import { cronTabSchema } from "./testing.ts";

const messages = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
const check = (spec: Record<string, unknown>) =>
  messages(
    validateAgainstSchema(cronTabSchema(), { apiVersion: "stable.example.com/v1", kind: "CronTab", spec }),
  );
const ok = { cronSpec: "* * * * */5" };

test("a valid custom resource has no errors", () => {
  assert.deepEqual(
    check({ ...ok, replicas: 3, mode: "Forbid", ports: [{ port: 80 }, { port: "http" }], note: null }),
    [],
  );
});

test("type errors read as upstream's", () => {
  assert.deepEqual(check({ ...ok, replicas: "three" }), [
    'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
  ]);
  assert.deepEqual(check({ ...ok, replicas: 1.5 }), [
    'spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"',
  ]);
  assert.deepEqual(check({ ...ok, image: null }), [
    'spec.image: Invalid value: "null": spec.image in body must be of type string: "null"',
  ]);
  assert.deepEqual(check({ ...ok, ports: [{ port: true }] }), [
    'spec.ports[0].port: Invalid value: "boolean": spec.ports[0].port in body must be of type integer,string: "boolean"',
  ]);
  const errs = validateAgainstSchema(cronTabSchema(), { spec: { ...ok, replicas: "three" } });
  assert.equal(errs[0].type, "FieldValueTypeInvalid");
  assert.equal(
    errInvalid("CronTab", "stable.example.com", "c", errs).message,
    'CronTab.stable.example.com "c" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
  );
});

test("required, enum and bounds", () => {
  assert.deepEqual(check({}), ["spec.cronSpec: Required value"]);
  assert.deepEqual(check({ ...ok, ports: [{ name: "x" }] }), ["spec.ports[0].port: Required value"]);
  assert.deepEqual(check({ ...ok, mode: "Maybe" }), [
    'spec.mode: Unsupported value: "Maybe": supported values: "Allow", "Forbid"',
  ]);
  assert.deepEqual(check({ ...ok, replicas: 0 }), [
    "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
  ]);
  assert.deepEqual(check({ ...ok, replicas: 11 }), [
    "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
  ]);
  assert.deepEqual(check({ ...ok, replicas: 2 ** 31 }), [
    "spec.replicas: Invalid value: 2147483648: spec.replicas in body must be of type int32",
    "spec.replicas: Invalid value: 2147483648: spec.replicas in body should be less than or equal to 10",
  ]);
});

test("strings, arrays and maps", () => {
  assert.deepEqual(check({ cronSpec: "every minute" }), [
    `spec.cronSpec: Invalid value: "every minute": spec.cronSpec in body should match '^(\\S+ ){4}\\S+$'`,
  ]);
  assert.deepEqual(check({ ...ok, image: "x".repeat(21) }), [
    "spec.image: Too long: may not be more than 20 bytes",
  ]);
  assert.deepEqual(check({ ...ok, ports: [{ port: 1 }, { port: 2 }, { port: 3 }, { port: 4 }] }), [
    "spec.ports: Too many: 4: must have at most 3 items",
  ]);
  assert.deepEqual(check({ ...ok, labels: { a: "short", b: "toolong" } }), [
    "spec.labels.b: Too long: may not be more than 5 bytes",
  ]);
  assert.deepEqual(check({ ...ok, labels: { a: 1 } }), [
    'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
  ]);
});

test("min constraints, embedded resources and junctions", () => {
  const schema: JsonSchema = {
    type: "object",
    properties: {
      list: { type: "array", minItems: 2, items: { type: "string", minLength: 3 } },
      res: {
        type: "object",
        "x-kubernetes-embedded-resource": true,
        "x-kubernetes-preserve-unknown-fields": true,
      },
      either: { type: "string", anyOf: [{ pattern: "^a" }, { pattern: "^b" }] },
      tenth: { type: "number", minimum: 0, exclusiveMinimum: true },
    },
  };
  assert.deepEqual(
    messages(validateAgainstSchema(schema, { list: ["ab"], res: {}, either: "c", tenth: 0 })),
    [
      "list: Invalid value: 1: list in body should have at least 2 items",
      'list[0]: Invalid value: "ab": list[0] in body should be at least 3 chars long',
      "res.apiVersion: Required value: must not be empty",
      "res.kind: Required value: must not be empty",
      'either: Invalid value: "c": either in body must validate at least one schema (anyOf)',
      "tenth: Invalid value: 0: tenth in body should be greater than 0",
    ],
  );
});

test("pruning drops undeclared fields and unknown metadata, keeps type meta and preserved fields", () => {
  const obj = {
    apiVersion: "stable.example.com/v1",
    kind: "CronTab",
    metadata: { name: "c", labels: { a: "b" }, bogus: 1 },
    spec: {
      cronSpec: "* * * * */5",
      zzz: 1,
      image: null,
      note: null,
      ports: [{ port: 80, protocol: "TCP" }],
      extra: { anything: { at: "all" }, known: { a: "x", b: "pruned" } },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "t", bad: 1 }, spec: { kept: true } },
    },
    topLevel: true,
  };
  const pruned = pruneUnknownFields(cronTabSchema(), obj);
  assert.deepEqual(pruned, [
    "metadata.bogus",
    "spec.extra.known.b",
    "spec.ports[0].protocol",
    "spec.zzz",
    "topLevel",
    "spec.template.metadata.bad",
  ]);
  assert.deepEqual(obj, {
    apiVersion: "stable.example.com/v1",
    kind: "CronTab",
    metadata: { name: "c", labels: { a: "b" } },
    spec: {
      cronSpec: "* * * * */5",
      // image: null is dropped (not nullable, no default); note: null stays (nullable).
      note: null,
      ports: [{ port: 80 }],
      extra: { anything: { at: "all" }, known: { a: "x" } },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "t" }, spec: { kept: true } },
    },
  });
});

test("defaults fill absent fields, recursively and in list items", () => {
  const obj: Record<string, any> = {
    spec: { cronSpec: "* * * * *", mode: null, ports: [{ port: 80 }, { port: 81, name: "x" }] },
  };
  applySchemaDefaults(cronTabSchema(), obj);
  assert.deepEqual(obj, {
    spec: {
      cronSpec: "* * * * *",
      replicas: 1,
      mode: "Allow",
      ports: [
        { port: 80, name: "http" },
        { port: 81, name: "x" },
      ],
    },
    // status defaults to {}, and then its own fields are defaulted.
    status: { phase: "Pending" },
  });
  // Each object gets its own copy of a default.
  const a: Record<string, any> = {};
  const b: Record<string, any> = {};
  applySchemaDefaults(cronTabSchema(), a);
  applySchemaDefaults(cronTabSchema(), b);
  a.status.phase = "Changed";
  assert.equal(b.status.phase, "Pending");
});

test("defaults apply to map values and array items that are null", () => {
  const schema: JsonSchema = {
    type: "object",
    properties: {
      m: {
        type: "object",
        additionalProperties: { type: "object", default: { x: 1 }, properties: { x: { type: "integer" } } },
      },
      l: { type: "array", items: { type: "string", default: "d" } },
    },
  };
  const obj = { m: { a: null, b: { x: 2 } }, l: ["a", null] };
  applySchemaDefaults(schema, obj);
  assert.deepEqual(obj, { m: { a: { x: 1 }, b: { x: 2 } }, l: ["a", "d"] });
});

test("a structural schema passes the shape check", () => {
  assert.deepEqual(validateCrdSchemaShape(cronTabSchema()), []);
});

test("the shape check reports non-structural schemas with upstream's messages", () => {
  const bad = {
    type: "object",
    properties: {
      metadata: { type: "object", properties: { labels: { type: "object" } } },
      spec: {
        properties: {
          list: { type: "array" },
          either: { anyOf: [{ type: "string" }, { type: "integer" }] },
          both: {
            type: "object",
            properties: { a: { type: "string" } },
            additionalProperties: { type: "string" },
          },
          keep: { type: "object", "x-kubernetes-preserve-unknown-fields": false },
          port: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
          free: { "x-kubernetes-preserve-unknown-fields": true },
        },
      },
      items: { type: "array", items: { properties: { a: { type: "string" } } } },
    },
  };
  const base = "spec.validation.openAPIV3Schema";
  assert.deepEqual(validateCrdSchemaShape(bad), [
    `${base}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
    `${base}.properties[spec].type: Required value: must not be empty for specified object fields`,
    `${base}.properties[spec].properties[list].items: Required value: must be specified`,
    `${base}.properties[spec].properties[either].type: Required value: must not be empty for specified object fields`,
    `${base}.properties[spec].properties[either].anyOf[0].type: Forbidden: must be empty to be structural`,
    `${base}.properties[spec].properties[either].anyOf[1].type: Forbidden: must be empty to be structural`,
    `${base}.properties[spec].properties[both].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
    `${base}.properties[spec].properties[keep].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined`,
    `${base}.properties[items].items.type: Required value: must not be empty for specified array items`,
  ]);
  assert.deepEqual(validateCrdSchemaShape({ type: "string" }, "spec.versions[0].schema.openAPIV3Schema"), [
    'spec.versions[0].schema.openAPIV3Schema.type: Invalid value: "string": must be object at the root',
  ]);
  assert.deepEqual(validateCrdSchemaShape({ properties: {} }), [
    "spec.validation.openAPIV3Schema.type: Required value: must not be empty at the root",
  ]);
  assert.equal(crdSchemaShapeErrors(undefined)[0].type, "FieldValueRequired");
});
