import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../../kube/fake-clock.ts";
import { ControllerExpectations, EXPECTATIONS_TIMEOUT_MS } from "./expectations.ts";

test("an owner without expectations may act", () => {
  const e = new ControllerExpectations();
  assert.ok(e.satisfied("ns/a"));
  e.creationObserved("ns/a"); // no record: nothing to lower, no record made
  assert.equal(e.pending("ns/a"), undefined);
});

test("creations are awaited until each is observed or skipped", () => {
  const e = new ControllerExpectations();
  e.expectCreations("ns/a", 3);
  assert.ok(!e.satisfied("ns/a"));
  e.creationObserved("ns/a");
  e.creationsSkipped("ns/a", 1);
  assert.deepEqual(e.pending("ns/a"), { adds: 1, deletes: [] });
  assert.ok(!e.satisfied("ns/a"));
  e.creationObserved("ns/a");
  assert.ok(e.satisfied("ns/a"));
  e.creationObserved("ns/a"); // extra sightings do not go negative
  assert.deepEqual(e.pending("ns/a"), { adds: 0, deletes: [] });
  assert.ok(e.satisfied("ns/b"), "other owners are unaffected");
});

test("deletions are tracked by pod key, so a second sighting of one pod counts once", () => {
  const e = new ControllerExpectations();
  e.expectDeletions("ns/a", ["ns/p1", "ns/p2"]);
  e.deletionObserved("ns/a", "ns/p1");
  e.deletionObserved("ns/a", "ns/p1"); // terminating, then gone
  assert.ok(!e.satisfied("ns/a"));
  e.deletionObserved("ns/a", "ns/other"); // not one we deleted
  assert.deepEqual(e.pending("ns/a"), { adds: 0, deletes: ["ns/p2"] });
  e.deletionObserved("ns/a", "ns/p2");
  assert.ok(e.satisfied("ns/a"));
});

test("new expectations replace old ones; forget drops them", () => {
  const e = new ControllerExpectations();
  e.expectCreations("ns/a", 5);
  e.expectDeletions("ns/a", ["ns/p"]);
  assert.deepEqual(e.pending("ns/a"), { adds: 0, deletes: ["ns/p"] });
  e.forget("ns/a");
  assert.ok(e.satisfied("ns/a"));
});

test("unfulfilled expectations expire after the timeout", async () => {
  const clock = new FakeClock();
  const e = new ControllerExpectations({ clock });
  e.expectCreations("ns/a", 2);
  assert.equal(e.remainingMs("ns/a"), EXPECTATIONS_TIMEOUT_MS);
  await clock.advance(EXPECTATIONS_TIMEOUT_MS - 1);
  assert.ok(!e.satisfied("ns/a"));
  assert.equal(e.remainingMs("ns/a"), 1);
  await clock.advance(1);
  assert.ok(e.satisfied("ns/a"));
  assert.equal(e.remainingMs("ns/a"), 0);
});
