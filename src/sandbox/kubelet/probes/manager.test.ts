import assert from "node:assert/strict";
import { test } from "node:test";
import type { RuntimeService } from "../../../cri/types.ts";
import { FakeClock } from "../../../kube/fake-clock.ts";
import type { KubeObject } from "../../../kube/objects.ts";
import { ProbeManager } from "./manager.ts";
import { closedPort, execResult, fakeRuntime, httpServer, tcpServer } from "./testing.ts";

const UID = "uid-1";
const POD_IP = "127.0.0.1"; // the local servers stand in for the pod

function pod(containers: any[], meta: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name: "hello-world-1", namespace: "default", uid: UID, ...meta },
    spec: { containers },
  };
}

/** A manager on a fake clock that records every callback. */
function harness(t: { after: (fn: () => unknown) => void }, runtime?: RuntimeService, random?: () => number) {
  const clock = new FakeClock();
  const events: string[] = [];
  const warnings: string[] = [];
  const restarts: string[] = [];
  const containers = new Set<string>();
  let statusChanges = 0;
  const mgr = new ProbeManager({
    runtime: runtime ?? fakeRuntime(async () => execResult(0)).runtime,
    clock,
    random,
    recorder: (uid, type, reason, message, containerName) => {
      assert.equal(uid, UID);
      assert.equal(typeof containerName, "string");
      containers.add(containerName);
      assert.equal(type, "Warning");
      assert.equal(reason, "Unhealthy");
      events.push(message);
    },
    warningRecorder: (_uid, _type, _reason, message) => warnings.push(message),
    onLivenessFailure: (uid, name, id, probe) => restarts.push(`${uid}/${name}/${id}/${probe}`),
    onStatusChange: () => {
      statusChanges++;
    },
  });
  t.after(() => mgr.stop());
  /** Moves the fake clock and lets the probes it started finish their real I/O. */
  const step = async (ms: number) => {
    await clock.advance(ms);
    await mgr.idle();
  };
  return { clock, mgr, events, warnings, restarts, containers, step, statusChanges: () => statusChanges };
}

test("seed 004: probes pointing at 8081 fail liveness (tcp) and readiness (http) with the kubelet's messages", async (t) => {
  const port = await closedPort(); // "8081": nothing listens there
  const h = harness(t);
  const container = {
    name: "hello-world",
    ports: [{ containerPort: 8080 }],
    livenessProbe: { tcpSocket: { port }, initialDelaySeconds: 10, periodSeconds: 5 },
    readinessProbe: { httpGet: { path: "/", port }, initialDelaySeconds: 10, periodSeconds: 5 },
  };
  h.mgr.updatePod(pod([container]), POD_IP, [
    { name: "hello-world", containerId: "c1", startedAtMs: h.clock.now() },
  ]);
  assert.equal(h.mgr.isReady(UID, "hello-world"), false, "readiness starts false");
  assert.equal(h.mgr.isStarted(UID, "hello-world"), true);

  await h.step(9_999);
  assert.deepEqual(h.events, [], "nothing before initialDelaySeconds");
  await h.step(1);
  const liveness = `Liveness probe failed: dial tcp 127.0.0.1:${port}: connect: connection refused`;
  const readiness = `Readiness probe failed: Get "http://127.0.0.1:${port}/": dial tcp 127.0.0.1:${port}: connect: connection refused`;
  assert.deepEqual(h.events.sort(), [liveness, readiness]);
  assert.deepEqual([...h.containers], ["hello-world"], "events name the container");
  await h.step(5_000);
  assert.deepEqual(h.restarts, [], "two failures are below the threshold");
  await h.step(5_000);
  assert.deepEqual(h.restarts, [`${UID}/hello-world/c1/liveness`], "third failure: restart");
  assert.equal(h.events.filter((e) => e === liveness).length, 3, "one event per failed probe");
  for (let i = 0; i < 4; i++) await h.step(5_000);
  assert.equal(h.restarts.length, 1, "liveness failure reported once per container id");
  assert.equal(h.events.filter((e) => e === liveness).length, 3, "no probing after the liveness verdict");
  assert.equal(h.events.filter((e) => e === readiness).length, 7, "readiness keeps probing");
  assert.equal(h.mgr.isReady(UID, "hello-world"), false);
  assert.equal(h.statusChanges(), 0, "readiness never flipped");

  // The kubelet restarts the container: a new id starts over, with its own initial delay.
  h.mgr.updatePod(pod([container]), POD_IP, [
    { name: "hello-world", containerId: "c2", startedAtMs: h.clock.now() },
  ]);
  const before = h.events.length;
  await h.step(5_000);
  assert.equal(h.events.length, before, "the new container waits its initial delay");
  await h.step(5_000);
  assert.equal(h.events.length, before + 2);
});

test("fixed probes (pointing at the serving port) make the container ready and keep it alive", async (t) => {
  const srv = await httpServer((_req, res) => res.end("Hello, world!"));
  t.after(srv.close);
  const h = harness(t);
  const container = {
    name: "hello-world",
    ports: [{ name: "http", containerPort: srv.port }],
    livenessProbe: { tcpSocket: { port: "http" }, initialDelaySeconds: 10, periodSeconds: 5 },
    readinessProbe: { httpGet: { path: "/", port: "http" }, initialDelaySeconds: 10, periodSeconds: 5 },
  };
  h.mgr.updatePod(pod([container]), POD_IP, [
    { name: "hello-world", containerId: "c1", startedAtMs: h.clock.now() },
  ]);
  await h.step(10_000);
  assert.equal(h.mgr.isReady(UID, "hello-world"), true);
  assert.equal(h.statusChanges(), 1);
  for (let i = 0; i < 5; i++) await h.step(5_000);
  assert.deepEqual(h.events, []);
  assert.deepEqual(h.restarts, []);
  assert.equal(h.statusChanges(), 1, "no flip while it stays ready");
  assert.equal(srv.hits(), 6, "one readiness GET per period (the liveness TCP connects send no request)");
});

test("readiness flips after successThreshold successes and failureThreshold failures, calling onStatusChange each time", async (t) => {
  let status = 500;
  const srv = await httpServer((_req, res) => {
    res.writeHead(status);
    res.end();
  });
  t.after(srv.close);
  const h = harness(t);
  const container = {
    name: "app",
    readinessProbe: {
      httpGet: { port: srv.port, path: "/ready" },
      periodSeconds: 1,
      successThreshold: 2,
      failureThreshold: 2,
    },
  };
  h.mgr.updatePod(pod([container]), POD_IP, [{ name: "app", containerId: "c1", startedAtMs: h.clock.now() }]);
  await h.step(0);
  assert.deepEqual(h.events, ["Readiness probe failed: HTTP probe failed with statuscode: 500"]);
  status = 200;
  await h.step(1000);
  assert.equal(h.mgr.isReady(UID, "app"), false, "one success is below successThreshold 2");
  await h.step(1000);
  assert.equal(h.mgr.isReady(UID, "app"), true);
  assert.equal(h.statusChanges(), 1);
  status = 503;
  await h.step(1000);
  assert.equal(h.mgr.isReady(UID, "app"), true, "one failure is below failureThreshold 2");
  await h.step(1000);
  assert.equal(h.mgr.isReady(UID, "app"), false);
  assert.equal(h.statusChanges(), 2);
  assert.deepEqual(h.restarts, [], "readiness never restarts");
  status = 302; // a redirect to nowhere: success with a ProbeWarning
  await h.step(1000);
  await h.step(1000);
  assert.equal(h.mgr.isReady(UID, "app"), true);
  assert.equal(h.statusChanges(), 3);
  assert.deepEqual(h.warnings, [
    "Readiness probe warning: Probe terminated redirects, Response body: ",
    "Readiness probe warning: Probe terminated redirects, Response body: ",
  ]);
});

test("startup gates liveness and readiness; its success triggers readiness at once", async (t) => {
  let startupOk = false;
  const { runtime, calls } = fakeRuntime(async (_id, cmd) => {
    if (cmd[0] === "startup") return startupOk ? execResult(0) : execResult(1, "", "not yet\n");
    return execResult(0);
  });
  const h = harness(t, runtime);
  const container = {
    name: "app",
    startupProbe: { exec: { command: ["startup"] }, periodSeconds: 2, failureThreshold: 30 },
    livenessProbe: { exec: { command: ["live"] }, periodSeconds: 3 },
    readinessProbe: { exec: { command: ["ready"] }, periodSeconds: 10 },
  };
  h.mgr.updatePod(pod([container]), POD_IP, [{ name: "app", containerId: "c1", startedAtMs: h.clock.now() }]);
  await h.step(0);
  for (let i = 0; i < 3; i++) await h.step(2000);
  assert.deepEqual(
    [...new Set(calls.map((c) => c.cmd[0]))],
    ["startup"],
    "liveness and readiness wait for the startup probe",
  );
  assert.equal(h.events.length, 4);
  assert.equal(h.events[0], "Startup probe failed: not yet\n");
  assert.equal(h.mgr.isStarted(UID, "app"), false);
  assert.equal(h.mgr.isReady(UID, "app"), false);

  startupOk = true;
  await h.step(2000);
  assert.equal(h.mgr.isStarted(UID, "app"), true);
  assert.equal(h.mgr.isReady(UID, "app"), true, "readiness ran right after startup succeeded");
  assert.equal(h.statusChanges(), 2, "started, then ready");
  const startupCalls = calls.filter((c) => c.cmd[0] === "startup").length;
  for (let i = 0; i < 6; i++) await h.step(1000);
  assert.equal(
    calls.filter((c) => c.cmd[0] === "startup").length,
    startupCalls,
    "startup stops once it succeeded",
  );
  assert.ok(
    calls.some((c) => c.cmd[0] === "live"),
    "liveness runs after startup",
  );
  assert.deepEqual(h.restarts, []);
});

test("a startup probe past its failureThreshold restarts the container", async (t) => {
  const { runtime } = fakeRuntime(async () => execResult(1, "booting"));
  const h = harness(t, runtime);
  const container = {
    name: "app",
    startupProbe: { exec: { command: ["check"] }, periodSeconds: 1, failureThreshold: 2 },
  };
  h.mgr.updatePod(pod([container]), POD_IP, [{ name: "app", containerId: "c9", startedAtMs: h.clock.now() }]);
  await h.step(0);
  await h.step(1000);
  await h.step(1000);
  assert.deepEqual(h.restarts, [`${UID}/app/c9/startup`]);
  assert.deepEqual(h.events, ["Startup probe failed: booting", "Startup probe failed: booting"]);
});

test("exec timeouts and runtime errors: failed vs errored (retried, not counted)", async (t) => {
  let mode: "hang" | "gone" = "gone";
  const { runtime, calls } = fakeRuntime((_id, _cmd) => {
    if (mode === "hang") return new Promise(() => {});
    return Promise.reject(new Error("container is gone"));
  });
  const h = harness(t, runtime);
  const container = {
    name: "app",
    livenessProbe: { exec: { command: ["sh", "-c", "sleep 5"] }, failureThreshold: 1 },
  };
  h.mgr.updatePod(pod([container]), POD_IP, [{ name: "app", containerId: "c1", startedAtMs: h.clock.now() }]);
  await h.step(0);
  assert.equal(calls.length, 3, "an erroring probe is tried three times");
  assert.deepEqual(h.events, ["Liveness probe errored and resulted in unknown state: container is gone"]);
  assert.deepEqual(h.restarts, [], "an errored probe is not a failure");

  mode = "hang";
  await h.clock.advance(10_000); // next period: the exec starts and hangs
  await h.step(3_000); // its timeout (1 s) plus the runtime's grace
  assert.deepEqual(h.events.at(-1), 'Liveness probe failed: command "sh -c sleep 5" timed out');
  assert.deepEqual(h.restarts, [`${UID}/app/c1/liveness`]);
});

test("an http server that never answers fails at timeoutSeconds", async (t) => {
  const srv = await httpServer(() => {});
  t.after(srv.close);
  const h = harness(t);
  const container = {
    name: "app",
    readinessProbe: { httpGet: { port: srv.port, path: "/healthz" }, timeoutSeconds: 2 },
  };
  h.mgr.updatePod(pod([container]), POD_IP, [{ name: "app", containerId: "c1", startedAtMs: h.clock.now() }]);
  await h.clock.advance(0);
  while (srv.hits() === 0) await new Promise((r) => setTimeout(r, 5));
  await h.clock.advance(1_999);
  assert.deepEqual(h.events, []);
  await h.step(1);
  assert.deepEqual(h.events, [
    `Readiness probe failed: Get "http://127.0.0.1:${srv.port}/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
  ]);
});

test("containers without probes are ready and started while running; unknown ones are neither", async (t) => {
  const h = harness(t);
  h.mgr.updatePod(pod([{ name: "plain" }]), POD_IP, [
    { name: "plain", containerId: "c1", startedAtMs: h.clock.now() },
  ]);
  assert.equal(h.mgr.isReady(UID, "plain"), true);
  assert.equal(h.mgr.isStarted(UID, "plain"), true);
  assert.equal(h.mgr.isReady(UID, "other"), false);
  assert.equal(h.mgr.isReady("nope", "plain"), false);
  h.mgr.updatePod(pod([{ name: "plain" }]), POD_IP, []);
  assert.equal(h.mgr.isReady(UID, "plain"), false, "not running any more");
  assert.equal(h.mgr.isStarted(UID, "plain"), false);
});

test("a new container id resets results; removed pods and stop() leave no timers", async (t) => {
  const srv = await tcpServer();
  t.after(srv.close);
  const h = harness(t);
  const container = { name: "app", readinessProbe: { tcpSocket: { port: srv.port } } };
  const p = pod([container]);
  h.mgr.updatePod(p, POD_IP, [{ name: "app", containerId: "c1", startedAtMs: h.clock.now() }]);
  await h.step(0);
  assert.equal(h.mgr.isReady(UID, "app"), true);
  h.mgr.updatePod(p, POD_IP, [{ name: "app", containerId: "c1", startedAtMs: h.clock.now() }]);
  assert.equal(h.mgr.isReady(UID, "app"), true, "the same container id keeps its result");
  h.mgr.updatePod(p, POD_IP, [{ name: "app", containerId: "c2", startedAtMs: h.clock.now() }]);
  assert.equal(h.mgr.isReady(UID, "app"), false, "a new instance starts unready");
  assert.equal(h.clock.pending(), 1, "only the new instance's worker is scheduled");
  h.mgr.removePod(UID);
  assert.equal(h.clock.pending(), 0);
  assert.equal(h.mgr.isReady(UID, "app"), false);

  h.mgr.updatePod(p, POD_IP, [{ name: "app", containerId: "c3", startedAtMs: h.clock.now() }]);
  assert.equal(h.clock.pending(), 1);
  h.mgr.stop();
  assert.equal(h.clock.pending(), 0);
  h.mgr.updatePod(p, POD_IP, [{ name: "app", containerId: "c4", startedAtMs: h.clock.now() }]);
  assert.equal(h.clock.pending(), 0, "a stopped manager starts nothing");
});

test("a pod being deleted stops liveness, so a failing probe cannot restart it", async (t) => {
  const { runtime, calls } = fakeRuntime(async () => execResult(1));
  const h = harness(t, runtime);
  const container = {
    name: "app",
    livenessProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 1 },
  };
  const running = [{ name: "app", containerId: "c1", startedAtMs: h.clock.now() + 5_000 }];
  h.mgr.updatePod(pod([container]), POD_IP, running);
  h.mgr.updatePod(pod([container], { deletionTimestamp: "2025-01-01T00:00:01Z" }), POD_IP, running);
  for (let i = 0; i < 10; i++) await h.step(1000);
  assert.equal(calls.length, 0);
  assert.deepEqual(h.restarts, []);
});

test("containers adopted after a kubelet restart get their first probe spread over a period", async (t) => {
  const srv = await tcpServer();
  t.after(srv.close);
  const h = harness(t, undefined, () => 0.5);
  const container = { name: "app", readinessProbe: { tcpSocket: { port: srv.port }, periodSeconds: 10 } };
  // Started an hour before this kubelet.
  h.mgr.updatePod(pod([container]), POD_IP, [
    { name: "app", containerId: "c1", startedAtMs: h.clock.now() - 3_600_000 },
  ]);
  await h.step(4_999);
  assert.equal(srv.hits(), 0);
  await h.step(1);
  assert.equal(srv.hits(), 1);
  assert.equal(h.mgr.isReady(UID, "app"), true);
});

test("bad input is rejected with a clear error", (t) => {
  const h = harness(t);
  assert.throws(() => h.mgr.updatePod({ metadata: { name: "x" } }, POD_IP, []), /has no metadata\.uid/);
  assert.throws(
    () => h.mgr.updatePod(pod([]), POD_IP, [{ name: "a", containerId: "c" } as any]),
    /bad running container .* \(want name, containerId, startedAtMs\)/,
  );
});

test("a throwing recorder is logged and the failures still count", async (t) => {
  const port = await closedPort();
  const clock = new FakeClock();
  const logged: string[] = [];
  const restarts: string[] = [];
  const mgr = new ProbeManager({
    runtime: fakeRuntime(async () => execResult(0)).runtime,
    clock,
    recorder: () => {
      throw new Error("event sink down");
    },
    onLivenessFailure: (_uid, name) => restarts.push(name),
    onStatusChange: () => {},
    logger: { error: (obj: any) => logged.push(obj.err.message) },
  });
  t.after(() => mgr.stop());
  const container = {
    name: "app",
    livenessProbe: { tcpSocket: { port }, periodSeconds: 1, failureThreshold: 2 },
  };
  mgr.updatePod(pod([container]), POD_IP, [{ name: "app", containerId: "c1", startedAtMs: clock.now() }]);
  for (const ms of [0, 1000]) {
    await clock.advance(ms);
    await mgr.idle();
  }
  assert.deepEqual(restarts, ["app"]);
  assert.deepEqual(logged, ["event sink down", "event sink down"]);
});
