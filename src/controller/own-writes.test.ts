import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../kube/objects.ts";
import { OwnWrites } from "./own-writes.ts";

const pod = (uid: string, rv: string): KubeObject => ({ metadata: { name: "p", uid, resourceVersion: rv } });

test("a cached object older than our own write is stale until the cache catches up", () => {
  const w = new OwnWrites();
  assert.equal(w.isStale("ns/p", pod("u1", "5")), false, "nothing written: never stale");
  w.record("ns/p", pod("u1", "10"));
  assert.equal(w.isStale("ns/p", pod("u1", "9")), true);
  assert.equal(w.isStale("ns/p", pod("u1", "10")), false, "the write itself arrived");
  assert.equal(w.size, 0, "and is forgotten");
  assert.equal(w.isStale("ns/p", pod("u1", "9")), false);
});

test("another object of the same name, opaque versions and forget end the guard", () => {
  const w = new OwnWrites();
  w.record("ns/p", pod("u1", "10"));
  assert.equal(w.isStale("ns/p", pod("u2", "3")), false, "a new object is not ours to wait for");
  w.record("ns/p", pod("u1", "10"));
  assert.equal(w.isStale("ns/p", pod("u1", "abc")), false, "versions that do not compare never skip");
  w.record("ns/p", pod("u1", "10"));
  w.forget("ns/p");
  assert.equal(w.isStale("ns/p", pod("u1", "9")), false);
  w.record("ns/p", undefined);
  assert.equal(w.size, 0, "an answer without a version records nothing");
});
