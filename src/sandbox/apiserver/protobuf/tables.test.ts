// Consistency of the message tables: every reference resolves, names are unique, and every JSON
// name and shape agrees with the structural schema from @kubernetes/client-node (which knows JSON
// names and types, though not field numbers).
import assert from "node:assert/strict";
import { test } from "node:test";
import { type FieldType, modelFields } from "../schema/models.ts";
import { MESSAGE_TABLES, MESSAGES, rootMessage, supportedKinds } from "./messages.ts";
import { type FieldSpec, isScalar, isSpecial } from "./schema.ts";

test("message names are unique across the tables", () => {
  const total = MESSAGE_TABLES.reduce((n, t) => n + Object.keys(t).length, 0);
  assert.equal(Object.keys(MESSAGES).length, total);
});

test("every field type is a scalar, a special type, or a message in the tables", () => {
  for (const [name, schema] of Object.entries(MESSAGES))
    for (const [num, f] of Object.entries(schema))
      assert.ok(isScalar(f.type) || isSpecial(f.type) || MESSAGES[f.type], `${name}.${num} → ${f.type}`);
});

test("embedded fields name a message, and no message has two fields with one JSON name", () => {
  for (const [name, schema] of Object.entries(MESSAGES)) {
    const names = jsonFields(name).map(([n]) => n);
    assert.deepEqual(names, [...new Set(names)], name);
    for (const f of Object.values(schema))
      if (f.embedded) assert.ok(MESSAGES[f.type], `${name} embeds ${f.type}`);
  }
});

test("JSON names and shapes agree with the client-node models", () => {
  let checked = 0;
  for (const name of Object.keys(MESSAGES)) {
    if (EMBEDDED_ONLY.includes(name)) continue;
    const model = modelFields(MODEL_NAMES[name] ?? `V1${name}`);
    assert.ok(model, `no model for ${name}`);
    const types = new Map(model.map((f) => [f.name, f.type]));
    for (const [jsonName, spec] of jsonFields(name)) {
      const type = types.get(jsonName);
      assert.ok(type, `${name}.${jsonName} is not in the model`);
      assert.ok(
        compatible(spec, type),
        `${name}.${jsonName}: ${JSON.stringify(spec)} vs ${JSON.stringify(type)}`,
      );
      checked++;
    }
  }
  assert.ok(checked > 600, `checked ${checked} fields`);
});

test("every supported kind has a root message", () => {
  for (const entry of supportedKinds()) {
    const [apiVersion, kind] = entry.split(" ");
    const message = rootMessage(apiVersion === "*" ? "v1" : apiVersion, kind);
    assert.ok(message && MESSAGES[message], entry);
  }
});

// Go embedded structs have no model of their own; their fields are checked in their parents.
const EMBEDDED_ONLY = ["VolumeSource", "ProbeHandler", "EphemeralContainerCommon", "IngressRuleValue"];
// Models whose name is qualified by group because another group has a type of the same name.
const MODEL_NAMES: Record<string, string> = {
  ResourceClaim: "CoreV1ResourceClaim",
  Subject: "RbacV1Subject",
  TokenRequest: "AuthenticationV1TokenRequest",
};

/** [JSON name, field] pairs of a message as they appear in JSON, embedded structs expanded. */
function jsonFields(message: string): [string, FieldSpec][] {
  return Object.values(MESSAGES[message]).flatMap((f): [string, FieldSpec][] =>
    f.embedded ? jsonFields(f.type) : [[f.name, f]],
  );
}

function compatible(spec: FieldSpec, type: FieldType): boolean {
  if (spec.map) return type.kind === "map" && compatibleValue(spec.type, type.values);
  if (spec.repeated) return type.kind === "array" && compatibleValue(spec.type, type.items);
  return compatibleValue(spec.type, type);
}

function compatibleValue(protoType: string, type: FieldType): boolean {
  switch (protoType) {
    case "string":
    case "bytes":
    case "Quantity":
      return type.kind === "string";
    case "Time":
      return type.kind === "string" && type.format === "date-time";
    case "int32":
    case "int64":
      // Array items lose their format in the client-node type strings ("Array<number>").
      return type.kind === "integer" ? type.format === protoType : type.kind === "number" && !type.format;
    case "bool":
      return type.kind === "boolean";
    case "IntOrString":
      return type.kind === "int-or-string";
    case "FieldsV1":
      return type.kind === "any";
    default:
      return type.kind === "ref";
  }
}
