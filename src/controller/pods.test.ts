// The pod reconciler, one scenario per test: objects in, one sync, the recorded actions out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "../kube/fake-clock.ts";
import { SdnError } from "../sdn/backend.ts";
import { ControllerFixture } from "./testing.ts";

const portIp = (f: ControllerFixture, key: string) =>
  JSON.parse(f.pods.get(key)!.metadata.annotations!["raven.io/port"]).fixed_ips[0].ip_address;

test("a scheduled pod gets a port and both annotations in one patch, and no finalizer", async () => {
  const f = new ControllerFixture();
  f.pod("web-1");
  await f.podReconciler.sync("default/web-1");
  const { backend, api, events } = f.take();
  assert.deepEqual(backend, [
    "ensureNetwork default-net 192.168.0.0/24",
    "createPort default/web-1 192.168.0.2",
  ]);
  assert.equal(api.length, 1);
  const body = JSON.parse(api[0].replace(/^patch pods default\/web-1 strategic /, ""));
  assert.deepEqual(Object.keys(body.metadata).sort(), ["annotations", "uid"]);
  assert.deepEqual(Object.keys(body.metadata.annotations).sort(), ["raven.io/port", "raven.io/subnet"]);
  assert.deepEqual(events, []);
  await f.podReconciler.sync("default/web-1");
  assert.deepEqual(f.take(), { backend: [], api: [], events: [] }, "a second sync changes nothing");
});

test("a static IP request with leading zeros is refused with a Warning naming the annotation, and no port", async () => {
  const f = new ControllerFixture();
  f.pod("a");
  await f.podReconciler.sync("default/a");
  assert.equal(portIp(f, "default/a"), "192.168.0.2");
  f.take();
  f.pod("b", { metadata: { annotations: { "raven.io/ip": "192.168.0.002" } } });
  await f.podReconciler.sync("default/b");
  const { backend, api, events } = f.take();
  assert.deepEqual(backend, [], "no port for 192.168.0.002, so never a second 192.168.0.2");
  assert.deepEqual(api, []);
  assert.equal(events.length, 1);
  assert.match(
    events[0],
    /^Warning InvalidIPRequest default\/b: annotation raven\.io\/ip: .*leading zeros.*write 192\.168\.0\.2/,
  );
});

test("a static IP request in a canonicalizable form (blanks, IPv4-mapped) gets the canonical address", async () => {
  const f = new ControllerFixture();
  f.pod("a", { metadata: { annotations: { "raven.io/ip": " ::ffff:192.168.0.77 " } } });
  await f.podReconciler.sync("default/a");
  assert.deepEqual(f.take().backend.at(-1), "createPort default/a 192.168.0.77");
});

test("a terminating pod keeps its port through its grace period; the final delete releases it", async () => {
  const f = new ControllerFixture();
  f.pod("old");
  await f.podReconciler.sync("default/old");
  f.take();
  f.update(f.pods, "default/old", (p) => {
    p.metadata.deletionTimestamp = "2026-01-01T00:00:20Z";
    p.metadata.deletionGracePeriodSeconds = 20;
  });
  await f.podReconciler.sync("default/old");
  assert.deepEqual(f.take().backend, [], "its containers may still serve on the address");
  // A pod created meanwhile gets another address.
  f.pod("new");
  await f.podReconciler.sync("default/new");
  assert.deepEqual(f.take().backend, ["createPort default/new 192.168.0.3"]);
  // The kubelet's final delete: grace 0 (an object held by someone else's finalizer) ...
  f.update(f.pods, "default/old", (p) => {
    p.metadata.deletionGracePeriodSeconds = 0;
  });
  await f.podReconciler.sync("default/old");
  const released = f.take();
  assert.deepEqual(released.backend, ["deletePort default/old 192.168.0.2"]);
  assert.match(released.api[0], /"raven\.io\/port":null/);
});

test("a pod that left the API (no finalizer held it) has its port released by UID", async () => {
  const f = new ControllerFixture();
  f.pod("gone");
  await f.podReconciler.sync("default/gone");
  f.take();
  f.deletePod("default/gone");
  // Its name is reused at once by another pod: that one keeps nothing of the old port.
  f.pod("gone");
  await f.podReconciler.sync("default/gone");
  assert.deepEqual(f.take().backend, [
    "deletePort default/gone 192.168.0.2",
    "createPort default/gone 192.168.0.3",
  ]);
});

test("finished pods release their port", async () => {
  for (const phase of ["Succeeded", "Failed"]) {
    const f = new ControllerFixture();
    f.pod("job");
    await f.podReconciler.sync("default/job");
    f.take();
    f.update(f.pods, "default/job", (p) => {
      p.status!.phase = phase;
    });
    await f.podReconciler.sync("default/job");
    assert.deepEqual(f.take().backend, ["deletePort default/job 192.168.0.2"], phase);
  }
});

test("a legacy finalizer is removed, also from a terminating pod, which keeps its port", async () => {
  const f = new ControllerFixture();
  f.pod("legacy", {
    metadata: {
      finalizers: ["raven.io/port-cleanup", "other.io/keep"],
      deletionTimestamp: "2026-01-01T00:00:30Z",
      deletionGracePeriodSeconds: 30,
    },
  });
  await f.podReconciler.sync("default/legacy");
  const { backend, api } = f.take();
  assert.deepEqual(backend, []);
  assert.equal(api.length, 1);
  assert.match(api[0], /"\$deleteFromPrimitiveList\/finalizers":\["raven\.io\/port-cleanup"\]/);
  assert.deepEqual(f.pods.get("default/legacy")!.metadata.finalizers, ["other.io/keep"]);
});

test("released addresses go out least recently released first; a recent one only when nothing else is free, with a Normal Event", async () => {
  const clock = new FakeClock();
  const f = new ControllerFixture({ clock, config: { addressCooldownMs: 120_000 } });
  // The "tiny" namespace gets a /29: .2-.6.
  await f.backend.ensureNetwork({
    owner: { kind: "Namespace", namespace: "", name: "tiny", uid: "ns-tiny" },
    name: "tiny-net",
    purpose: "pods",
    cidr: "10.9.0.0/29",
  });
  f.namespace("tiny");
  for (let i = 1; i <= 5; i++) {
    f.pod(`p${i}`, { namespace: "tiny" });
    await f.podReconciler.sync(`tiny/p${i}`);
  }
  f.take();
  for (const i of [3, 1]) {
    f.deletePod(`tiny/p${i}`);
    await f.podReconciler.sync(`tiny/p${i}`);
    await clock.advance(10_000);
  }
  assert.deepEqual(f.take().backend, ["deletePort tiny/p3 10.9.0.4", "deletePort tiny/p1 10.9.0.2"]);
  f.pod("q1", { namespace: "tiny" });
  await f.podReconciler.sync("tiny/q1");
  f.pod("q2", { namespace: "tiny" });
  await f.podReconciler.sync("tiny/q2");
  const { backend, events } = f.take();
  assert.deepEqual(
    backend,
    ["createPort tiny/q1 10.9.0.4", "createPort tiny/q2 10.9.0.2"],
    "oldest release first",
  );
  assert.deepEqual(events, [
    "Normal RecentAddressReused tiny/q1: 10.9.0.4 was released 20 s ago, less than the 120 s cooldown; no other address of subnet 10.9.0.0/29 is free",
    "Normal RecentAddressReused tiny/q2: 10.9.0.2 was released 10 s ago, less than the 120 s cooldown; no other address of subnet 10.9.0.0/29 is free",
  ]);
});

test("a pod waiting on a full subnet is handed back the moment an address of that subnet is released", async () => {
  const f = new ControllerFixture();
  await f.backend.ensureNetwork({
    owner: { kind: "Namespace", namespace: "", name: "tiny", uid: "ns-tiny" },
    name: "tiny-net",
    purpose: "pods",
    cidr: "10.9.0.0/30",
  });
  f.namespace("tiny");
  f.pod("first", { namespace: "tiny" });
  await f.podReconciler.sync("tiny/first");
  f.pod("waits", { namespace: "tiny" });
  await assert.rejects(
    f.podReconciler.sync("tiny/waits"),
    (e: unknown) => e instanceof SdnError && e.reason === "SubnetFull",
  );
  const { events } = f.take();
  assert.match(
    events[0],
    /^Warning FailedAllocateIP tiny\/waits: subnet 10\.9\.0\.0\/30 has no free address/,
  );
  const subnetId = f.backend.findNetwork("ns-tiny", "pods")!.subnet.id;
  let due: string[] = [];
  f.backend.onAddressReleased((s) => {
    due = f.podReconciler.takeWaiting(s);
  });
  f.deletePod("tiny/first");
  await f.podReconciler.sync("tiny/first");
  assert.deepEqual(due, ["tiny/waits"], "queued again by the release, not by its backoff");
  assert.deepEqual(f.podReconciler.takeWaiting(subnetId), [], "handed back once");
  await f.podReconciler.sync("tiny/waits");
  assert.deepEqual(f.take().backend, ["deletePort tiny/first 10.9.0.2", "createPort tiny/waits 10.9.0.2"]);
});

test("of two ports of one pod (a race of two writers), the one its annotation names stays", async () => {
  const f = new ControllerFixture();
  f.pod("twice");
  await f.podReconciler.sync("default/twice");
  const pod = f.pods.get("default/twice")!;
  const net = f.backend.findNetwork("ns-default", "pods")!;
  // Another writer's port for the same pod, at the next address.
  await f.backend.addPort({
    owner: { kind: "Pod", namespace: "default", name: "twice", uid: pod.metadata.uid! },
    name: "twice",
    networkId: net.network.id,
    subnetId: net.subnet.id,
    ipAddress: "192.168.0.3",
  });
  f.take();
  // findPorts lists the newer one too; the annotation decides.
  await f.podReconciler.sync("default/twice");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.take().backend, ["deletePort default/twice 192.168.0.3"]);
  assert.equal(portIp(f, "default/twice"), "192.168.0.2");
});

test("hostNetwork and unscheduled pods get no port", async () => {
  const f = new ControllerFixture();
  f.pod("host", { spec: { hostNetwork: true } });
  f.pod("pending", { spec: { nodeName: undefined }, status: { phase: "Pending" } });
  await f.podReconciler.sync("default/host");
  await f.podReconciler.sync("default/pending");
  assert.deepEqual(f.take(), { backend: [], api: [], events: [] });
});

test("the port annotation follows the port's status as the node's agent binds and unbinds it", async () => {
  const f = new ControllerFixture();
  f.pod("web");
  await f.podReconciler.sync("default/web");
  const status = () => JSON.parse(f.pods.get("default/web")!.metadata.annotations!["raven.io/port"]).status;
  assert.equal(status(), "DOWN", "nothing has bound it yet");
  const queued: string[] = [];
  f.backend.onPortStatusChanged((o) => queued.push(`${o.namespace}/${o.name}`));
  const [port] = f.backend.findPorts(f.pods.get("default/web")!.metadata.uid!);
  await f.backend.setPortStatus(port.id, "ACTIVE");
  assert.deepEqual(queued, ["default/web"]);
  f.take();
  await f.podReconciler.sync("default/web");
  assert.equal(f.take().api.length, 1, "one patch");
  assert.equal(status(), "ACTIVE");
  await f.backend.setPortStatus(port.id, "DOWN");
  await f.podReconciler.sync("default/web");
  assert.equal(status(), "DOWN");
});

test("attachments to Raven networks: a port per selected raven NAD, named pod-attachment, in the annotation by interface; dropped ones deleted; others' plugins ignored", async () => {
  const f = new ControllerFixture();
  const nad = (name: string, config: object) =>
    f.nads.set({
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { name, namespace: "default" },
      spec: { config: JSON.stringify(config) },
    });
  nad("blue", { cniVersion: "1.0.0", type: "raven", network: "blue" });
  nad("bridged", { cniVersion: "1.0.0", type: "bridge", bridge: "x" });
  f.namespace("blue");
  f.pod("web", { metadata: { annotations: { "k8s.v1.cni.cncf.io/networks": "blue@b1,bridged,blue@b2" } } });
  await f.podReconciler.sync("default/web");
  const { backend } = f.take();
  assert.deepEqual(backend, [
    "ensureNetwork default-net 192.168.0.0/24",
    "createPort default/web 192.168.0.2",
    "ensureNetwork blue-net 192.168.1.0/24",
    "createPort default/web-blue-b1 192.168.1.2",
    "createPort default/web-blue-b2 192.168.1.3",
  ]);
  const ann = (key: string) => f.pods.get("default/web")!.metadata.annotations?.[key];
  const att = JSON.parse(ann("raven.io/attachments")!);
  assert.deepEqual(Object.keys(att), ["b1", "b2"]);
  assert.equal(att.b1.name, "web-blue-b1");
  assert.equal(att.b1.fixed_ips[0].ip_address, "192.168.1.2");
  assert.equal(
    JSON.parse(ann("raven.io/port")!).fixed_ips[0].ip_address,
    "192.168.0.2",
    "the primary is unchanged",
  );
  await f.podReconciler.sync("default/web");
  assert.deepEqual(f.take().backend, [], "a second sync changes nothing");

  // One dropped; an unparsable selection then changes nothing; the last one dropped.
  f.update(f.pods, "default/web", (p) => {
    p.metadata.annotations!["k8s.v1.cni.cncf.io/networks"] = "blue@b2";
  });
  await f.podReconciler.sync("default/web");
  assert.deepEqual(f.take().backend, ["deletePort default/web-blue-b1 192.168.1.2"]);
  assert.deepEqual(Object.keys(JSON.parse(ann("raven.io/attachments")!)), ["b2"]);
  f.update(f.pods, "default/web", (p) => {
    p.metadata.annotations!["k8s.v1.cni.cncf.io/networks"] = "Not_Valid";
  });
  await f.podReconciler.sync("default/web");
  assert.deepEqual(f.take().backend, []);
  assert.deepEqual(Object.keys(JSON.parse(ann("raven.io/attachments")!)), ["b2"]);
  f.update(f.pods, "default/web", (p) => {
    delete p.metadata.annotations!["k8s.v1.cni.cncf.io/networks"];
  });
  await f.podReconciler.sync("default/web");
  assert.deepEqual(f.take().backend, ["deletePort default/web-blue-b2 192.168.1.3"]);
  assert.equal(ann("raven.io/attachments"), undefined);
});

test("an attachment that cannot be made does not hold the pod's own port back: the primary is written, the attachment is an Event and a retry", async () => {
  const f = new ControllerFixture();
  f.nads.set({
    apiVersion: "k8s.cni.cncf.io/v1",
    kind: "NetworkAttachmentDefinition",
    metadata: { name: "nowhere", namespace: "default" },
    spec: { config: JSON.stringify({ cniVersion: "1.0.0", type: "raven", network: "missing" }) },
  });
  f.pod("web", { metadata: { annotations: { "k8s.v1.cni.cncf.io/networks": "nowhere" } } });
  await assert.rejects(
    f.podReconciler.sync("default/web"),
    /Raven network missing \(a namespace\) not found/,
  );
  const { events } = f.take();
  assert.ok(
    f.pods.get("default/web")!.metadata.annotations?.["raven.io/port"],
    "the primary port is written",
  );
  assert.equal(f.pods.get("default/web")!.metadata.annotations?.["raven.io/attachments"], undefined);
  assert.deepEqual(events, [
    "Warning FailedAttachment default/web: net03840d46dad9: Raven network missing (a namespace) not found; will retry",
  ]);
});
