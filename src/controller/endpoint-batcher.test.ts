import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../kube/fake-clock.ts";
import { WorkQueue } from "../kube/workqueue.ts";
import { EndpointBatcher } from "./endpoint-batcher.ts";

test("the first change goes at once; a burst after it is one more sync at the window's end", async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  const b = new EndpointBatcher(q, 500, clock);
  b.changed("default/demo");
  assert.equal(q.len(), 1, "no wait for a lone change");
  assert.equal(await q.get(), "default/demo");
  q.done("default/demo");
  for (const ms of [10, 100, 200]) {
    await clock.advance(ms);
    b.changed("default/demo");
  }
  assert.equal(q.len(), 0, "the burst waits for the window");
  await clock.advance(500 - 310);
  assert.equal(q.len(), 1, "one sync at the end of the window");
  assert.equal(await q.get(), "default/demo");
  q.done("default/demo");
  // A change right after that window belongs to the next one (the sync just happened).
  await clock.advance(100);
  b.changed("default/demo");
  assert.equal(q.len(), 0);
  await clock.advance(400);
  assert.equal(q.len(), 1);
  // After a quiet period, at once again.
  await q.get();
  q.done("default/demo");
  await clock.advance(5_000);
  b.changed("default/demo");
  assert.equal(q.len(), 1);
});
