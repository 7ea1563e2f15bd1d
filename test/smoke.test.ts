import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

let sb: Sandbox;
before(async () => {
  sb = await startSandbox({ virtualNodes: 1 });
});
after(async () => {
  await sb?.stop();
});

test("a pod is scheduled onto a virtual node and runs", async () => {
  const r = await sb.kubectl(["run", "p1", "--image=nginx"]);
  assert.equal(r.code, 0, r.stderr);
  await eventually(
    async () =>
      (await sb.kubectl(["get", "pod", "p1", "-o", "jsonpath={.status.phase}"])).stdout === "Running",
    20_000,
    "p1 Running",
  );
  const get = await sb.kubectl(["get", "pods"]);
  assert.match(get.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
  assert.match(get.stdout, /p1\s+1\/1\s+Running\s+0\s+/);
});
