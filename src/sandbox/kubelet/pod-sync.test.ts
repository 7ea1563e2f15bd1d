import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  computePodActions,
  initProgress,
  isNoop,
  sandboxChange,
  shouldContainerBeRestarted,
} from "./pod-sync.ts";
import { ctr, pod, runtime, sandbox } from "./testing.ts";

const exited = (name: string, exitCode: number, attempt = 0) =>
  ctr(name, { state: "exited", exitCode, attempt, finishedAt: 2000 });

describe("sandboxChange", () => {
  it("creates the first sandbox with attempt 0", () => {
    assert.deepEqual(sandboxChange(pod(), undefined), { create: true, attempt: 0, sandboxId: "" });
  });
  it("keeps a ready sandbox with an IP", () => {
    assert.deepEqual(sandboxChange(pod(), runtime([sandbox()], [])), {
      create: false,
      attempt: 0,
      sandboxId: "sb1",
    });
  });
  it("recreates a sandbox that is not ready, with the next attempt", () => {
    const r = sandboxChange(pod(), runtime([sandbox({ ready: false, attempt: 2 })], []));
    assert.deepEqual(r, { create: true, attempt: 3, sandboxId: "sb1" });
  });
  it("recreates a sandbox without an IP unless the pod uses the host network", () => {
    assert.equal(sandboxChange(pod(), runtime([sandbox({ ips: [] })], [])).create, true);
    const host = pod({ hostNetwork: true });
    assert.equal(sandboxChange(host, runtime([sandbox({ ips: [], hostNetwork: true })], [])).create, false);
  });
  it("recreates when the network mode no longer matches", () => {
    assert.equal(sandboxChange(pod({ hostNetwork: true }), runtime([sandbox()], [])).create, true);
  });
  it("recreates when more than one sandbox is ready", () => {
    const rt = runtime([sandbox({ id: "a", attempt: 1 }), sandbox({ id: "b" })], []);
    assert.deepEqual(sandboxChange(pod(), rt), { create: true, attempt: 2, sandboxId: "a" });
  });
});

describe("shouldContainerBeRestarted", () => {
  it("starts a container that never ran and never restarts a running one", () => {
    assert.equal(shouldContainerBeRestarted(pod(), "app", runtime([sandbox()], [])), true);
    assert.equal(shouldContainerBeRestarted(pod(), "app", runtime([sandbox()], [ctr("app")])), false);
  });
  it("follows the restart policy for exited containers", () => {
    const ok = runtime([sandbox()], [exited("app", 0)]);
    const bad = runtime([sandbox()], [exited("app", 1)]);
    assert.equal(shouldContainerBeRestarted(pod({ restartPolicy: "Always" }), "app", ok), true);
    assert.equal(shouldContainerBeRestarted(pod({ restartPolicy: "OnFailure" }), "app", ok), false);
    assert.equal(shouldContainerBeRestarted(pod({ restartPolicy: "OnFailure" }), "app", bad), true);
    assert.equal(shouldContainerBeRestarted(pod({ restartPolicy: "Never" }), "app", bad), false);
  });
  it("never restarts containers of a pod being deleted", () => {
    const p = pod({}, { deletionTimestamp: "2025-01-01T00:00:00Z" });
    assert.equal(shouldContainerBeRestarted(p, "app", runtime([sandbox()], [exited("app", 1)])), false);
  });
});

describe("initProgress", () => {
  const withInits = pod({
    initContainers: [
      { name: "i1", image: "busybox" },
      { name: "i2", image: "busybox" },
    ],
  });
  it("is done without init containers", () => {
    assert.deepEqual(initProgress(pod(), undefined), { done: true });
  });
  it("runs the first, then the next after a success, then is done", () => {
    assert.deepEqual(initProgress(withInits, runtime([sandbox()], [])), { next: "i1", done: false });
    assert.deepEqual(initProgress(withInits, runtime([sandbox()], [ctr("i1")])), { done: false });
    assert.deepEqual(initProgress(withInits, runtime([sandbox()], [exited("i1", 0)])), {
      next: "i2",
      done: false,
    });
    assert.deepEqual(initProgress(withInits, runtime([sandbox()], [exited("i1", 0), exited("i2", 0)])), {
      done: true,
    });
  });
  it("reports the failed init container to retry", () => {
    const r = initProgress(withInits, runtime([sandbox()], [exited("i1", 0), exited("i2", 3)]));
    assert.equal(r.next, "i2");
    assert.equal(r.failed?.exitCode, 3);
  });
  it("is done once an app container runs", () => {
    assert.deepEqual(initProgress(withInits, runtime([sandbox()], [ctr("app")])), { done: true });
  });
});

describe("computePodActions", () => {
  it("new pod: create the sandbox and start every container", () => {
    const p = pod({ containers: [{ name: "a" }, { name: "b" }] });
    const a = computePodActions(p, undefined);
    assert.equal(a.createSandbox, true);
    assert.equal(a.attempt, 0);
    assert.deepEqual(a.containersToStart, ["a", "b"]);
  });
  it("new pod with init containers: only the first init container", () => {
    const p = pod({ initContainers: [{ name: "i1" }, { name: "i2" }] });
    const a = computePodActions(p, undefined);
    assert.equal(a.nextInitContainer, "i1");
    assert.deepEqual(a.containersToStart, []);
  });
  it("running pod: nothing to do", () => {
    assert.equal(isNoop(computePodActions(pod(), runtime([sandbox()], [ctr("app")]))), true);
  });
  it("Always: an exited container (killall) is restarted, whatever its exit code", () => {
    for (const code of [0, 143]) {
      const a = computePodActions(pod(), runtime([sandbox()], [exited("app", code)]));
      assert.deepEqual(a.containersToStart, ["app"]);
      assert.equal(a.killPod, false);
    }
  });
  it("OnFailure: restarts failures, and a success ends the pod (sandbox killed)", () => {
    const p = pod({ restartPolicy: "OnFailure" });
    assert.deepEqual(computePodActions(p, runtime([sandbox()], [exited("app", 2)])).containersToStart, [
      "app",
    ]);
    const done = computePodActions(p, runtime([sandbox()], [exited("app", 0)]));
    assert.deepEqual(done.containersToStart, []);
    assert.equal(done.killPod, true);
  });
  it("Never: nothing restarts; the sandbox is stopped and never recreated", () => {
    const p = pod({ restartPolicy: "Never" });
    const a = computePodActions(p, runtime([sandbox()], [exited("app", 143)]));
    assert.deepEqual(a.containersToStart, []);
    assert.equal(a.killPod, true);
    const after = computePodActions(p, runtime([sandbox({ ready: false })], [exited("app", 143)]));
    assert.equal(after.createSandbox, false);
  });
  it("multi-container: keeps the running one, restarts the exited one", () => {
    const p = pod({ containers: [{ name: "a" }, { name: "b" }] });
    const a = computePodActions(p, runtime([sandbox()], [ctr("a"), exited("b", 1)]));
    assert.deepEqual(a.containersToStart, ["b"]);
    assert.equal(a.killPod, false);
    assert.deepEqual(a.containersToKill, []);
  });
  it("a dead sandbox is recreated (SandboxChanged) and its containers started again", () => {
    const a = computePodActions(pod(), runtime([sandbox({ ready: false })], [exited("app", 137)]));
    assert.equal(a.killPod, true);
    assert.equal(a.createSandbox, true);
    assert.equal(a.attempt, 1);
    assert.deepEqual(a.containersToStart, ["app"]);
  });
  it("OnFailure with a dead sandbox: succeeded containers are not started again", () => {
    const p = pod({ restartPolicy: "OnFailure", containers: [{ name: "a" }, { name: "b" }] });
    const a = computePodActions(p, runtime([sandbox({ ready: false })], [exited("a", 0), exited("b", 1)]));
    assert.deepEqual(a.containersToStart, ["b"]);
  });
  it("liveness failure: kill with the kubelet's message and restart per policy", () => {
    const rt = runtime([sandbox()], [ctr("app")]);
    const a = computePodActions(pod(), rt, { livenessFailed: new Map([["app-0", "liveness"]]) });
    assert.deepEqual(a.containersToKill, [
      { id: "app-0", name: "app", message: "Container app failed liveness probe, will be restarted" },
    ]);
    assert.deepEqual(a.containersToStart, ["app"]);
    const never = computePodActions(pod({ restartPolicy: "Never" }), rt, {
      livenessFailed: new Map([["app-0", "liveness"]]),
    });
    assert.equal(never.containersToKill[0].message, "Container app failed liveness probe");
    assert.deepEqual(never.containersToStart, []);
    assert.equal(never.killPod, true);
  });
  it("startup probe failure: the Killing message names the startup probe", () => {
    const rt = runtime([sandbox()], [ctr("app")]);
    const a = computePodActions(pod(), rt, { livenessFailed: new Map([["app-0", "startup"]]) });
    assert.deepEqual(a.containersToKill, [
      { id: "app-0", name: "app", message: "Container app failed startup probe, will be restarted" },
    ]);
    assert.deepEqual(a.containersToStart, ["app"]);
  });
  it("a changed container definition replaces the running container", () => {
    const rt = runtime([sandbox()], [ctr("app", { hash: "old" })]);
    const a = computePodActions(pod(), rt, { hashes: new Map([["app", "new"]]) });
    assert.equal(a.containersToKill[0].message, "Container app definition changed, will be restarted");
    assert.deepEqual(a.containersToStart, ["app"]);
  });
  it("init container failure: retried under OnFailure/Always, pod killed under Never", () => {
    const spec = { initContainers: [{ name: "i1" }] };
    const rt = runtime([sandbox()], [exited("i1", 1)]);
    assert.equal(computePodActions(pod({ ...spec, restartPolicy: "Always" }), rt).nextInitContainer, "i1");
    const never = computePodActions(pod({ ...spec, restartPolicy: "Never" }), rt);
    assert.equal(never.killPod, true);
    assert.equal(never.nextInitContainer, undefined);
  });
  it("app containers start only after every init container succeeded", () => {
    const spec = { initContainers: [{ name: "i1" }, { name: "i2" }] };
    assert.equal(
      computePodActions(pod(spec), runtime([sandbox()], [exited("i1", 0)])).nextInitContainer,
      "i2",
    );
    const a = computePodActions(pod(spec), runtime([sandbox()], [exited("i1", 0), exited("i2", 0)]));
    assert.deepEqual(a.containersToStart, ["app"]);
  });
  it("a deleted pod starts nothing", () => {
    const a = computePodActions(
      pod({}, { deletionTimestamp: "x" }),
      runtime([sandbox()], [exited("app", 1)]),
    );
    assert.equal(a.killPod, true);
    assert.equal(a.createSandbox, false);
    assert.deepEqual(a.containersToStart, []);
  });
  it("a container in unknown state is killed before it is started again", () => {
    const a = computePodActions(pod(), runtime([sandbox()], [ctr("app", { state: "unknown" })]));
    assert.deepEqual(a.containersToStart, ["app"]);
    assert.equal(a.containersToKill[0].id, "app-0");
  });
});
