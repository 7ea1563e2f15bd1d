import assert from "node:assert/strict";
import { test } from "node:test";
import { Waiters } from "./waiters.ts";

test("a waiter resolves on the change that makes its condition true, and gives up on abort", async () => {
  const w = new Waiters();
  let value: string | undefined;
  const pending = w.waitFor(() => value, AbortSignal.timeout(5000));
  w.changed(); // nothing yet
  value = "port";
  w.changed();
  assert.equal(await pending, "port");
  const ctl = new AbortController();
  const never = w.waitFor(() => undefined, ctl.signal);
  ctl.abort(new Error("deadline"));
  await assert.rejects(never, /deadline/);
  assert.equal(await w.waitFor(() => 1, AbortSignal.timeout(10)), 1, "already true: at once");
});
