import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Backoff, formatDuration } from "./backoff.ts";

describe("Backoff", () => {
  it("first restart is immediate, then 10s, 20s, 40s ... capped at 300s", () => {
    const b = new Backoff();
    let t = 0;
    assert.equal(b.isInBackOffSince("k", t, t), false);
    b.next("k", t, t);
    const seen: number[] = [];
    for (let i = 0; i < 7; i++) {
      t += 1000; // the container ran one second, then exited at t
      assert.equal(b.isInBackOffSince("k", t, t + b.get("k") - 1), true);
      assert.equal(b.isInBackOffSince("k", t, t + b.get("k")), false);
      seen.push(b.get("k") / 1000);
      t += b.get("k");
      b.next("k", t, t);
    }
    assert.deepEqual(seen, [10, 20, 40, 80, 160, 300, 300]);
  });
  it("resets when the container ran more than 10 minutes since its last restart", () => {
    const b = new Backoff();
    b.next("k", 0, 0);
    b.next("k", 1000, 1000);
    assert.equal(b.get("k"), 20_000);
    const exit = 1000 + 10 * 60_000 + 1;
    assert.equal(b.isInBackOffSince("k", exit, exit), false);
    b.next("k", exit, exit);
    assert.equal(b.get("k"), 10_000);
  });
  it("remaining counts down from the exit", () => {
    const b = new Backoff();
    b.next("k", 0, 0);
    assert.equal(b.remaining("k", 5000, 8000), 7000);
    assert.equal(b.remaining("k", 5000, 16_000), 0);
  });
  it("restore seeds a back-off clamped to the bounds; forgetPrefix drops a pod's entries", () => {
    const b = new Backoff();
    b.restore("u1/a", 1_000_000, 0);
    assert.equal(b.get("u1/a"), 300_000);
    b.restore("u1/b", 20_000, 0);
    b.restore("u2/a", 20_000, 0);
    b.forgetPrefix("u1/");
    assert.equal(b.get("u1/b"), 0);
    assert.equal(b.get("u2/a"), 20_000);
  });
  it("formats durations the way Go does", () => {
    assert.equal(formatDuration(10_000), "10s");
    assert.equal(formatDuration(300_000), "5m0s");
    assert.equal(formatDuration(160_000), "2m40s");
  });
});
