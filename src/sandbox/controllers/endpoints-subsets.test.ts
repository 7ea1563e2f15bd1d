import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../kube/objects.ts";
import { buildSubsets, repackSubsets, truncateSubsets } from "./endpoints-subsets.ts";

function pod(
  name: string,
  ip: string,
  o: { ready?: boolean; ports?: any[]; deleting?: boolean } = {},
): KubeObject {
  const p: KubeObject = {
    metadata: { name, namespace: "ns", uid: `uid-${name}` },
    spec: { nodeName: "n1", containers: [{ name: "c", ports: o.ports ?? [] }] },
    status: {
      phase: "Running",
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  };
  if (o.deleting) p.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
  return p;
}

const svc = (spec: any = {}): KubeObject => ({
  metadata: { name: "demo", namespace: "ns" },
  spec: {
    clusterIP: "10.96.0.1",
    ipFamilies: ["IPv4"],
    selector: { app: "demo" },
    ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }],
    ...spec,
  },
});

const addr = (name: string, ip: string) => ({
  ip,
  nodeName: "n1",
  targetRef: { kind: "Pod", namespace: "ns", name, uid: `uid-${name}` },
});

test("ready pods are addresses, unready ones notReadyAddresses, in one subset", () => {
  const subsets = buildSubsets(svc(), [
    pod("a", "10.0.0.3"),
    pod("b", "10.0.0.1", { ready: false }),
    pod("c", "10.0.0.2"),
  ]);
  assert.deepEqual(subsets, [
    {
      addresses: [addr("c", "10.0.0.2"), addr("a", "10.0.0.3")],
      notReadyAddresses: [addr("b", "10.0.0.1")],
      ports: [{ port: 8080, protocol: "TCP" }],
    },
  ]);
});

test("terminating pods leave Endpoints unless unready addresses are published", () => {
  assert.deepEqual(buildSubsets(svc(), [pod("a", "10.0.0.1", { deleting: true })]), []);
  const published = buildSubsets(svc({ publishNotReadyAddresses: true }), [
    pod("a", "10.0.0.1", { deleting: true, ready: false }),
  ]);
  assert.deepEqual(published[0].addresses, [addr("a", "10.0.0.1")]);
});

test("pods resolving a named port differently get separate subsets", () => {
  const s = svc({ ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] });
  const subsets = buildSubsets(s, [
    pod("a", "10.0.0.1", { ports: [{ name: "http", containerPort: 8080 }] }),
    pod("b", "10.0.0.2", { ports: [{ name: "http", containerPort: 9090 }] }),
    pod("c", "10.0.0.3"),
  ]);
  assert.deepEqual(
    subsets.map((ss) => [ss.addresses?.map((a) => a.ip), ss.ports]),
    [
      [["10.0.0.1"], [{ name: "http", port: 8080, protocol: "TCP" }]],
      [["10.0.0.2"], [{ name: "http", port: 9090, protocol: "TCP" }]],
    ],
  );
});

test("repacking merges ports offered by the same addresses; not ready wins per port", () => {
  const a = addr("a", "10.0.0.1");
  const b = addr("b", "10.0.0.2");
  const p80 = { name: "http", port: 80, protocol: "TCP" };
  const p443 = { name: "https", port: 443, protocol: "TCP" };
  const out = repackSubsets([
    { addresses: [a], ports: [p80] },
    { addresses: [a], ports: [p443] },
    { addresses: [b], ports: [p80] },
    { notReadyAddresses: [b], ports: [p443] },
    { addresses: [b], ports: [p443] },
  ]);
  assert.deepEqual(out, [
    { addresses: [a, b], ports: [p80] },
    { addresses: [a], notReadyAddresses: [b], ports: [p443] },
  ]);
});

test("a headless Service without ports lists bare addresses", () => {
  const s = svc({ clusterIP: "None", ports: [] });
  assert.deepEqual(buildSubsets(s, [pod("a", "10.0.0.1")]), [{ addresses: [addr("a", "10.0.0.1")] }]);
  assert.deepEqual(buildSubsets(svc({ ports: [] }), [pod("a", "10.0.0.1")]), [], "not headless: nothing");
});

test("over 1000 addresses are truncated, unready ones first", () => {
  const ready = Array.from({ length: 900 }, (_, i) =>
    addr(`r${i}`, `10.1.${Math.floor(i / 250)}.${i % 250}`),
  );
  const notReady = Array.from({ length: 300 }, (_, i) =>
    addr(`n${i}`, `10.2.${Math.floor(i / 250)}.${i % 250}`),
  );
  const out = truncateSubsets([{ addresses: ready, notReadyAddresses: notReady, ports: [] }])!;
  assert.equal(out[0].addresses!.length, 900);
  assert.equal(out[0].notReadyAddresses!.length, 100);
  assert.equal(truncateSubsets([{ addresses: ready.slice(0, 10) }]), undefined);
});
