import assert from "node:assert/strict";
import { test } from "node:test";
import { orderMergedList } from "./list-order.ts";

const byName = (item: unknown) => (item as { name: string }).name;
const named = (...names: string[]) => names.map((name) => ({ name }));
const names = (list: unknown[]) => list.map(byName);

test("patch items follow the patch, server-only items keep their place", () => {
  // Merged as [a, b, c, d]: d is new, c was patched.
  const merged = named("a", "b", "c", "d");
  assert.deepEqual(names(orderMergedList(merged, named("c", "d"), named("a", "b", "c"), byName)), [
    "a",
    "b",
    "c",
    "d",
  ]);
});

test("the patch's relative order wins over the original's", () => {
  const merged = named("a", "b", "c");
  // b stays in front of c, which it preceded; the patch puts c before a.
  assert.deepEqual(names(orderMergedList(merged, named("c", "a"), named("a", "b", "c"), byName)), [
    "b",
    "c",
    "a",
  ]);
});

test("a $setElementOrder list can place new items between old ones", () => {
  const merged = named("a", "b", "new");
  assert.deepEqual(names(orderMergedList(merged, named("a", "new", "b"), named("a", "b"), byName)), [
    "a",
    "new",
    "b",
  ]);
});

test("a server-only item goes before the next patch item only if it preceded it originally", () => {
  const merged = named("x", "a", "y", "b");
  // x and y both preceded b (the first patch item), so both come before the patch run.
  assert.deepEqual(names(orderMergedList(merged, named("b", "a"), named("x", "a", "y", "b"), byName)), [
    "x",
    "y",
    "b",
    "a",
  ]);
  // y followed a (the first patch item) originally, so it stays after it.
  assert.deepEqual(
    names(orderMergedList(named("a", "y", "b"), named("a", "b"), named("a", "y", "b"), byName)),
    ["a", "y", "b"],
  );
});

test("primitives are identified by value", () => {
  const same = (v: unknown) => v;
  assert.deepEqual(orderMergedList(["a", "b", "c"], ["b", "c", "a"], ["a", "b", "c"], same), ["b", "c", "a"]);
  assert.deepEqual(orderMergedList(["x", "y", "z"], ["z", "x"], ["x", "y"], same), ["z", "x", "y"]);
});
