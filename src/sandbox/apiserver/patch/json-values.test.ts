import assert from "node:assert/strict";
import { test } from "node:test";
import { cloneJson, describeJson, isJsonObject, jsonEqual, ownValue, setOwnValue } from "./json-values.ts";

test("jsonEqual compares structure, ignoring object key order but not array order", () => {
  assert.equal(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }), true);
  assert.equal(jsonEqual([1, 2], [2, 1]), false);
  assert.equal(jsonEqual({ a: 1 }, { a: 1, b: undefined }), false);
  assert.equal(jsonEqual({ a: null }, {}), false);
  assert.equal(jsonEqual([], {}), false);
  assert.equal(jsonEqual(80, "80"), false);
});

test("isJsonObject excludes null and arrays", () => {
  assert.equal(isJsonObject({}), true);
  assert.equal(isJsonObject(null), false);
  assert.equal(isJsonObject([]), false);
  assert.equal(isJsonObject("x"), false);
});

test("own values only: inherited names read as absent and __proto__ is stored as data", () => {
  const obj: Record<string, unknown> = {};
  assert.equal(ownValue(obj, "toString"), undefined);
  assert.equal(ownValue(obj, "__proto__"), undefined);
  setOwnValue(obj, "__proto__", { polluted: true });
  assert.equal(Object.getPrototypeOf(obj), Object.prototype);
  assert.deepEqual(ownValue(obj, "__proto__"), { polluted: true });
});

test("cloneJson copies deeply and describeJson truncates", () => {
  const v = { a: [{ b: 1 }] };
  const c = cloneJson(v);
  c.a[0].b = 2;
  assert.equal(v.a[0].b, 1);
  assert.equal(cloneJson(undefined), undefined);
  assert.equal(describeJson("x".repeat(300)).length, 203);
  assert.equal(describeJson({ a: 1 }), '{"a":1}');
});
