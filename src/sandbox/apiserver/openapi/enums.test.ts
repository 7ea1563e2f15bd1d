import assert from "node:assert/strict";
import { test } from "node:test";
import { modelField } from "../schema/models.ts";
import { enumEntries, enumOf } from "./enums.ts";

test("every enum names a string field of a real model, with sorted values", () => {
  for (const { model, field, values } of enumEntries()) {
    assert.deepEqual(modelField(model, field), { kind: "string" }, `${model}.${field}`);
    assert.deepEqual(values, [...values].sort(), `${model}.${field} is sorted`);
  }
});

test("looks up known fields only", () => {
  assert.deepEqual(enumOf("V1Container", "imagePullPolicy"), ["Always", "IfNotPresent", "Never"]);
  assert.equal(enumOf("V1Container", "image"), undefined);
  assert.equal(enumOf("V1Container", "constructor"), undefined);
});
