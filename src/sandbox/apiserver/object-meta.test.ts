import assert from "node:assert/strict";
import { test } from "node:test";
import { sameJson, sameObject } from "./object-meta.ts";

// The definition sameJson must agree with: equal JSON once object keys are sorted.
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(
          Object.keys(val)
            .sort()
            .filter((k) => val[k] !== undefined)
            .map((k) => [k, val[k]]),
        )
      : val,
  );
}

test("sameJson agrees with comparing canonical JSON", () => {
  const values: unknown[] = [
    null,
    0,
    1,
    "",
    "a",
    true,
    false,
    [],
    {},
    [1, 2],
    [2, 1],
    [null],
    [undefined],
    { a: 1 },
    { a: 1, b: undefined },
    { b: undefined, a: 1 },
    { a: "1" },
    { a: { b: [1, { c: 2, d: null }] } },
    { a: { b: [1, { d: null, c: 2 }] } },
    { a: { b: [1, { c: 2 }] } },
    { a: [] },
    { a: {} },
    { a: 1, b: 2 },
    { b: 2, a: 1 },
    { a: 1, c: 2 },
  ];
  for (const a of values)
    for (const b of values)
      assert.equal(sameJson(a, b), canonical(a) === canonical(b), `${canonical(a)} vs ${canonical(b)}`);
});

test("sameObject ignores the resourceVersion and key order, not other changes", () => {
  const a = { metadata: { name: "x", resourceVersion: "1", labels: { a: "1" } }, spec: { n: 1 } };
  const b = { spec: { n: 1 }, metadata: { labels: { a: "1" }, resourceVersion: "2", name: "x" } };
  assert.equal(sameObject(a, b), true);
  assert.equal(sameObject(a, { ...b, spec: { n: 2 } }), false);
  assert.equal(sameObject(a, { ...b, metadata: { ...b.metadata, labels: {} } }), false);
});
