import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../kube/objects.ts";
import {
  addressTypesForService,
  endpointConditions,
  endpointPorts,
  findPort,
  formatTriggerTime,
  podToEndpoint,
  serviceSelector,
  shouldPodBeInEndpoints,
  TriggerTimeTracker,
} from "./endpoint-compute.ts";

function pod(
  name: string,
  o: { ready?: boolean; ip?: string; deleting?: boolean; phase?: string; ports?: any[] } = {},
) {
  const p: KubeObject = {
    metadata: { name, namespace: "ns", uid: `uid-${name}`, labels: { app: "demo" } },
    spec: { nodeName: "n1", containers: [{ name: "c", ports: o.ports ?? [] }] },
    status: {
      phase: o.phase ?? "Running",
      conditions: [
        {
          type: "Ready",
          status: o.ready === false ? "False" : "True",
          lastTransitionTime: "2024-01-01T00:00:10Z",
        },
      ],
    },
  };
  if (o.ip !== "") p.status.podIP = o.ip ?? "10.0.0.1";
  if (p.status.podIP) p.status.podIPs = [{ ip: p.status.podIP }];
  if (o.deleting) p.metadata.deletionTimestamp = "2024-01-01T00:01:00Z";
  return p;
}

const svc = (spec: any = {}): KubeObject => ({
  metadata: { name: "demo", namespace: "ns", uid: "svc-uid", creationTimestamp: "2024-01-01T00:00:00Z" },
  spec: {
    clusterIP: "10.96.0.10",
    ipFamilies: ["IPv4"],
    selector: { app: "demo" },
    ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }],
    ...spec,
  },
});

test("endpoint conditions follow upstream: ready is serving and not terminating", () => {
  assert.deepEqual(endpointConditions(pod("a"), false), { ready: true, serving: true, terminating: false });
  assert.deepEqual(endpointConditions(pod("a", { ready: false }), false), {
    ready: false,
    serving: false,
    terminating: false,
  });
  assert.deepEqual(endpointConditions(pod("a", { deleting: true }), false), {
    ready: false,
    serving: true,
    terminating: true,
  });
  assert.deepEqual(
    endpointConditions(pod("a", { ready: false }), true),
    { ready: true, serving: false, terminating: false },
    "publishNotReadyAddresses",
  );
});

test("only running pods with an IP are endpoints; terminating ones only when asked", () => {
  assert.equal(shouldPodBeInEndpoints(pod("a"), false), true);
  assert.equal(shouldPodBeInEndpoints(pod("a", { ip: "" }), true), false);
  assert.equal(shouldPodBeInEndpoints(pod("a", { phase: "Succeeded" }), true), false);
  assert.equal(shouldPodBeInEndpoints(pod("a", { deleting: true }), false), false);
  assert.equal(shouldPodBeInEndpoints(pod("a", { deleting: true }), true), true);
});

test("named target ports resolve per pod, by name and protocol", () => {
  const p = pod("a", {
    ports: [
      { name: "http", containerPort: 8080 },
      { name: "dns", containerPort: 53, protocol: "UDP" },
    ],
  });
  assert.equal(findPort(p, { port: 80, targetPort: "http", protocol: "TCP" }), 8080);
  assert.equal(
    findPort(p, { port: 53, targetPort: "dns", protocol: "TCP" }),
    undefined,
    "protocol must match",
  );
  assert.equal(findPort(p, { port: 53, targetPort: "dns", protocol: "UDP" }), 53);
  assert.equal(findPort(p, { port: 80, targetPort: 9090 }), 9090);
  const sidecar = pod("b");
  sidecar.spec.initContainers = [
    { name: "s", restartPolicy: "Always", ports: [{ name: "metrics", containerPort: 9100 }] },
  ];
  assert.equal(findPort(sidecar, { port: 9100, targetPort: "metrics" }), 9100);
});

test("ports a pod cannot resolve are left out of its endpoint ports", () => {
  const s = svc({
    ports: [
      { name: "http", port: 80, targetPort: "http", protocol: "TCP", appProtocol: "http" },
      { name: "admin", port: 81, targetPort: "admin", protocol: "TCP" },
    ],
  });
  const p = pod("a", { ports: [{ name: "http", containerPort: 8080 }] });
  assert.deepEqual(endpointPorts(s, p), [{ name: "http", port: 8080, protocol: "TCP", appProtocol: "http" }]);
});

test("a pod becomes an endpoint with addresses, node, zone and target", () => {
  const node = { metadata: { name: "n1", labels: { "topology.kubernetes.io/zone": "z1" } } };
  assert.deepEqual(podToEndpoint(pod("a"), node, svc(), "IPv4"), {
    addresses: ["10.0.0.1"],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: "Pod", namespace: "ns", name: "a", uid: "uid-a" },
    nodeName: "n1",
    zone: "z1",
  });
  assert.deepEqual(podToEndpoint(pod("a"), undefined, svc(), "IPv6").addresses, []);
  const h = pod("h");
  h.spec.hostname = "web-0";
  h.spec.subdomain = "demo";
  assert.equal(podToEndpoint(h, undefined, svc(), "IPv4").hostname, "web-0");
});

test("services without a selector, empty ones and ExternalName ones are skipped", () => {
  assert.deepEqual(serviceSelector(svc()), { app: "demo" });
  assert.equal(serviceSelector(svc({ selector: undefined })), undefined);
  assert.equal(serviceSelector(svc({ selector: {} })), undefined);
  assert.equal(serviceSelector(svc({ type: "ExternalName" })), undefined);
});

test("address types come from ipFamilies, else the cluster IP", () => {
  assert.deepEqual(addressTypesForService(svc()), ["IPv4"]);
  assert.deepEqual(addressTypesForService(svc({ ipFamilies: undefined, clusterIP: "fd00::1" })), ["IPv6"]);
  assert.deepEqual(addressTypesForService(svc({ ipFamilies: undefined, clusterIP: "None" })), [
    "IPv4",
    "IPv6",
  ]);
});

test("trigger time is the earliest change since the previous sync", () => {
  const t = new TriggerTimeTracker();
  const a = pod("a");
  const s = svc();
  assert.equal(
    t.compute(s, [a]),
    Date.parse("2024-01-01T00:00:00Z"),
    "a new service counts from its creation",
  );
  assert.equal(t.compute(s, [a]), undefined, "nothing changed");
  const b = pod("b");
  b.status.conditions[0].lastTransitionTime = "2024-01-01T00:05:00Z";
  assert.equal(t.compute(s, [a, b]), Date.parse("2024-01-01T00:05:00Z"));
  assert.equal(formatTriggerTime(Date.parse("2024-01-01T00:05:00Z")), "2024-01-01T00:05:00Z");
  assert.equal(formatTriggerTime(Date.parse("2024-01-01T00:05:00.250Z")), "2024-01-01T00:05:00.25Z");
});
