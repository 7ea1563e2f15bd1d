import assert from "node:assert/strict";
import { test } from "node:test";
import { applyMergePatch } from "./merge-patch.ts";

test("RFC 7386 appendix A examples", () => {
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [
      ["a", "b"],
      ["c", "d"],
      ["c", "d"],
    ],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, expected] of cases) {
    assert.deepEqual(
      applyMergePatch(target, patch),
      expected,
      `${JSON.stringify(target)} + ${JSON.stringify(patch)}`,
    );
  }
});

test("merges a kubectl-style label and replica change into a deployment", () => {
  const original = {
    metadata: { name: "web", labels: { app: "web", tier: "fe" } },
    spec: { replicas: 1, paused: true },
  };
  const patched = applyMergePatch(original, {
    metadata: { labels: { tier: null, env: "prod" } },
    spec: { replicas: 3 },
  });
  assert.deepEqual(patched, {
    metadata: { name: "web", labels: { app: "web", env: "prod" } },
    spec: { replicas: 3, paused: true },
  });
});

test("lists are replaced whole, never merged", () => {
  const original = {
    spec: {
      containers: [
        { name: "a", image: "x" },
        { name: "b", image: "y" },
      ],
    },
  };
  assert.deepEqual(applyMergePatch(original, { spec: { containers: [{ name: "b", image: "z" }] } }), {
    spec: { containers: [{ name: "b", image: "z" }] },
  });
});

test("does not modify its inputs nor share structure with them", () => {
  const original = { a: { b: 1 }, keep: { deep: [1] } };
  const patch = { a: { c: { d: 2 } }, list: [{ x: 1 }] };
  const before = structuredClone({ original, patch });
  const result = applyMergePatch(original, patch) as any;
  assert.deepEqual({ original, patch }, before);
  result.keep.deep.push(2);
  result.a.c.d = 3;
  result.list[0].x = 9;
  assert.deepEqual({ original, patch }, before);
});

test("a __proto__ key is data, not a prototype change", () => {
  const patch = JSON.parse('{"__proto__": {"polluted": true}}');
  const result = applyMergePatch({}, patch) as any;
  assert.equal(Object.getPrototypeOf(result), Object.prototype);
  assert.equal(({} as any).polluted, undefined);
  assert.deepEqual(Object.keys(result), ["__proto__"]);
});
