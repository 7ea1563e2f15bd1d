import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../../kube/objects.ts";
import { servicePrinter } from "./services.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");

function svc(spec: any, status: any = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "demo", namespace: "default", creationTimestamp: formatTime(NOW - 3_600_000 * 26) },
    spec,
    status,
  };
}

test("a ClusterIP service prints like the recorded real-server row", () => {
  const s = svc({
    type: "ClusterIP",
    clusterIP: "10.96.0.12",
    clusterIPs: ["10.96.0.12"],
    ports: [{ port: 80, protocol: "TCP", targetPort: 8080 }],
    selector: { tier: "web", app: "demo" },
  });
  assert.deepEqual(servicePrinter.cells(s, NOW), [
    "demo",
    "ClusterIP",
    "10.96.0.12",
    "<none>",
    "80/TCP",
    "26h",
    "app=demo,tier=web",
  ]);
});

test("node ports appear after the service port, external IPs are listed", () => {
  const s = svc({
    type: "NodePort",
    clusterIPs: ["10.96.4.1"],
    externalIPs: ["172.16.0.4", "172.16.0.5"],
    ports: [
      { port: 80, nodePort: 30080, protocol: "TCP" },
      { port: 53, nodePort: 30053, protocol: "UDP" },
    ],
  });
  const cells = servicePrinter.cells(s, NOW);
  assert.equal(cells[3], "172.16.0.4,172.16.0.5");
  assert.equal(cells[4], "80:30080/TCP,53:30053/UDP");
  assert.equal(cells[6], "<none>");
});

test("a LoadBalancer without ingress is <pending>", () => {
  const s = svc({
    type: "LoadBalancer",
    clusterIPs: ["10.96.7.7"],
    ports: [{ port: 443, nodePort: 31443, protocol: "TCP" }],
  });
  assert.deepEqual(servicePrinter.cells(s, NOW).slice(1, 5), [
    "LoadBalancer",
    "10.96.7.7",
    "<pending>",
    "443:31443/TCP",
  ]);
});

test("a LoadBalancer lists sorted unique ingress addresses, then spec.externalIPs, unclipped", () => {
  const s = svc(
    { type: "LoadBalancer", clusterIPs: ["10.96.7.7"], externalIPs: ["172.16.0.9"], ports: [] },
    {
      loadBalancer: {
        ingress: [
          { ip: "203.0.113.20" },
          { hostname: "lb-0123456789.elb.example.com" },
          { ip: "203.0.113.10" },
          { ip: "203.0.113.20" },
        ],
      },
    },
  );
  assert.equal(
    servicePrinter.cells(s, NOW)[3],
    "203.0.113.10,203.0.113.20,lb-0123456789.elb.example.com,172.16.0.9",
  );
});

test("headless, ExternalName and port-less services", () => {
  const headless = svc({
    type: "ClusterIP",
    clusterIP: "None",
    clusterIPs: ["None"],
    ports: [{ port: 5432, protocol: "TCP" }],
  });
  assert.equal(servicePrinter.cells(headless, NOW)[2], "None");
  const ext = svc({ type: "ExternalName", externalName: "db.example.com" });
  assert.deepEqual(servicePrinter.cells(ext, NOW).slice(1, 5), [
    "ExternalName",
    "<none>",
    "db.example.com",
    "<none>",
  ]);
});
