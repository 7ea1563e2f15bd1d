// The CRD files against the objects the backend writes: every field survives the API server's
// pruning and passes its validation (checked with the sandbox API server's own schema code).
import assert from "node:assert/strict";
import { test } from "node:test";
import { pruneUnknownFields, validateAgainstSchema } from "../../sandbox/apiserver/openapi/crd-schema.ts";
import { IPV4_CIDR_PATTERN, IPV4_PATTERN } from "../ipam.ts";
import type { Owner } from "../model.ts";
import { newFloatingIpCr, newLoadBalancerCr, newNetworkCr, newPortCr, newSubnetCr } from "./convert.ts";
import { loadCrds } from "./crds.ts";
import { desiredLoadBalancerSpec } from "./lb-spec.ts";
import { EMBEDDED_RESOURCES } from "./resources.ts";

const all = loadCrds();
const crds = all.filter((c) => c.spec.group === "raven.io");
const byKind = new Map(crds.map((c) => [c.spec.names.kind, c]));

test("deploy/crds also holds the NPWG's NetworkAttachmentDefinition, as multus has it", () => {
  const nad = all.find((c) => c.spec.group === "k8s.cni.cncf.io");
  assert.equal(nad?.metadata.name, "network-attachment-definitions.k8s.cni.cncf.io");
  assert.equal(nad.spec.scope, "Namespaced");
  assert.equal(nad.spec.names.kind, "NetworkAttachmentDefinition");
  assert.deepEqual(nad.spec.names.shortNames, ["net-attach-def"]);
  assert.equal(nad.spec.versions[0].name, "v1");
  assert.equal(nad.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.config.type, "string");
});

test("one CRD per resource, raven.io/v1, in the raven category with short names", () => {
  assert.deepEqual(
    crds.map((c) => c.metadata.name),
    [
      "compiledpolicies.raven.io",
      "floatingips.raven.io",
      "loadbalancers.raven.io",
      "networks.raven.io",
      "ports.raven.io",
      "subnets.raven.io",
    ],
  );
  for (const { res, kind } of Object.values(EMBEDDED_RESOURCES)) {
    const crd = byKind.get(kind);
    assert.ok(crd, kind);
    assert.equal(crd.spec.group, res.group);
    assert.equal(crd.spec.names.plural, res.plural);
    assert.equal(crd.spec.scope, res.namespaced ? "Namespaced" : "Cluster");
    assert.deepEqual(crd.spec.names.categories, ["raven"]);
    assert.equal(crd.spec.names.shortNames.length, 1);
    const [v] = crd.spec.versions;
    assert.equal(v.name, res.version);
    assert.equal(v.schema.openAPIV3Schema.type, "object");
    assert.ok(v.additionalPrinterColumns.some((c: { name: string }) => c.name === "Age"));
    assert.equal(
      Boolean(v.subresources?.status),
      // A Port's status is its binding, which the node agent writes (ports/status only).
      kind === "LoadBalancer" || kind === "Port",
      `${kind} status`,
    );
  }
  const ports = byKind
    .get("Port")!
    .spec.versions[0].additionalPrinterColumns.filter((c: { priority?: number }) => !c.priority);
  assert.deepEqual(
    ports.map((c: { name: string }) => c.name),
    ["Pod", "IP", "MAC", "Node", "Age"],
  );
});

const pod: Owner = { kind: "Pod", namespace: "default", name: "nginx", uid: "pod-uid" };
const svc: Owner = { kind: "Service", namespace: "default", name: "demo", uid: "svc-uid" };
const ns: Owner = { kind: "Namespace", namespace: "", name: "default", uid: "ns-uid" };

function check(kind: string, obj: any) {
  const schema = byKind.get(kind)!.spec.versions[0].schema.openAPIV3Schema;
  const copy = structuredClone(obj);
  assert.deepEqual(pruneUnknownFields(schema, copy), [], `${kind}: nothing pruned`);
  assert.deepEqual(copy, obj);
  assert.deepEqual(validateAgainstSchema(schema, obj), [], `${kind}: valid`);
}

test("what the backend writes fits the schemas exactly", () => {
  const net = newNetworkCr(ns, "default-net", "pods", "192.168.0.0/24");
  net.metadata.uid = "net-uid";
  check("Network", net);
  const sub = newSubnetCr(net);
  sub.metadata.uid = "sub-uid";
  check("Subnet", sub);
  check("Port", {
    ...newPortCr({ owner: pod, displayName: "nginx", subnet: sub, ipAddress: "192.168.0.2", hostId: "n1" }),
    status: { state: "ACTIVE" },
  });
  let n = 0;
  const spec = desiredLoadBalancerSpec(
    {
      owner: svc,
      name: "demo",
      vipAddress: "10.0.0.228",
      vipSubnetId: "s",
      listeners: [
        {
          name: "",
          protocol: "TCP",
          port: 80,
          members: [{ name: "p", address: "192.168.0.2", port: 80, subnetId: "sub-uid" }],
        },
      ],
    },
    undefined,
    () => `id-${++n}`,
  );
  check("LoadBalancer", {
    ...newLoadBalancerCr(spec),
    status: { provisioningStatus: "ACTIVE", operatingStatus: "ONLINE" },
  });
  check(
    "FloatingIP",
    newFloatingIpCr({
      floatingIPAddress: "172.16.0.4",
      floatingNetworkId: "ext",
      fixedIPAddress: "10.0.0.228",
      portId: "vip",
      loadBalancer: { namespace: "default", name: "demo", id: "lb" },
      role: "external-ip",
      owner: svc,
    }),
  );
  check("CompiledPolicy", {
    apiVersion: "raven.io/v1",
    kind: "CompiledPolicy",
    metadata: { name: "web", namespace: "default" },
    spec: {
      policy: { namespace: "default", name: "web", uid: "np-uid" },
      isolates: { ingress: true, egress: true },
      targets: [{ ip: "192.168.0.2", node: "n1" }],
      ingress: [
        {
          peers: { pods: ["192.168.1.2"], blocks: [{ cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] }] },
          ports: [{ protocol: "TCP", port: 80, endPort: 90 }, { protocol: "UDP" }],
          named: [{ ip: "192.168.0.2", protocol: "TCP", port: 8080 }],
        },
      ],
      egress: [{}],
    },
  });
  const bad = validateAgainstSchema(byKind.get("Port")!.spec.versions[0].schema.openAPIV3Schema, {
    spec: { ipAddress: "nope" },
  });
  assert.ok(bad.length > 0);
});

test("every address and CIDR field of the CRDs takes canonical forms only, the same as the code's", () => {
  const found: string[] = [];
  const walk = (node: any, path: string) => {
    if (!node || typeof node !== "object") return;
    if (typeof node.pattern === "string" && !path.endsWith("macAddress")) {
      const want = path.endsWith("cidr") || path.endsWith("except") ? IPV4_CIDR_PATTERN : IPV4_PATTERN;
      assert.equal(node.pattern, want, path);
      found.push(path);
    }
    for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${path}.${k}`);
    if (node.items) walk(node.items, path);
  };
  for (const crd of crds) walk(crd.spec.versions[0].schema.openAPIV3Schema, crd.spec.names.kind);
  assert.deepEqual(found.sort(), [
    "CompiledPolicy.spec.egress.named.ip",
    "CompiledPolicy.spec.egress.peers.blocks.cidr",
    "CompiledPolicy.spec.egress.peers.blocks.except",
    "CompiledPolicy.spec.egress.peers.pods",
    "CompiledPolicy.spec.ingress.named.ip",
    "CompiledPolicy.spec.ingress.peers.blocks.cidr",
    "CompiledPolicy.spec.ingress.peers.blocks.except",
    "CompiledPolicy.spec.ingress.peers.pods",
    "CompiledPolicy.spec.targets.ip",
    "FloatingIP.spec.fixedIPAddress",
    "FloatingIP.spec.floatingIPAddress",
    "LoadBalancer.spec.pools.members.address",
    "LoadBalancer.spec.vipAddress",
    "Network.spec.cidr",
    "Port.spec.ipAddress",
    "Subnet.spec.allocationPools.end",
    "Subnet.spec.allocationPools.start",
    "Subnet.spec.cidr",
    "Subnet.spec.gatewayIP",
  ]);
  const port = byKind.get("Port")!.spec.versions[0].schema.openAPIV3Schema;
  for (const ip of ["192.168.0.002", "192.168.00.2", " 192.168.0.2", "256.0.0.1"])
    assert.ok(validateAgainstSchema(port, { spec: { ipAddress: ip } }).length > 0, ip);
});
