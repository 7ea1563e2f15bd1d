import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computePodStatus, qosClass, statusChanged } from "./status.ts";
import { ctr, pod, runtime, sandbox } from "./testing.ts";

const NOW = Date.parse("2025-01-01T00:10:00Z");
const inputs = { nodeIp: "10.254.0.11", now: NOW };
const cond = (s: any, type: string) => s.conditions.find((c: any) => c.type === type);

describe("computePodStatus", () => {
  it("a new pod is Pending with ContainerCreating and no IP", () => {
    const s = computePodStatus(pod(), undefined, inputs);
    assert.equal(s.phase, "Pending");
    assert.deepEqual(s.containerStatuses[0].state, { waiting: { reason: "ContainerCreating" } });
    assert.equal(s.podIP, undefined);
    assert.equal(s.hostIP, "10.254.0.11");
    assert.equal(cond(s, "PodReadyToStartContainers").status, "False");
    assert.equal(s.qosClass, "BestEffort");
  });
  it("a running container: Running, Ready, pod IP, containerd:// ID", () => {
    const s = computePodStatus(pod(), runtime([sandbox()], [ctr("app", { startedAt: NOW - 5000 })]), inputs);
    assert.equal(s.phase, "Running");
    assert.equal(s.podIP, "10.244.1.2");
    assert.deepEqual(s.podIPs, [{ ip: "10.244.1.2" }]);
    const c = s.containerStatuses[0];
    assert.equal(c.containerID, "containerd://app-0");
    assert.equal(c.ready, true);
    assert.equal(c.started, true);
    assert.equal(c.image, "busybox");
    assert.equal(c.state.running.startedAt, "2025-01-01T00:09:55Z");
    for (const t of ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready", "PodScheduled"])
      assert.equal(cond(s, t).status, "True", t);
  });
  it("readiness comes from the probes", () => {
    const s = computePodStatus(pod(), runtime([sandbox()], [ctr("app")]), {
      ...inputs,
      isReady: () => false,
    });
    assert.equal(s.containerStatuses[0].ready, false);
    assert.equal(cond(s, "Ready").status, "False");
    assert.equal(cond(s, "Ready").reason, "ContainersNotReady");
    assert.equal(cond(s, "Ready").message, "containers with unready status: [app]");
    assert.equal(s.phase, "Running");
  });
  it("after a restart: restartCount and lastState.terminated from the previous instance", () => {
    const prev = ctr("app", { state: "exited", exitCode: 143, finishedAt: NOW - 2000 });
    const cur = ctr("app", { attempt: 1, startedAt: NOW - 1000 });
    const s = computePodStatus(pod(), runtime([sandbox()], [prev, cur]), inputs);
    const c = s.containerStatuses[0];
    assert.equal(c.restartCount, 1);
    assert.equal(c.containerID, "containerd://app-1");
    assert.equal(c.lastState.terminated.exitCode, 143);
    assert.equal(c.lastState.terminated.reason, "Error");
    assert.equal(c.lastState.terminated.containerID, "containerd://app-0");
  });
  it("CrashLoopBackOff: waiting with the back-off message, lastState the exit", () => {
    const dead = ctr("app", {
      state: "exited",
      exitCode: 0,
      attempt: 2,
      reason: "Completed",
      finishedAt: NOW,
    });
    const reasons = new Map([
      [
        "app",
        {
          reason: "CrashLoopBackOff",
          message: "back-off 20s restarting failed container=app pod=p_default(u1)",
        },
      ],
    ]);
    const s = computePodStatus(pod(), runtime([sandbox()], [dead]), { ...inputs, reasons });
    const c = s.containerStatuses[0];
    assert.equal(c.state.waiting.reason, "CrashLoopBackOff");
    assert.match(c.state.waiting.message, /^back-off 20s/);
    assert.equal(c.lastState.terminated.reason, "Completed");
    assert.equal(c.restartCount, 2);
    assert.equal(s.phase, "Running");
  });
  it("a just-exited container under Always shows terminated (kubectl: Completed/Error)", () => {
    const dead = ctr("app", { state: "exited", exitCode: 1, finishedAt: NOW });
    const s = computePodStatus(pod(), runtime([sandbox()], [dead]), inputs);
    assert.equal(s.containerStatuses[0].state.terminated.reason, "Error");
    assert.equal(s.phase, "Running");
  });
  it("Never + failure: Failed; Never/OnFailure + success: Succeeded (PodCompleted)", () => {
    const fail = runtime(
      [sandbox({ ready: false })],
      [ctr("app", { state: "exited", exitCode: 143, finishedAt: NOW })],
    );
    assert.equal(computePodStatus(pod({ restartPolicy: "Never" }), fail, inputs).phase, "Failed");
    const ok = runtime(
      [sandbox({ ready: false })],
      [ctr("app", { state: "exited", exitCode: 0, finishedAt: NOW })],
    );
    for (const policy of ["Never", "OnFailure"]) {
      const s = computePodStatus(pod({ restartPolicy: policy }), ok, inputs);
      assert.equal(s.phase, "Succeeded");
      assert.equal(cond(s, "Ready").reason, "PodCompleted");
    }
    // OnFailure with a failure keeps Running (it will be restarted).
    assert.equal(computePodStatus(pod({ restartPolicy: "OnFailure" }), fail, inputs).phase, "Running");
  });
  it("a finished pod keeps its phase and its IP after the sandbox stopped", () => {
    const p = pod({ restartPolicy: "Never" });
    p.status = { phase: "Succeeded", podIP: "10.244.1.9", podIPs: [{ ip: "10.244.1.9" }] };
    const s = computePodStatus(p, runtime([sandbox({ ready: false, ips: [] })], [ctr("app")]), inputs);
    assert.equal(s.phase, "Succeeded");
    assert.equal(s.podIP, "10.244.1.9");
  });
  it("init containers: Pending, PodInitializing, Initialized False with the incomplete list", () => {
    const p = pod({
      initContainers: [
        { name: "i1", image: "busybox" },
        { name: "i2", image: "busybox" },
      ],
    });
    const s = computePodStatus(
      p,
      runtime([sandbox()], [ctr("i1", { state: "exited", exitCode: 0, finishedAt: NOW })]),
      inputs,
    );
    assert.equal(s.phase, "Pending");
    assert.equal(s.initContainerStatuses[0].state.terminated.reason, "Completed");
    assert.equal(s.initContainerStatuses[0].ready, true);
    assert.equal(s.initContainerStatuses[1].state.waiting.reason, "PodInitializing");
    assert.equal(s.containerStatuses[0].state.waiting.reason, "PodInitializing");
    assert.equal(cond(s, "Initialized").status, "False");
    assert.equal(cond(s, "Initialized").message, "containers with incomplete status: [i2]");
  });
  it("init failure under Never fails the pod", () => {
    const p = pod({ restartPolicy: "Never", initContainers: [{ name: "i1", image: "busybox" }] });
    const s = computePodStatus(
      p,
      runtime([sandbox()], [ctr("i1", { state: "exited", exitCode: 1, finishedAt: NOW })]),
      inputs,
    );
    assert.equal(s.phase, "Failed");
  });
  it("image errors show as waiting reasons", () => {
    const reasons = new Map([["app", { reason: "ErrImagePull", message: 'failed to pull image "foo": no' }]]);
    const s = computePodStatus(pod(), runtime([sandbox()], []), { ...inputs, reasons });
    assert.deepEqual(s.containerStatuses[0].state.waiting, {
      reason: "ErrImagePull",
      message: 'failed to pull image "foo": no',
    });
    assert.equal(s.phase, "Pending");
  });
  it("lastTransitionTime only changes on transitions; PodScheduled is kept", () => {
    const p = pod();
    p.status = {
      conditions: [
        { type: "Ready", status: "True", lastTransitionTime: "2020-01-01T00:00:00Z" },
        { type: "PodScheduled", status: "True", lastTransitionTime: "2019-01-01T00:00:00Z" },
      ],
    };
    const s = computePodStatus(p, runtime([sandbox()], [ctr("app")]), inputs);
    assert.equal(cond(s, "Ready").lastTransitionTime, "2020-01-01T00:00:00Z");
    assert.equal(cond(s, "PodScheduled").lastTransitionTime, "2019-01-01T00:00:00Z");
    assert.equal(cond(s, "ContainersReady").lastTransitionTime, "2025-01-01T00:10:00Z");
    const s2 = computePodStatus(p, runtime([sandbox()], [ctr("app")]), { ...inputs, isReady: () => false });
    assert.equal(cond(s2, "Ready").lastTransitionTime, "2025-01-01T00:10:00Z");
  });
  it("hostNetwork pods report the node IP", () => {
    const s = computePodStatus(
      pod({ hostNetwork: true }),
      runtime([sandbox({ ips: [], hostNetwork: true })], [ctr("app")]),
      inputs,
    );
    assert.equal(s.podIP, "10.254.0.11");
  });
  it("statusChanged ignores key order and empty values only", () => {
    assert.equal(statusChanged({ a: 1, b: {} }, { a: 1 }), false);
    assert.equal(statusChanged({ a: 1 }, { a: 2 }), true);
  });
});

describe("qosClass", () => {
  it("BestEffort, Burstable, Guaranteed", () => {
    assert.equal(qosClass(pod()), "BestEffort");
    assert.equal(
      qosClass(pod({ containers: [{ name: "a", resources: { requests: { memory: "64Mi" } } }] })),
      "Burstable",
    );
    const g = { limits: { cpu: "1", memory: "1Gi" } };
    assert.equal(qosClass(pod({ containers: [{ name: "a", resources: g }] })), "Guaranteed");
  });
});
