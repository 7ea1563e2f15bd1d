import assert from "node:assert/strict";
import { test } from "node:test";
import { FieldSelectorError, matchesFields, parseFieldSelector } from "./fields.ts";

test("parses =, == and != with escapes", () => {
  assert.deepEqual(parseFieldSelector("spec.nodeName=n1,status.phase!=Running,metadata.name==a\\,b"), [
    { field: "spec.nodeName", op: "=", value: "n1" },
    { field: "status.phase", op: "!=", value: "Running" },
    { field: "metadata.name", op: "=", value: "a,b" },
  ]);
  assert.throws(() => parseFieldSelector("spec.nodeName"), FieldSelectorError);
});

test("matches like upstream: absent fields are empty strings", () => {
  const f = { "spec.nodeName": "n1", "status.phase": "Pending" };
  assert.equal(matchesFields(parseFieldSelector("spec.nodeName=n1"), f), true);
  assert.equal(matchesFields(parseFieldSelector("spec.nodeName!="), f), true);
  assert.equal(matchesFields(parseFieldSelector("spec.nodeName="), {}), true);
  assert.equal(matchesFields(parseFieldSelector("status.phase!=Pending"), f), false);
});
