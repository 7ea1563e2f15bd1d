import assert from "node:assert/strict";
import { test } from "node:test";
import { KeyedLock } from "./keyed-lock.ts";

test("tasks run one at a time per key, in order, and a failure does not block the next", async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const task =
    (name: string, ms: number, fail = false) =>
    async () => {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name}-`);
      if (fail) throw new Error(name);
      return name;
    };
  const results = await Promise.allSettled([
    lock.run("k", task("a", 20, true)),
    lock.run("k", task("b", 1)),
    lock.run("other", task("c", 5)),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["rejected", "fulfilled", "fulfilled"],
  );
  assert.deepEqual(log, ["a+", "c+", "c-", "a-", "b+", "b-"]);
  await new Promise((r) => setImmediate(r));
  assert.equal(lock.size, 0, "keys are forgotten when idle");
});
