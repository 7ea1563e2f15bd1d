import assert from "node:assert/strict";
import { test } from "node:test";
import { CriError } from "../../../cri/types.ts";
import { systemClock } from "../../../kube/clock.ts";
import { FakeClock } from "../../../kube/fake-clock.ts";
import { EXEC_TIMEOUT_GRACE_MS, execProbe } from "./exec-probe.ts";
import { ProbeError } from "./outcome.ts";
import { execResult, fakeRuntime } from "./testing.ts";

test("exit 0 succeeds; another exit code fails with stdout then stderr as output", async () => {
  let exit = 0;
  const { runtime, calls } = fakeRuntime(async () => execResult(exit, "out\n", "err\n"));
  assert.deepEqual(await execProbe(runtime, "c1", ["cat", "/tmp/healthy"], 1, systemClock), {
    result: "success",
    output: "out\nerr\n",
  });
  exit = 1;
  assert.deepEqual(await execProbe(runtime, "c1", ["cat", "/tmp/healthy"], 5, systemClock), {
    result: "failure",
    output: "out\nerr\n",
  });
  assert.deepEqual(calls[1], { containerId: "c1", cmd: ["cat", "/tmp/healthy"], timeout: 5 });
});

test("output is cut at 10 KiB", async () => {
  const { runtime } = fakeRuntime(async () => execResult(1, "a".repeat(8000), "b".repeat(8000)));
  const out = await execProbe(runtime, "c1", ["x"], 1, systemClock);
  assert.equal(out.output.length, 10 * 1024);
  assert.ok(out.output.endsWith("b"));
});

test('the runtime\'s DeadlineExceeded is a failure: command "..." timed out', async () => {
  const { runtime } = fakeRuntime(async () => {
    throw new CriError(
      "/runtime.v1.RuntimeService/ExecSync",
      4,
      "timeout 1s exceeded: context deadline exceeded",
    );
  });
  assert.deepEqual(await execProbe(runtime, "c1", ["sh", "-c", "sleep 10"], 1, systemClock), {
    result: "failure",
    output: 'command "sh -c sleep 10" timed out',
  });
});

test("a runtime that never answers times out shortly after the probe's timeout", async () => {
  const clock = new FakeClock();
  const { runtime } = fakeRuntime(() => new Promise(() => {}));
  let settled = false;
  const pending = execProbe(runtime, "c1", ["sleep", "9"], 2, clock).finally(() => {
    settled = true;
  });
  await clock.advance(2000 + EXEC_TIMEOUT_GRACE_MS - 1);
  assert.equal(settled, false);
  await clock.advance(1);
  assert.deepEqual(await pending, { result: "failure", output: 'command "sleep 9" timed out' });
  assert.equal(clock.pending(), 0);
});

test("other runtime errors make the probe error, in grpc-go's words", async () => {
  const { runtime } = fakeRuntime(async () => {
    throw new CriError("/runtime.v1.RuntimeService/ExecSync", 5, 'container "c1" not found');
  });
  await assert.rejects(execProbe(runtime, "c1", ["true"], 1, systemClock), (err: unknown) => {
    assert.ok(err instanceof ProbeError);
    assert.equal(err.message, 'rpc error: code = NotFound desc = container "c1" not found');
    assert.equal(err.result, "unknown");
    return true;
  });
});
