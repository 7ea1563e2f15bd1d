import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../kube/objects.ts";
import { EndpointSliceTracker, STALE_LIMIT_MS } from "./endpointslice-tracker.ts";

const slice = (name: string, generation: number, deleting = false): KubeObject => ({
  metadata: { name, generation, ...(deleting ? { deletionTimestamp: "2024-01-01T00:00:00Z" } : {}) },
});

test("our own writes coming back need no sync; newer changes by others do", () => {
  const t = new EndpointSliceTracker(() => 0);
  assert.equal(t.shouldSync("ns/svc", slice("a", 1)), true, "unknown slice");
  t.written("ns/svc", slice("a", 2));
  assert.equal(t.shouldSync("ns/svc", slice("a", 2)), false);
  assert.equal(t.shouldSync("ns/svc", slice("a", 3)), true);
  t.deleted("ns/svc", "a");
  assert.equal(t.observeDeletion("ns/svc", "a"), false, "our delete");
  assert.equal(t.observeDeletion("ns/svc", "b"), true, "someone else's");
});

test("the cache is stale until it shows our writes", () => {
  let now = 0;
  const t = new EndpointSliceTracker(() => now);
  t.written("ns/svc", slice("a", 2));
  assert.equal(t.stale("ns/svc", []), true, "created slice not cached yet");
  assert.equal(t.stale("ns/svc", [slice("a", 1)]), true, "older generation cached");
  assert.equal(t.stale("ns/svc", [slice("a", 2)]), false);
  t.deleted("ns/svc", "b");
  assert.equal(t.stale("ns/svc", [slice("a", 2), slice("b", 1)]), true, "deleted slice still cached");
  assert.equal(t.stale("ns/svc", [slice("a", 2), slice("b", 1, true)]), false, "terminating counts as gone");
  now = STALE_LIMIT_MS + 1;
  assert.equal(t.stale("ns/svc", []), false, "writes never observed are given up on");
});
