import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../kube/objects.ts";
import { desiredEndpoints, planEndpointSlices, type SlicePlan, sliceLabels } from "./endpointslice-plan.ts";

const node = { metadata: { name: "n1" } };
const nodeOf = (name: string) => (name === "n1" ? node : undefined);

function pod(i: number, o: { ready?: boolean; ports?: any[]; node?: string } = {}): KubeObject {
  const ip = `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  return {
    metadata: {
      name: `p${String(i).padStart(4, "0")}`,
      namespace: "ns",
      uid: `uid-${i}`,
      labels: { app: "demo" },
    },
    spec: { nodeName: o.node ?? "n1", containers: [{ name: "c", ports: o.ports ?? [] }] },
    status: {
      phase: "Running",
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  };
}

const svc = (ports: any[] = [{ name: "", port: 80, targetPort: 8080, protocol: "TCP" }]): KubeObject => ({
  metadata: { name: "demo", namespace: "ns", uid: "svc-uid", labels: { team: "a" } },
  spec: { clusterIP: "10.96.0.10", ipFamilies: ["IPv4"], selector: { app: "demo" }, ports },
});

let seq = 0;
/** What the server would store for the plan's writes, as the next sync's existing slices. */
function applyPlan(existing: KubeObject[], plan: SlicePlan): KubeObject[] {
  const byName = new Map(existing.map((s) => [s.metadata.name!, s]));
  for (const s of plan.delete) byName.delete(s.metadata.name!);
  for (const s of plan.update) byName.set(s.metadata.name!, structuredClone(s));
  for (const s of plan.create) {
    const name = `${s.metadata.generateName}${(seq++).toString(36).padStart(5, "x")}`;
    const { generateName: _, ...meta } = s.metadata;
    byName.set(name, { ...structuredClone(s), metadata: { ...meta, name, uid: `slice-${name}` } });
  }
  return [...byName.values()];
}

function sync(s: KubeObject, pods: KubeObject[], existing: KubeObject[], max?: number) {
  const plan = planEndpointSlices(s, desiredEndpoints(s, pods, nodeOf).groups, existing, max);
  return { plan, slices: applyPlan(existing, plan) };
}

test("three pods make one slice with three ready endpoints", () => {
  const s = svc();
  const { plan, slices } = sync(s, [pod(1), pod(2), pod(3)], []);
  assert.equal(plan.create.length, 1);
  const [slice] = slices;
  assert.equal(slice.addressType, "IPv4");
  assert.equal(plan.create[0].metadata.generateName, "demo-");
  assert.match(slice.metadata.name!, /^demo-/);
  assert.deepEqual(slice.metadata.labels, {
    team: "a",
    "kubernetes.io/service-name": "demo",
    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
  });
  assert.deepEqual(slice.metadata.ownerReferences, [
    {
      apiVersion: "v1",
      kind: "Service",
      name: "demo",
      uid: "svc-uid",
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.deepEqual(slice.ports, [{ name: "", port: 8080, protocol: "TCP" }]);
  assert.deepEqual(
    slice.endpoints.map((e: any) => [e.addresses[0], e.conditions.ready, e.targetRef.name]),
    [
      ["10.0.0.2", true, "p0001"],
      ["10.0.0.3", true, "p0002"],
      ["10.0.0.4", true, "p0003"],
    ],
  );
});

test("a readiness change updates the slice in place, and a resync writes nothing", () => {
  const s = svc();
  let { slices } = sync(s, [pod(1), pod(2), pod(3)], []);
  const name = slices[0].metadata.name;
  const r = sync(s, [pod(1), pod(2, { ready: false }), pod(3)], slices);
  assert.deepEqual([r.plan.create.length, r.plan.update.length, r.plan.delete.length], [0, 1, 0]);
  slices = r.slices;
  assert.equal(slices[0].metadata.name, name);
  assert.deepEqual(slices[0].endpoints[1].conditions, { ready: false, serving: false, terminating: false });
  const again = sync(s, [pod(1), pod(2, { ready: false }), pod(3)], slices);
  assert.deepEqual(again.plan, { create: [], update: [], delete: [] });
});

test("endpoints are packed at most 100 to a slice and removals keep names stable", () => {
  const s = svc();
  const pods = Array.from({ length: 250 }, (_, i) => pod(i));
  let { slices } = sync(s, pods, []);
  assert.deepEqual(slices.map((x) => x.endpoints.length).sort(), [100, 100, 50]);
  const names = slices.map((x) => x.metadata.name).sort();
  const r = sync(s, pods.slice(0, 240), slices);
  assert.equal(r.plan.create.length + r.plan.delete.length, 0);
  slices = r.slices;
  assert.deepEqual(slices.map((x) => x.metadata.name).sort(), names);
  assert.equal(
    slices.reduce((n, x) => n + x.endpoints.length, 0),
    240,
  );
  // New endpoints fill the slice already being rewritten before anything new is made.
  const grown = sync(s, [...pods.slice(0, 240), pod(300), pod(301)], slices);
  assert.equal(grown.plan.create.length, 0);
});

test("pods resolving a named port differently land in different slices", () => {
  const s = svc([{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
  const a = pod(1, { ports: [{ name: "http", containerPort: 8080 }] });
  const b = pod(2, { ports: [{ name: "http", containerPort: 9090 }] });
  const { slices } = sync(s, [a, b], []);
  assert.deepEqual(slices.map((x) => x.ports[0].port).sort(), [8080, 9090]);
  assert.deepEqual(
    slices.map((x) => x.endpoints.length),
    [1, 1],
  );
});

test("a Service without pods keeps one empty placeholder, reusing its slice", () => {
  const s = svc();
  const first = sync(s, [], []);
  assert.equal(first.plan.create.length, 1);
  assert.deepEqual([first.slices[0].endpoints, first.slices[0].ports], [[], []]);
  assert.deepEqual(
    sync(s, [], first.slices).plan,
    { create: [], update: [], delete: [] },
    "placeholder is kept",
  );
  const filled = sync(s, [pod(1)], first.slices);
  assert.deepEqual(
    [filled.plan.create.length, filled.plan.update.length, filled.plan.delete.length],
    [0, 1, 0],
  );
  assert.equal(filled.slices[0].metadata.name, first.slices[0].metadata.name);
  const emptied = sync(s, [], filled.slices);
  assert.deepEqual(
    [emptied.plan.create.length, emptied.plan.update.length, emptied.plan.delete.length],
    [0, 1, 0],
  );
  assert.deepEqual(emptied.slices[0].endpoints, []);
});

test("slices of an older Service of the same name are replaced", () => {
  const s = svc();
  const { slices } = sync(s, [pod(1)], []);
  const renewed = { ...s, metadata: { ...s.metadata, uid: "new-uid" } };
  const r = sync(renewed, [pod(1)], slices);
  assert.equal(r.plan.delete.length, 1);
  assert.equal(r.plan.create.length, 1);
  assert.equal(r.slices[0].metadata.ownerReferences![0].uid, "new-uid");
});

test("pods on unknown nodes are left out and reported", () => {
  const d = desiredEndpoints(svc(), [pod(1), pod(2, { node: "gone" })], nodeOf);
  assert.deepEqual(d.podsOnUnknownNodes, ["p0002"]);
  assert.equal(d.groups[0].endpoints.size, 1);
});

test("slice labels mark headless Services and ignore reserved Service labels", () => {
  const s = svc();
  s.spec.clusterIP = "None";
  s.metadata.labels = { "kubernetes.io/service-name": "x", app: "demo" };
  assert.deepEqual(sliceLabels(s), {
    app: "demo",
    "service.kubernetes.io/headless": "",
    "kubernetes.io/service-name": "demo",
    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
  });
});
