import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../../kube/objects.ts";
import { podPrinter } from "./pods.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const ago = (minutes: number) => formatTime(NOW - minutes * 60_000);

function pod(spec: any, status: any, meta: Partial<KubeObject["metadata"]> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", creationTimestamp: ago(60), ...meta },
    spec: { containers: [{ name: "app", image: "nginx" }], ...spec },
    status,
  };
}

const running = { running: { startedAt: ago(59) } };
const readyCondition = (status: "True" | "False") => ({ type: "Ready", status });

/** READY, STATUS, RESTARTS of a pod's row. */
const summary = (p: KubeObject) => podPrinter.cells(p, NOW).slice(1, 4);

test("a running pod prints like the recorded real-server row, wide cells included", () => {
  const p = pod(
    { nodeName: "sandbox-node" },
    {
      phase: "Running",
      podIP: "10.244.0.11",
      podIPs: [{ ip: "10.244.0.11" }],
      conditions: [readyCondition("True")],
      containerStatuses: [{ name: "app", ready: true, restartCount: 0, state: running }],
    },
    { name: "x", creationTimestamp: ago(5) },
  );
  assert.deepEqual(podPrinter.cells(p, NOW), [
    "x",
    "1/1",
    "Running",
    "0",
    "5m",
    "10.244.0.11",
    "sandbox-node",
    "<none>",
    "<none>",
  ]);
});

test("a Deployment pod in CrashLoopBackOff shows its restarts and when the last one was", () => {
  const p = pod(
    {},
    {
      phase: "Running",
      conditions: [readyCondition("False")],
      containerStatuses: [
        {
          name: "app",
          ready: false,
          restartCount: 3,
          state: {
            waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" },
          },
          lastState: { terminated: { exitCode: 1, reason: "Error", finishedAt: ago(5) } },
        },
      ],
    },
    { name: "web-7d4b9c8f5-x2x9q" },
  );
  assert.deepEqual(summary(p), ["0/1", "CrashLoopBackOff", "3 (5m ago)"]);
});

test("restarts without a recorded termination time print as a bare count", () => {
  const p = pod(
    {},
    { phase: "Running", containerStatuses: [{ name: "app", ready: true, restartCount: 2, state: running }] },
  );
  assert.deepEqual(summary(p), ["1/1", "Running", "2"]);
  // A recorded termination with no restart counted is still just "0".
  const recreated = pod(
    {},
    {
      phase: "Running",
      containerStatuses: [
        {
          name: "app",
          ready: true,
          restartCount: 0,
          state: running,
          lastState: { terminated: { finishedAt: ago(3) } },
        },
      ],
    },
  );
  assert.deepEqual(summary(recreated), ["1/1", "Running", "0"]);
});

test("the most recent termination across containers dates the restarts", () => {
  const p = pod(
    { containers: [{ name: "a" }, { name: "b" }] },
    {
      phase: "Running",
      conditions: [readyCondition("True")],
      containerStatuses: [
        {
          name: "a",
          ready: true,
          restartCount: 1,
          state: running,
          lastState: { terminated: { finishedAt: ago(200) } },
        },
        {
          name: "b",
          ready: true,
          restartCount: 2,
          state: running,
          lastState: { terminated: { finishedAt: ago(2) } },
        },
      ],
    },
  );
  assert.deepEqual(summary(p), ["2/2", "Running", "3 (2m ago)"]);
});

test("a finished Job pod shows Completed and its row is marked completed", () => {
  const p = pod(
    { restartPolicy: "Never" },
    {
      phase: "Succeeded",
      conditions: [readyCondition("False")],
      containerStatuses: [
        {
          name: "app",
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 0, reason: "Completed" } },
        },
      ],
    },
  );
  assert.deepEqual(summary(p), ["0/1", "Completed", "0"]);
  assert.deepEqual(podPrinter.conditions?.(p), [
    {
      type: "Completed",
      status: "True",
      reason: "Succeeded",
      message: "The pod has completed successfully.",
    },
  ]);
  assert.equal(podPrinter.conditions?.(pod({}, { phase: "Running" })), undefined);
});

test("a failed container without a reason shows its signal or exit code", () => {
  const withState = (terminated: any) =>
    pod({}, { phase: "Failed", containerStatuses: [{ name: "app", state: { terminated } }] });
  assert.equal(summary(withState({ exitCode: 137, signal: 9 }))[1], "Signal:9");
  assert.equal(summary(withState({ exitCode: 3 }))[1], "ExitCode:3");
  assert.equal(summary(withState({ exitCode: 137, reason: "OOMKilled" }))[1], "OOMKilled");
});

test("waiting reasons replace the phase while containers start", () => {
  const waiting = (reason: string) =>
    pod(
      {},
      {
        phase: "Pending",
        containerStatuses: [{ name: "app", ready: false, state: { waiting: { reason } } }],
      },
    );
  assert.deepEqual(summary(waiting("ContainerCreating")), ["0/1", "ContainerCreating", "0"]);
  assert.equal(summary(waiting("ErrImagePull"))[1], "ErrImagePull");
  assert.equal(summary(waiting("ImagePullBackOff"))[1], "ImagePullBackOff");
  // Before the kubelet reports anything the phase is all there is.
  assert.deepEqual(summary(pod({}, { phase: "Pending" })), ["0/1", "Pending", "0"]);
});

test("with several containers the first one's reason wins", () => {
  const p = pod(
    { containers: [{ name: "a" }, { name: "b" }] },
    {
      phase: "Pending",
      containerStatuses: [
        { name: "a", state: { waiting: { reason: "ImagePullBackOff" } } },
        { name: "b", state: { waiting: { reason: "ContainerCreating" } } },
      ],
    },
  );
  assert.equal(summary(p)[1], "ImagePullBackOff");
});

test("a pod with one finished and one running container is Running, or NotReady when the pod is not Ready", () => {
  const p = (ready: "True" | "False") =>
    pod(
      { containers: [{ name: "job" }, { name: "proxy" }] },
      {
        phase: "Running",
        conditions: [readyCondition(ready)],
        containerStatuses: [
          { name: "job", ready: false, state: { terminated: { exitCode: 0, reason: "Completed" } } },
          { name: "proxy", ready: true, state: running },
        ],
      },
    );
  assert.deepEqual(summary(p("True")), ["1/2", "Running", "0"]);
  assert.deepEqual(summary(p("False")), ["1/2", "NotReady", "0"]);
});

test("a running container that is not ready is not counted ready but the pod stays Running", () => {
  const p = pod(
    {},
    {
      phase: "Running",
      conditions: [readyCondition("False")],
      containerStatuses: [{ name: "app", ready: false, state: running }],
    },
  );
  assert.deepEqual(summary(p), ["0/1", "Running", "0"]);
});

test("status.reason overrides the phase (an evicted pod)", () => {
  const p = pod({}, { phase: "Failed", reason: "Evicted", message: "The node was low on resource: memory." });
  assert.equal(summary(p)[1], "Evicted");
});

test("a pod held by scheduling gates says SchedulingGated", () => {
  const p = pod(
    { schedulingGates: [{ name: "example.com/quota" }] },
    { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "SchedulingGated" }] },
  );
  assert.equal(summary(p)[1], "SchedulingGated");
});

test("a pod being deleted shows Terminating, unless it already finished or its node was lost", () => {
  const deleting = { deletionTimestamp: ago(0) };
  const runningPod = pod(
    {},
    { phase: "Running", containerStatuses: [{ name: "app", ready: true, state: running }] },
    deleting,
  );
  assert.equal(summary(runningPod)[1], "Terminating");
  const done = pod(
    {},
    {
      phase: "Succeeded",
      containerStatuses: [{ name: "app", state: { terminated: { exitCode: 0, reason: "Completed" } } }],
    },
    deleting,
  );
  assert.equal(summary(done)[1], "Completed");
  const lost = pod({}, { phase: "Running", reason: "NodeLost" }, deleting);
  assert.equal(summary(lost)[1], "Unknown");
});

const twoInits = { initContainers: [{ name: "migrate" }, { name: "seed" }] };

test("init containers report progress as Init:n/m", () => {
  const pending = pod(twoInits, {
    phase: "Pending",
    initContainerStatuses: [
      { name: "migrate", state: { waiting: { reason: "PodInitializing" } } },
      { name: "seed", state: { waiting: { reason: "PodInitializing" } } },
    ],
    containerStatuses: [{ name: "app", state: { waiting: { reason: "PodInitializing" } } }],
  });
  assert.deepEqual(summary(pending), ["0/1", "Init:0/2", "0"]);
  const second = pod(twoInits, {
    phase: "Pending",
    initContainerStatuses: [
      { name: "migrate", state: { terminated: { exitCode: 0, reason: "Completed" } } },
      { name: "seed", state: running },
    ],
  });
  assert.equal(summary(second)[1], "Init:1/2");
});

test("a failing init container shows Init:<reason> and its restarts count", () => {
  const p = pod(twoInits, {
    phase: "Pending",
    initContainerStatuses: [
      {
        name: "migrate",
        restartCount: 2,
        state: { terminated: { exitCode: 1, reason: "Error" } },
        lastState: { terminated: { exitCode: 1, reason: "Error", finishedAt: ago(1) } },
      },
      { name: "seed", state: { waiting: { reason: "PodInitializing" } } },
    ],
    containerStatuses: [{ name: "app", state: { waiting: { reason: "PodInitializing" } } }],
  });
  assert.deepEqual(summary(p), ["0/1", "Init:Error", "2 (60s ago)"]);
});

test("init container failures without a reason, and init crash loops", () => {
  const init = (state: any) =>
    pod(twoInits, { phase: "Pending", initContainerStatuses: [{ name: "migrate", state }] });
  assert.equal(summary(init({ terminated: { exitCode: 2 } }))[1], "Init:ExitCode:2");
  assert.equal(summary(init({ terminated: { exitCode: 143, signal: 15 } }))[1], "Init:Signal:15");
  assert.equal(summary(init({ waiting: { reason: "CrashLoopBackOff" } }))[1], "Init:CrashLoopBackOff");
});

test("a started sidecar (restartable init container) counts as a container", () => {
  const p = pod(
    { initContainers: [{ name: "mesh", restartPolicy: "Always" }, { name: "setup" }] },
    {
      phase: "Running",
      conditions: [{ type: "Initialized", status: "True" }, readyCondition("True")],
      initContainerStatuses: [
        {
          name: "mesh",
          started: true,
          ready: true,
          restartCount: 1,
          state: running,
          lastState: { terminated: { finishedAt: ago(30) } },
        },
        { name: "setup", restartCount: 4, state: { terminated: { exitCode: 0, reason: "Completed" } } },
      ],
      containerStatuses: [{ name: "app", ready: true, state: running }],
    },
  );
  // Only the sidecar's restarts survive initialisation; the finished init container's do not.
  assert.deepEqual(summary(p), ["2/2", "Running", "1 (30m ago)"]);
});

test("wide cells: pod IP from podIPs or podIP, nominated node, readiness gates", () => {
  const p = pod(
    { readinessGates: [{ conditionType: "example.com/lb" }, { conditionType: "example.com/dns" }] },
    {
      phase: "Pending",
      podIP: "10.1.0.7",
      nominatedNodeName: "node-b",
      conditions: [
        { type: "example.com/lb", status: "True" },
        { type: "example.com/dns", status: "False" },
      ],
    },
  );
  assert.deepEqual(podPrinter.cells(p, NOW).slice(5), ["10.1.0.7", "<none>", "node-b", "1/2"]);
});
