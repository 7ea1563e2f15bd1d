import assert from "node:assert/strict";
import { test } from "node:test";
import { strategies } from "./index.ts";
import { created, createErrors, updateErrors } from "./testing.ts";

const services = strategies["/services"];
const svc = (spec: object, name = "demo") => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default" },
  spec,
});
const demo = svc({ selector: { app: "demo" }, ports: [{ port: 80 }] });

test("the demo Service is valid and gets upstream's defaults", () => {
  assert.deepEqual(createErrors(services, demo), []);
  const s = created(services, demo);
  assert.deepEqual(s.spec, {
    selector: { app: "demo" },
    ports: [{ port: 80, protocol: "TCP", targetPort: 80 }],
    sessionAffinity: "None",
    type: "ClusterIP",
    internalTrafficPolicy: "Cluster",
    ipFamilyPolicy: "SingleStack",
    ipFamilies: ["IPv4"],
  });
  assert.deepEqual(s.status, { loadBalancer: {} });
});

test("NodePort and LoadBalancer services get traffic-policy and node-port defaults", () => {
  const lb = created(services, svc({ type: "LoadBalancer", ports: [{ port: 443, targetPort: "https" }] }));
  assert.equal(lb.spec.externalTrafficPolicy, "Cluster");
  assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
  assert.equal(lb.spec.ports[0].targetPort, "https");
  assert.deepEqual(createErrors(services, lb), []);
});

test("two ports need names; externalIPs must be real, routable addresses", () => {
  const bad = svc({ ports: [{ port: 80 }, { port: 443 }], externalIPs: ["300.1.1.1", "127.0.0.1"] });
  assert.deepEqual(createErrors(services, bad), [
    "spec.ports[0].name: Required value",
    "spec.ports[1].name: Required value",
    'spec.externalIPs[0]: Invalid value: "300.1.1.1": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    'spec.externalIPs[1]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
  ]);
});

test("ports, types and affinities are checked against upstream's value sets", () => {
  const bad = svc({
    type: "Magic",
    sessionAffinity: "Sticky",
    ports: [{ name: "web", port: 70000, protocol: "ICMP", targetPort: "Not_Valid" }],
  });
  assert.deepEqual(createErrors(services, bad), [
    "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
    'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    'spec.ports[0].targetPort: Invalid value: "Not_Valid": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
    'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
    'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
  ]);
  assert.deepEqual(createErrors(services, svc({ ports: [{ port: 80, nodePort: 30080 }] })), [
    "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
  ]);
});

test("service names are DNS-1035 labels", () => {
  assert.deepEqual(createErrors(services, svc({ ports: [{ port: 80 }] }, "1st")), [
    `metadata.name: Invalid value: "1st": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
  ]);
});

test("headless services may have no ports; selectorless headless ones ask for both families", () => {
  const headless = created(services, svc({ clusterIP: "None" }));
  assert.deepEqual(createErrors(services, headless), []);
  assert.deepEqual(headless.spec.clusterIPs, ["None"]);
  assert.equal(headless.spec.ipFamilyPolicy, "RequireDualStack");
  assert.deepEqual(headless.spec.ipFamilies, ["IPv4", "IPv6"]);
  assert.deepEqual(createErrors(services, svc({})), ["spec.ports: Required value"]);
});

test("ExternalName services need a DNS name and no cluster IP fields", () => {
  const ext = created(services, svc({ type: "ExternalName", externalName: "db.example.com." }));
  assert.deepEqual(createErrors(services, ext), []);
  assert.equal(ext.spec.ipFamilies, undefined);
  assert.deepEqual(createErrors(services, svc({ type: "ExternalName" })), [
    "spec.externalName: Required value",
  ]);
});

test("an allocated cluster IP may not change", () => {
  const stored = created(services, demo);
  stored.spec.clusterIP = "10.96.0.10";
  stored.spec.clusterIPs = ["10.96.0.10"];
  const same = structuredClone(stored);
  same.spec.ports[0].port = 8080;
  same.spec.ports[0].targetPort = 8080;
  assert.deepEqual(updateErrors(services, same, stored), []);
  const moved = structuredClone(stored);
  moved.spec.clusterIP = "10.96.0.11";
  moved.spec.clusterIPs = ["10.96.0.11"];
  assert.deepEqual(updateErrors(services, moved, stored), [
    'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set',
  ]);
});

test("services select on cluster IP and type", () => {
  const s = created(services, demo);
  s.spec.clusterIP = "10.96.0.10";
  assert.deepEqual(services.selectableFields!(s), {
    "spec.clusterIP": "10.96.0.10",
    "spec.type": "ClusterIP",
  });
});
