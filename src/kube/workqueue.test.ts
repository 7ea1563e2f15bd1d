import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, flush } from "./fake-clock.ts";
import { silentLogger } from "./log.ts";
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialRateLimiter,
} from "./rate-limiter.ts";
import { runWorkers, WorkQueue } from "./workqueue.ts";

function newQueue() {
  const clock = new FakeClock();
  return { clock, q: new WorkQueue({ clock }) };
}

/** Resolves to the value of `p`, or "pending" if it has not settled once queued callbacks ran. */
async function peek<T>(p: Promise<T>): Promise<T | "pending"> {
  let out: T | "pending" = "pending";
  p.then((v) => {
    out = v;
  });
  await flush();
  return out;
}

test("a key waiting in the queue is queued once, in FIFO order", async () => {
  const { q } = newQueue();
  q.add("a");
  q.add("b");
  q.add("a");
  q.add("c");
  assert.equal(q.len(), 3);
  assert.deepEqual([await q.get(), await q.get(), await q.get()], ["a", "b", "c"]);
  assert.equal(q.len(), 0);
});

test("a key being processed is not handed out again until done, then comes round once", async () => {
  const { q } = newQueue();
  q.add("a");
  assert.equal(await q.get(), "a");
  q.add("a");
  q.add("a");
  assert.equal(q.len(), 0, "re-adds while processing wait for done()");
  const second = q.get();
  assert.equal(await peek(second), "pending");
  q.done("a");
  assert.equal(await second, "a");
  q.done("a");
  assert.equal(q.len(), 0, "the two re-adds collapsed into one");
  assert.equal(await peek(q.get()), "pending");
});

test("a waiting get is woken by add", async () => {
  const { q } = newQueue();
  const waiting = q.get();
  assert.equal(await peek(waiting), "pending");
  q.add("x");
  assert.equal(await waiting, "x");
});

test("addAfter adds once the delay passed; the earliest of several delays wins", async () => {
  const { q, clock } = newQueue();
  q.addAfter("a", 1000);
  q.addAfter("a", 5000);
  q.addAfter("b", 500);
  q.addAfter("b", 200);
  assert.equal(q.len(), 0);
  await clock.advance(200);
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), "b");
  await clock.advance(799);
  assert.equal(q.len(), 0);
  await clock.advance(1);
  assert.equal(await q.get(), "a");
  await clock.advance(10_000);
  assert.equal(q.len(), 0, "the later, superseded delay does not add it again");
});

test("item backoff doubles from 5 ms to a 1000 s cap and forget resets it", () => {
  const rl = new ItemExponentialRateLimiter();
  assert.deepEqual([rl.when("k"), rl.when("k"), rl.when("k"), rl.when("k")], [5, 10, 20, 40]);
  assert.equal(rl.numRequeues("k"), 4);
  assert.equal(rl.when("other"), 5, "per key");
  for (let i = 0; i < 100; i++) rl.when("k");
  assert.equal(rl.when("k"), 1_000_000);
  rl.forget("k");
  assert.equal(rl.numRequeues("k"), 0);
  assert.equal(rl.when("k"), 5);
});

test("the token bucket lets a burst through, then spaces retries at qps", async () => {
  const clock = new FakeClock();
  const rl = new BucketRateLimiter(10, 3, clock);
  assert.deepEqual([rl.when(), rl.when(), rl.when()], [0, 0, 0]);
  assert.equal(rl.when(), 100);
  assert.equal(rl.when(), 200);
  // A second later the 2 owed tokens are paid back and the bucket is full again (capped at the burst).
  await clock.advance(1000);
  assert.deepEqual([rl.when(), rl.when(), rl.when(), rl.when()], [0, 0, 0, 100]);
});

test("addRateLimited: per-key backoff combined with the overall bucket", async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock, rateLimiter: defaultControllerRateLimiter({ clock, qps: 10, burst: 2 }) });
  q.addRateLimited("a"); // 5 ms
  q.addRateLimited("b"); // 5 ms
  q.addRateLimited("c"); // bucket empty: 100 ms
  assert.equal(q.numRequeues("a"), 1);
  await clock.advance(5);
  assert.equal(q.len(), 2);
  await clock.advance(94);
  assert.equal(q.len(), 2);
  await clock.advance(1);
  assert.equal(q.len(), 3);
  q.forget("a");
  assert.equal(q.numRequeues("a"), 0);
});

test("shutDown: waiters get undefined, adds are ignored, queued keys still drain", async () => {
  const { q } = newQueue();
  const idle = q.get();
  q.shutDown();
  assert.equal(await idle, undefined);

  const { q: q2 } = newQueue();
  q2.add("a");
  q2.addAfter("late", 10);
  q2.shutDown();
  q2.add("b");
  assert.equal(q2.len(), 1);
  assert.equal(await q2.get(), "a");
  assert.equal(await q2.get(), undefined);
  assert.equal(q2.isShuttingDown(), true);
});

test("shutDownWithDrain waits until in-flight keys are done", async () => {
  const { q } = newQueue();
  q.add("a");
  q.add("b");
  const a = await q.get();
  const drained = q.shutDownWithDrain();
  assert.equal(await peek(drained), "pending");
  q.done(a!);
  assert.equal(await peek(drained), "pending", "b is still queued");
  const b = await q.get();
  assert.equal(b, "b");
  assert.equal(await peek(drained), "pending", "b is in flight");
  q.done("b");
  assert.equal(await peek(drained), undefined);
  assert.equal(await q.get(), undefined);
});

test("runWorkers: retries failures with backoff, forgets on success, never runs one key twice at once", async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  const inFlight = new Set<string>();
  const attempts = new Map<string, number>();
  const errors: [string, number][] = [];
  let overlap = false;
  const gates: (() => void)[] = [];
  const sync = async (key: string) => {
    if (inFlight.has(key)) overlap = true;
    inFlight.add(key);
    await new Promise<void>((resolve) => gates.push(resolve));
    inFlight.delete(key);
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    if (key === "flaky" && n < 3) throw new Error(`attempt ${n}`);
  };
  const running = runWorkers(q, 3, sync, { onError: (key, _err, requeues) => errors.push([key, requeues]) });
  q.add("flaky");
  q.add("ok");
  await flush();
  q.add("flaky"); // re-added while in flight
  q.add("ok");
  assert.equal(inFlight.size, 2, "two keys, two busy workers, the third idle");
  const release = async () => {
    while (gates.length) gates.shift()!();
    await flush();
  };
  await release(); // flaky fails (1), ok succeeds; both were re-added, so both run again
  await release(); // flaky fails (2), ok succeeds
  assert.deepEqual(errors, [
    ["flaky", 0],
    ["flaky", 1],
  ]);
  await clock.advance(20); // backoff 5 ms, then 10 ms
  await release(); // flaky succeeds (3)
  assert.equal(attempts.get("flaky"), 3);
  assert.equal(q.numRequeues("flaky"), 0, "forgotten after success");
  assert.equal(overlap, false);
  q.shutDown();
  await running;
});

test("runWorkers: maxRetries gives a key up", async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  let calls = 0;
  const running = runWorkers(
    q,
    1,
    async () => {
      calls++;
      throw new Error("always");
    },
    { maxRetries: 2, logger: silentLogger, onError: () => {} },
  );
  q.add("k");
  await clock.advance(1000);
  assert.equal(calls, 3, "the first try and two retries");
  assert.equal(q.numRequeues("k"), 0);
  q.shutDown();
  await running;
});

test("shutDownNow drops queued and delayed keys: workers get nothing more after the one they hold", async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  for (const k of ["a", "b", "c"]) q.add(k);
  q.addAfter("d", 1000);
  const held = await q.get();
  assert.equal(held, "a");
  q.shutDownNow();
  assert.equal(await q.get(), undefined, "b and c are dropped, not handed out");
  q.add("e");
  q.done("a");
  await clock.advance(2000);
  assert.equal(q.len(), 0);
  assert.equal(await q.get(), undefined);
});
