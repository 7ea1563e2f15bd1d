import assert from "node:assert/strict";
import { test } from "node:test";
import { fromLabelSelector, labelSelectorString, matches, parseSelector, SelectorError } from "./labels.ts";

test("parses every operator of the string form", () => {
  const r = parseSelector("app=demo, tier!=db,env in (a, b),track notin (x),gpu,!legacy,n>3");
  assert.deepEqual(
    r.map((x) => [x.key, x.op, x.values]),
    [
      ["app", "=", ["demo"]],
      ["tier", "!=", ["db"]],
      ["env", "in", ["a", "b"]],
      ["track", "notin", ["x"]],
      ["gpu", "exists", []],
      ["legacy", "!", []],
      ["n", "gt", ["3"]],
    ],
  );
  assert.deepEqual(parseSelector("a==b")[0], { key: "a", op: "=", values: ["b"] });
  assert.deepEqual(parseSelector(""), []);
});

test("matches labels like upstream", () => {
  const sel = parseSelector("app=demo,env in (a,b),!legacy");
  assert.equal(matches(sel, { app: "demo", env: "a" }), true);
  assert.equal(matches(sel, { app: "demo", env: "c" }), false);
  assert.equal(matches(sel, { app: "demo", env: "a", legacy: "" }), false);
  assert.equal(matches(parseSelector("tier!=db"), {}), true, "!= matches absent keys");
  assert.equal(matches(parseSelector("n>3"), { n: "4" }), true);
  assert.equal(matches(parseSelector("n<3"), { n: "x" }), false);
});

test("rejects malformed selectors with a clear message", () => {
  assert.throws(() => parseSelector("app=de mo"), SelectorError);
  assert.throws(() => parseSelector("env in (a"), /expected/);
  assert.throws(() => parseSelector("-bad=x"), /Invalid value/);
  assert.throws(() => parseSelector("a=b,"), /expected: identifier/);
});

test("metav1.LabelSelector: null selects nothing, empty selects everything", () => {
  assert.equal(matches(fromLabelSelector(null), { a: "b" }), false);
  assert.equal(matches(fromLabelSelector({}), { a: "b" }), true);
  const sel = fromLabelSelector({
    matchLabels: { app: "x" },
    matchExpressions: [{ key: "t", operator: "In", values: ["1"] }],
  });
  assert.equal(matches(sel, { app: "x", t: "1" }), true);
  assert.equal(matches(sel, { app: "x", t: "2" }), false);
  assert.throws(
    () => fromLabelSelector({ matchExpressions: [{ key: "t", operator: "Near" }] }),
    SelectorError,
  );
  assert.equal(labelSelectorString({ matchLabels: { b: "2", a: "1" } }), "a=1,b=2");
});
