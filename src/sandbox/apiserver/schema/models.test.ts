import assert from "node:assert/strict";
import { test } from "node:test";
import { modelField, modelFields, parseFieldType } from "./models.ts";

test("reads the structural schema of built-in models", () => {
  assert.deepEqual(modelField("V1PodSpec", "containers"), {
    kind: "array",
    items: { kind: "ref", model: "V1Container" },
  });
  assert.deepEqual(modelField("V1ObjectMeta", "labels"), { kind: "map", values: { kind: "string" } });
  assert.deepEqual(modelField("V1ContainerPort", "containerPort"), { kind: "integer", format: "int32" });
  assert.deepEqual(modelField("V1ServicePort", "targetPort"), { kind: "int-or-string" });
  assert.deepEqual(modelField("V1ObjectMeta", "creationTimestamp"), { kind: "string", format: "date-time" });
  assert.equal(modelFields("NoSuchModel"), undefined);
});

test("parses nested generic types", () => {
  assert.deepEqual(parseFieldType("{ [key: string]: Array<string>; }"), {
    kind: "map",
    values: { kind: "array", items: { kind: "string" } },
  });
});
