import assert from "node:assert/strict";
import { test } from "node:test";
import { arrayIndexOf, parseJsonPointer } from "./json-pointer.ts";

test("the empty pointer is the whole document", () => {
  assert.deepEqual(parseJsonPointer(""), []);
});

test("splits tokens and decodes ~1 and ~0, in that order", () => {
  assert.deepEqual(parseJsonPointer("/metadata/annotations/a~1b"), ["metadata", "annotations", "a/b"]);
  assert.deepEqual(parseJsonPointer("/m~0n"), ["m~n"]);
  // "~01" is "~" followed by "1", not "/".
  assert.deepEqual(parseJsonPointer("/~01"), ["~1"]);
  assert.deepEqual(parseJsonPointer("/"), [""]);
  assert.deepEqual(parseJsonPointer("/a//b"), ["a", "", "b"]);
});

test("rejects pointers without a leading slash and bad escapes", () => {
  assert.match((parseJsonPointer("spec") as { error: string }).error, /must be empty or start with "\/"/);
  assert.match((parseJsonPointer("/a~2b") as { error: string }).error, /invalid escape/);
  assert.match((parseJsonPointer("/a~") as { error: string }).error, /invalid escape/);
});

test("array indexes are decimal without leading zeros", () => {
  assert.equal(arrayIndexOf("0"), 0);
  assert.equal(arrayIndexOf("12"), 12);
  assert.equal(arrayIndexOf("01"), undefined);
  assert.equal(arrayIndexOf("-"), undefined);
  assert.equal(arrayIndexOf("1e2"), undefined);
  assert.equal(arrayIndexOf(" 1"), undefined);
  assert.equal(arrayIndexOf(""), undefined);
});
