import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { silentLogger } from "../../kube/log.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { Backoff } from "./backoff.ts";
import { FakeRuntime } from "./fake-runtime.ts";
import { Kubelet, type KubeletApi } from "./kubelet.ts";
import { ProbeManager } from "./probes/manager.ts";

interface Recorded {
  reason: string;
  message: string;
  type: string;
  fieldPath?: string;
}

class FakeApi implements KubeletApi {
  readonly statuses = new Map<string, any>();
  readonly deleted: string[] = [];
  readonly objects = new Map<string, KubeObject>();
  async writePodStatus(ns: string, name: string, _uid: string | undefined, status: any) {
    this.statuses.set(`${ns}/${name}`, structuredClone(status));
    return true;
  }
  async deletePod(ns: string, name: string, uid: string) {
    this.deleted.push(`${ns}/${name}/${uid}`);
  }
  async configMap(ns: string, name: string) {
    return this.objects.get(`cm/${ns}/${name}`);
  }
  async secret(ns: string, name: string) {
    return this.objects.get(`secret/${ns}/${name}`);
  }
}

const IMAGES: Record<string, string> = {
  busybox: "docker.io/library/busybox:latest",
  nginx: "docker.io/library/nginx:latest",
};

function mkPod(name: string, spec: Record<string, any> = {}, meta: Record<string, any> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}`, ...meta },
    spec: {
      nodeName: "node-1",
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      containers: [{ name: "app", image: "busybox", command: ["sleep", "3600"] }],
      ...spec,
    },
  };
}

async function until<T>(fn: () => T | undefined | false, what: string, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("Kubelet (fake CRI, fake API)", () => {
  let dir: string;
  let rt: FakeRuntime;
  let api: FakeApi;
  let events: Recorded[];
  let kubelet: Kubelet;
  const make = (extra: Partial<ConstructorParameters<typeof Kubelet>[0]> = {}) =>
    new Kubelet({
      nodeName: "node-1",
      nodeIp: "10.254.0.11",
      podsDir: join(dir, "pods"),
      podLogsDir: join(dir, "logs"),
      runtime: rt,
      images: rt,
      api,
      events: {
        event: (obj: any, type, reason, message) =>
          events.push({ type, reason, message, fieldPath: obj.fieldPath }),
      },
      resolveImage: (ref) => IMAGES[ref.split(":")[0]],
      availableImages: () => ["busybox", "nginx", "hello-app", "pause"],
      log: silentLogger,
      containerBackoff: new Backoff(300, 1_200),
      imageBackoff: new Backoff(300, 1_200),
      minGraceSeconds: 0,
      ...extra,
    });
  const status = (name: string) => api.statuses.get(`default/${name}`);
  const cstatus = (name: string) => status(name)?.containerStatuses?.[0];
  const settle = async () => {
    await kubelet.relist();
    await kubelet.workers.idle();
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "kubelet-test-"));
    rt = new FakeRuntime();
    api = new FakeApi();
    events = [];
    kubelet = make();
  });
  afterEach(async () => {
    await kubelet.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("with probes: a container without a readiness probe is ready in the first status that reports it running", async () => {
    await kubelet.stop();
    const probes = new ProbeManager({
      runtime: rt,
      recorder: () => {},
      onLivenessFailure: () => {},
      onStatusChange: (uid) => kubelet.workers.update(uid),
    });
    kubelet = make({ probes });
    const written: any[] = [];
    const write = api.writePodStatus.bind(api);
    api.writePodStatus = async (ns, name, uid, s) => {
      written.push(structuredClone(s));
      return write(ns, name, uid, s);
    };
    kubelet.upsertPod({ pod: mkPod("plain") });
    await until(() => status("plain")?.phase === "Running", "Running");
    const first = written.find((s) => s.containerStatuses?.[0]?.state?.running);
    assert.equal(first.containerStatuses[0].ready, true);
    assert.equal(first.conditions.find((c: any) => c.type === "Ready").status, "True");
    probes.removePod("uid-plain");
  });

  it("an exit containerd re-labels OOMKilled a moment later is re-read and the status follows", async () => {
    kubelet.upsertPod({ pod: mkPod("oom", { restartPolicy: "Never" }) });
    await until(() => status("oom")?.phase === "Running", "Running");
    const [c] = rt.running("app");
    rt.exitContainer(c.id, 137); // the exit is seen first, as "Error"...
    await settle();
    assert.equal(status("oom")?.phase, "Failed");
    assert.equal(cstatus("oom").state.terminated.reason, "Error");
    c.reason = "OOMKilled"; // ...then containerd handles the shim's TaskOOM event
    await settle();
    assert.equal(cstatus("oom").state.terminated.reason, "OOMKilled");
    assert.equal(cstatus("oom").state.terminated.exitCode, 137);
  });

  it("an exit containerd never re-labels is OOMKilled when the kernel logged an OOM kill in its cgroup", async () => {
    await kubelet.stop();
    const killed = new Set<string>();
    kubelet = make({ oomLog: { killedIn: (id) => killed.has(id) } });
    kubelet.upsertPod({ pod: mkPod("lost-oom", { restartPolicy: "Never" }) });
    await until(() => status("lost-oom")?.phase === "Running", "Running");
    const [c] = rt.running("app");
    killed.add(c.id); // the kernel's record comes before the process dies
    rt.exitContainer(c.id, 137); // containerd reports the exit, and never the OOM
    await settle();
    assert.equal(status("lost-oom")?.phase, "Failed");
    assert.equal(cstatus("lost-oom").state.terminated.reason, "OOMKilled");
    assert.equal(cstatus("lost-oom").state.terminated.exitCode, 137);
  });

  it("runs a busybox pod: sandbox, container, Running with a pod IP, events in order", async () => {
    kubelet.upsertPod({ pod: mkPod("busybox") });
    await until(() => status("busybox")?.phase === "Running", "Running");
    const s = status("busybox");
    assert.match(s.podIP, /^10\.244\.1\./);
    assert.equal(cstatus("busybox").ready, true);
    assert.equal(cstatus("busybox").restartCount, 0);
    assert.deepEqual(
      events.map((e) => e.reason),
      ["Pulled", "Created", "Started"],
    );
    assert.equal(events[0].message, 'Container image "busybox" already present on machine');
    assert.equal(events[1].message, "Created container app");
    assert.equal(events[1].fieldPath, "spec.containers{app}");
    const [sb] = rt.sandboxes.values();
    assert.equal(sb.config.logDirectory, join(dir, "logs", "default_busybox_uid-busybox"));
    const [c] = rt.containers.values();
    assert.deepEqual(c.config.command, ["sleep", "3600"]);
    assert.equal(c.config.logPath, "app/0.log");
  });

  it("Always: a killed container restarts at once, then backs off (CrashLoopBackOff) 300ms, 600ms", async () => {
    kubelet.upsertPod({ pod: mkPod("hello") });
    await until(() => status("hello")?.phase === "Running", "Running");
    rt.exitContainer(rt.running("app")[0].id, 143);
    await settle();
    await until(
      () => rt.running("app").length === 1 && cstatus("hello")?.restartCount === 1,
      "first restart",
    );
    assert.equal(cstatus("hello").lastState.terminated.exitCode, 143);
    assert.equal(cstatus("hello").lastState.terminated.reason, "Error");
    // Second exit: back-off.
    rt.exitContainer(rt.running("app")[0].id, 143);
    await settle();
    await until(() => cstatus("hello")?.state?.waiting?.reason === "CrashLoopBackOff", "CrashLoopBackOff");
    assert.equal(
      cstatus("hello").state.waiting.message,
      "back-off 0s restarting failed container=app pod=hello_default(uid-hello)",
    );
    const backoff = events.find((e) => e.reason === "BackOff");
    assert.equal(
      backoff?.message,
      "Back-off restarting failed container app in pod hello_default(uid-hello)",
    );
    assert.equal(backoff?.type, "Warning");
    assert.equal(rt.running("app").length, 0);
    await until(() => rt.running("app").length === 1, "restart after back-off", 3_000);
    await settle();
    await until(
      () => cstatus("hello")?.restartCount === 2 && cstatus("hello")?.state?.running,
      "restartCount 2",
    );
  });

  it("Never: a killed container stays dead; the pod is Failed and its sandbox stopped", async () => {
    kubelet.upsertPod({ pod: mkPod("never", { restartPolicy: "Never" }) });
    await until(() => status("never")?.phase === "Running", "Running");
    rt.exitContainer(rt.running("app")[0].id, 143);
    await settle();
    await until(() => status("never")?.phase === "Failed", "Failed");
    await settle();
    assert.equal(cstatus("never").state.terminated.exitCode, 143);
    assert.equal(cstatus("never").restartCount, 0);
    assert.ok(
      [...rt.sandboxes.values()].every((s) => s.state === 1),
      "sandbox stopped",
    );
    assert.equal(rt.calls.filter((c) => c.startsWith("startContainer")).length, 1);
  });

  it("OnFailure: a failure restarts, a success completes the pod", async () => {
    kubelet.upsertPod({ pod: mkPod("onf", { restartPolicy: "OnFailure" }) });
    await until(() => status("onf")?.phase === "Running", "Running");
    rt.exitContainer(rt.running("app")[0].id, 1);
    await settle();
    await until(() => rt.running("app").length === 1, "restarted after failure");
    rt.exitContainer(rt.running("app")[0].id, 0);
    await settle();
    await until(() => status("onf")?.phase === "Succeeded", "Succeeded");
    assert.equal(cstatus("onf").restartCount, 1);
  });

  it("an unknown image: ErrImagePull, then ImagePullBackOff, with the sandbox's clear message", async () => {
    kubelet.upsertPod({ pod: mkPod("bad", { containers: [{ name: "app", image: "foo" }] }) });
    await until(() => cstatus("bad")?.state?.waiting?.reason === "ErrImagePull", "ErrImagePull");
    assert.equal(
      cstatus("bad").state.waiting.message,
      'failed to pull image "foo": the sandbox has no registry; available images: busybox, nginx, hello-app, pause',
    );
    await until(() => cstatus("bad")?.state?.waiting?.reason === "ImagePullBackOff", "ImagePullBackOff");
    assert.equal(cstatus("bad").state.waiting.message, 'Back-off pulling image "foo"');
    const reasons = events.map((e) => `${e.reason}:${e.message}`);
    assert.ok(reasons.includes('Pulling:Pulling image "foo"'));
    assert.ok(reasons.includes("Failed:Error: ErrImagePull"));
    assert.ok(reasons.includes('BackOff:Back-off pulling image "foo"'));
    assert.equal(status("bad").phase, "Pending");
  });

  it("init containers run one by one before the app containers", async () => {
    const p = mkPod("init", {
      initContainers: [
        { name: "i1", image: "busybox" },
        { name: "i2", image: "busybox" },
      ],
    });
    kubelet.upsertPod({ pod: p });
    await until(() => rt.running("i1").length === 1, "i1 running");
    assert.equal(rt.byName("i2").length, 0);
    assert.equal(status("init").phase, "Pending");
    rt.exitContainer(rt.running("i1")[0].id, 0);
    await settle();
    await until(() => rt.running("i2").length === 1, "i2 running");
    assert.equal(rt.byName("app").length, 0);
    rt.exitContainer(rt.running("i2")[0].id, 0);
    await settle();
    await until(() => status("init")?.phase === "Running", "Running");
    assert.equal(status("init").conditions.find((c: any) => c.type === "Initialized").status, "True");
  });

  it("multi-container pods share one sandbox and the pod's emptyDir volume", async () => {
    const p = mkPod("multi", {
      volumes: [{ name: "shared", emptyDir: {} }],
      containers: [
        { name: "producer", image: "busybox", volumeMounts: [{ name: "shared", mountPath: "/out" }] },
        { name: "consumer", image: "nginx", volumeMounts: [{ name: "shared", mountPath: "/in" }] },
      ],
    });
    kubelet.upsertPod({ pod: p });
    await until(() => status("multi")?.phase === "Running", "Running");
    assert.equal(rt.sandboxes.size, 1);
    const [a, b] = [...rt.containers.values()];
    assert.equal(a.sandboxId, b.sandboxId);
    assert.equal(a.config.mounts?.[0].hostPath, join(dir, "pods", "uid-multi", "volumes", "shared"));
    assert.equal(a.config.mounts?.[0].hostPath, b.config.mounts?.[0].hostPath);
    assert.ok(existsSync(join(dir, "pods", "uid-multi", "volumes", "shared")));
  });

  it("configMap volumes are written; a missing configMap is FailedMount and nothing starts", async () => {
    const p = mkPod("cm", {
      volumes: [{ name: "cfg", configMap: { name: "settings" } }],
      containers: [{ name: "app", image: "busybox", volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg" }] }],
    });
    kubelet.upsertPod({ pod: p });
    await until(() => events.some((e) => e.reason === "FailedMount"), "FailedMount");
    assert.match(
      events.find((e) => e.reason === "FailedMount")!.message,
      /MountVolume.SetUp failed for volume "cfg" : configmap "settings" not found/,
    );
    assert.equal(rt.containers.size, 0);
    api.objects.set("cm/default/settings", {
      metadata: { name: "settings", namespace: "default" },
      data: { "a.conf": "x=1" },
    });
    kubelet.upsertPod({ pod: p });
    await until(() => status("cm")?.phase === "Running", "Running");
    assert.equal(readFileSync(join(dir, "pods", "uid-cm", "volumes", "cfg", "a.conf"), "utf8"), "x=1");
  });

  it("deletion waits for the sandbox's network to go: a failing StopPodSandbox is retried, the object deleted only after", async () => {
    kubelet.upsertPod({ pod: mkPod("netdel") });
    await until(() => status("netdel")?.phase === "Running", "Running");
    rt.failStopSandbox = "plugin type=raven-cni failed (delete): try again later";
    kubelet.upsertPod({
      pod: mkPod("netdel", {}, { deletionTimestamp: "2025-01-01T00:00:00Z", deletionGracePeriodSeconds: 1 }),
    });
    await until(() => rt.calls.filter((c) => c.startsWith("stopPodSandbox")).length >= 2, "retried");
    assert.deepEqual(api.deleted, [], "the pod stays in the API while its network is there");
    assert.equal(rt.sandboxes.size, 1);
    rt.failStopSandbox = undefined;
    await until(() => api.deleted.length === 1, "deleted once the sandbox is gone");
    assert.equal(rt.sandboxes.size, 0);
  });

  it("deletion: Killing events, stop with the grace period, sandbox removed, object deleted", async () => {
    kubelet.upsertPod({ pod: mkPod("del") });
    await until(() => status("del")?.phase === "Running", "Running");
    kubelet.upsertPod({
      pod: mkPod("del", {}, { deletionTimestamp: "2025-01-01T00:00:00Z", deletionGracePeriodSeconds: 7 }),
    });
    await until(() => api.deleted.length === 1, "deleted");
    assert.deepEqual(api.deleted, ["default/del/uid-del"]);
    assert.ok(rt.calls.includes("stopContainer:app:7"));
    assert.equal(rt.sandboxes.size, 0);
    assert.ok(!existsSync(join(dir, "pods", "uid-del")));
    assert.equal(events.find((e) => e.reason === "Killing")?.message, "Stopping container app");
    // The last status, written before the containers were removed, shows how they ended.
    assert.equal(cstatus("del").state.terminated?.exitCode, 137);
    assert.match(cstatus("del").containerID, /^containerd:\/\//);
  });

  it("deletion runs the preStop exec hook before stopping the container; a failing hook is an event", async () => {
    const lifecycle = { preStop: { exec: { command: ["sh", "-c", "nginx -s quit"] } } };
    const spec = { containers: [{ name: "app", image: "busybox", lifecycle }] };
    kubelet.upsertPod({ pod: mkPod("hook", spec) });
    await until(() => status("hook")?.phase === "Running", "Running");
    rt.execResult = { exitCode: 3, stdout: "", stderr: "no nginx" };
    kubelet.upsertPod({
      pod: mkPod("hook", spec, { deletionTimestamp: "2025-01-01T00:00:00Z", deletionGracePeriodSeconds: 9 }),
    });
    await until(() => api.deleted.length === 1, "deleted");
    const hook = rt.calls.indexOf("execSync:app:sh -c nginx -s quit:9");
    assert.ok(hook >= 0, rt.calls.join(" "));
    const stop = rt.calls.findIndex((c) => c.startsWith("stopContainer:app:"));
    assert.ok(stop > hook, "the hook ran before the stop");
    assert.equal(
      events.find((e) => e.reason === "FailedPreStopHook")?.message,
      `Exec lifecycle hook ([sh -c nginx -s quit]) for Container "app" in Pod "hook_default(uid-hook)" failed - error: command 'sh -c nginx -s quit' exited with 3: no nginx, message: "no nginx"`,
    );
  });

  it("a force-deleted pod (gone from the API) is still torn down", async () => {
    kubelet.upsertPod({ pod: mkPod("gone") });
    await until(() => status("gone")?.phase === "Running", "Running");
    kubelet.removePod("uid-gone", { forced: true });
    await until(() => rt.sandboxes.size === 0, "sandbox removed");
    assert.equal(api.deleted.length, 0);
    // Only the minimum grace (0 here), not the pod's 30 s: the object is gone already.
    assert.ok(rt.calls.includes("stopContainer:app:0"), rt.calls.join(" "));
  });

  it("a static pod whose manifest goes is stopped with its grace period", async () => {
    kubelet.upsertPod({ pod: mkPod("static-node-1"), static: true });
    await until(() => status("static-node-1")?.phase === "Running", "Running");
    kubelet.removePod("uid-static-node-1");
    await until(() => rt.sandboxes.size === 0, "sandbox removed");
    assert.ok(rt.calls.includes("stopContainer:app:30"), rt.calls.join(" "));
    assert.equal(api.deleted.length, 0);
  });

  it("a recreated mirror pod gets the static pod's status again, without a restart", async () => {
    kubelet.upsertPod({ pod: mkPod("web-node-1"), static: true });
    await until(() => status("web-node-1")?.phase === "Running", "Running");
    const id = rt.running("app")[0].id;
    // The mirror pod was deleted and created anew (empty status); nothing changed on the node.
    api.statuses.delete("default/web-node-1");
    kubelet.mirrorPodCreated("uid-web-node-1");
    await until(() => status("web-node-1")?.phase === "Running", "status written again");
    assert.equal(rt.running("app")[0].id, id);
    assert.equal(rt.calls.filter((c) => c.startsWith("startContainer")).length, 1);
  });

  it("a restarted kubelet adopts running containers without restarting them, and tears down orphans", async () => {
    kubelet.upsertPod({ pod: mkPod("keep") });
    kubelet.upsertPod({ pod: mkPod("orphan") });
    await until(
      () => status("keep")?.phase === "Running" && status("orphan")?.phase === "Running",
      "both Running",
    );
    await kubelet.stop();
    const starts = rt.calls.filter((c) => c.startsWith("startContainer")).length;
    kubelet = make();
    kubelet.upsertPod({ pod: { ...mkPod("keep"), status: status("keep") } });
    await kubelet.relist();
    kubelet.restoreBackoffs();
    kubelet.resyncAll();
    await kubelet.workers.idle();
    await until(() => [...rt.sandboxes.values()].length === 1, "orphan torn down");
    assert.equal(rt.calls.filter((c) => c.startsWith("startContainer")).length, starts);
    assert.equal(rt.running("app").length, 1);
    assert.equal(kubelet.find("default", "keep")?.containers[0].id, rt.running("app")[0].id);
  });

  it("a liveness failure kills the container (Killing event) and restarts it", async () => {
    kubelet.upsertPod({ pod: mkPod("live") });
    await until(() => status("live")?.phase === "Running", "Running");
    const id = rt.running("app")[0].id;
    kubelet.onLivenessFailure("uid-live", "app", id);
    await until(() => rt.running("app").length === 1 && rt.running("app")[0].id !== id, "restarted");
    assert.equal(
      events.find((e) => e.reason === "Killing")?.message,
      "Container app failed liveness probe, will be restarted",
    );
    await settle();
    await until(() => cstatus("live")?.restartCount === 1, "restartCount 1");
  });

  it("a startup probe failure restarts the container with the startup wording", async () => {
    kubelet.upsertPod({ pod: mkPod("slow") });
    await until(() => status("slow")?.phase === "Running", "Running");
    const id = rt.running("app")[0].id;
    kubelet.onLivenessFailure("uid-slow", "app", id, "startup");
    await until(
      () =>
        events.some((e) => e.reason === "Killing" && e.message.startsWith("Container app failed startup")),
      "Killing event",
    );
    assert.equal(
      events.find((e) => e.reason === "Killing" && /startup/.test(e.message))?.message,
      "Container app failed startup probe, will be restarted",
    );
    await until(() => cstatus("slow")?.restartCount === 1, "restartCount 1");
  });

  it("a failed sandbox is reported as FailedCreatePodSandBox and retried", async () => {
    rt.failSandbox = "cni failed";
    kubelet.upsertPod({ pod: mkPod("sbfail") });
    await until(() => events.some((e) => e.reason === "FailedCreatePodSandBox"), "event");
    assert.match(
      events.find((e) => e.reason === "FailedCreatePodSandBox")!.message,
      /^Failed to create pod sandbox: .*cni failed/,
    );
  });
});
