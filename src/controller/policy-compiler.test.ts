import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../kube/objects.ts";
import {
  compilePolicy,
  type PolicyCluster,
  type PolicyPod,
  policyConcerns,
  policyReadsNamespaces,
} from "./policy-compiler.ts";

const ns: { name: string; labels: Record<string, string> }[] = [
  { name: "x", labels: { ns: "x", team: "red" } },
  { name: "y", labels: { ns: "y", team: "blue" } },
  { name: "z", labels: { ns: "z" } },
];
const pod = (
  namespace: string,
  name: string,
  ip: string | undefined,
  labels: Record<string, string>,
  extra: Partial<PolicyPod> = {},
): PolicyPod => ({
  namespace,
  name,
  ip,
  labels,
  node: name.endsWith("2") ? "n2" : "n1",
  namedPorts: [],
  hostNetwork: false,
  ...extra,
});
const PODS: PolicyPod[] = [
  pod(
    "x",
    "web1",
    "192.168.0.2",
    { app: "web" },
    { namedPorts: [{ name: "http", protocol: "TCP", port: 8080 }] },
  ),
  pod(
    "x",
    "web2",
    "192.168.0.3",
    { app: "web" },
    { namedPorts: [{ name: "http", protocol: "TCP", port: 9090 }] },
  ),
  pod(
    "x",
    "db1",
    "192.168.0.4",
    { app: "db" },
    { namedPorts: [{ name: "http", protocol: "UDP", port: 53 }] },
  ),
  pod("x", "new1", undefined, { app: "web" }),
  pod(
    "y",
    "web1",
    "192.168.1.2",
    { app: "web" },
    { namedPorts: [{ name: "http", protocol: "TCP", port: 8181 }] },
  ),
  pod("y", "cli1", "192.168.1.3", { app: "cli" }),
  pod("z", "cli1", "192.168.2.2", { app: "cli" }),
  pod("z", "host1", "10.254.0.2", { app: "cli" }, { hostNetwork: true }),
];
const cluster: PolicyCluster = { namespaces: () => ns, podsIn: (n) => PODS.filter((p) => p.namespace === n) };
const np = (spec: Record<string, unknown>, namespace = "x"): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "p", namespace, uid: "np-uid" },
  spec: { policyTypes: ["Ingress"], ...spec },
});
const compile = (spec: Record<string, unknown>, namespace?: string) =>
  compilePolicy(np(spec, namespace), cluster);

test("targets: the selected pods of the policy's namespace that have an address, with their nodes", () => {
  const { policy } = compile({ podSelector: { matchLabels: { app: "web" } } });
  assert.deepEqual(policy.policy, { namespace: "x", name: "p", uid: "np-uid" });
  assert.deepEqual(policy.targets, [
    { ip: "192.168.0.2", node: "n1" },
    { ip: "192.168.0.3", node: "n2" },
  ]);
  assert.deepEqual(policy.isolates, { ingress: true, egress: false });
  assert.deepEqual(policy.ingress, []);
  assert.deepEqual(compile({ podSelector: {} }).policy.targets.length, 3);
});

test("peers: podSelector alone in the policy's namespace, namespaceSelector alone, both in one peer", () => {
  const peers = (from: unknown[]) =>
    compile({ podSelector: {}, ingress: [{ from }] }).policy.ingress[0].peers;
  assert.deepEqual(peers([{ podSelector: { matchLabels: { app: "web" } } }]), {
    pods: ["192.168.0.2", "192.168.0.3"],
  });
  assert.deepEqual(peers([{ namespaceSelector: { matchLabels: { team: "blue" } } }]), {
    pods: ["192.168.1.2", "192.168.1.3"],
  });
  assert.deepEqual(peers([{ namespaceSelector: {}, podSelector: { matchLabels: { app: "cli" } } }]), {
    pods: ["192.168.1.3", "192.168.2.2"],
  });
  // Two peers are a union; a hostNetwork pod is never a peer by selector.
  assert.deepEqual(
    peers([
      { podSelector: { matchLabels: { app: "db" } } },
      { namespaceSelector: { matchLabels: { ns: "z" } } },
    ]),
    { pods: ["192.168.0.4", "192.168.2.2"] },
  );
  assert.deepEqual(peers([{ namespaceSelector: { matchLabels: { ns: "none" } } }]), { pods: [] });
});

test("an absent or empty from/ports means anyone / any port; ipBlocks keep their except; IPv6 ones match no IPv4 packet", () => {
  const { policy } = compile({
    podSelector: {},
    ingress: [
      {},
      { from: [] },
      {
        from: [
          { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } },
          { ipBlock: { cidr: "fd00::/8" } },
        ],
        ports: [],
      },
    ],
  });
  assert.deepEqual(policy.ingress, [
    {},
    {},
    { peers: { pods: [], blocks: [{ cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] }] } },
  ]);
});

test("numeric ports, ranges and protocol-only ports; named ports resolved per target with their protocol", () => {
  const { policy } = compile({
    podSelector: {},
    ingress: [
      {
        ports: [
          { protocol: "TCP", port: 80 },
          { protocol: "TCP", port: 1000, endPort: 2000 },
          { protocol: "UDP" },
          { protocol: "TCP", port: "http" },
        ],
      },
    ],
  });
  assert.deepEqual(policy.ingress[0].ports, [
    { protocol: "TCP", port: 80 },
    { protocol: "TCP", port: 1000, endPort: 2000 },
    { protocol: "UDP" },
  ]);
  // web1 and web2 name http differently; db1's http is UDP, so not this TCP one.
  assert.deepEqual(policy.ingress[0].named, [
    { ip: "192.168.0.2", protocol: "TCP", port: 8080 },
    { ip: "192.168.0.3", protocol: "TCP", port: 9090 },
  ]);
  const none = compile({
    podSelector: {},
    ingress: [{ ports: [{ protocol: "SCTP", port: "http" }] }],
  }).policy;
  assert.deepEqual(none.ingress[0], { ports: [], named: [] }, "a name no target has allows nothing");
});

test("egress named ports are resolved on the destination: the peers, the pods inside ipBlocks, or every pod", () => {
  const egress = (to: unknown[] | undefined) =>
    compile({
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ ...(to ? { to } : {}), ports: [{ port: "http" }] }],
    }).policy.egress[0].named;
  assert.deepEqual(egress([{ namespaceSelector: { matchLabels: { ns: "y" } } }]), [
    { ip: "192.168.1.2", protocol: "TCP", port: 8181 },
  ]);
  assert.deepEqual(egress([{ ipBlock: { cidr: "192.168.0.0/24", except: ["192.168.0.3/32"] } }]), [
    { ip: "192.168.0.2", protocol: "TCP", port: 8080 },
  ]);
  assert.deepEqual(egress(undefined), [
    { ip: "192.168.0.2", protocol: "TCP", port: 8080 },
    { ip: "192.168.0.3", protocol: "TCP", port: 9090 },
    { ip: "192.168.1.2", protocol: "TCP", port: 8181 },
  ]);
});

test("policyTypes decide the isolated directions; rules of a direction not isolated are not compiled", () => {
  const { policy } = compile({ podSelector: {}, policyTypes: ["Egress"], ingress: [{}], egress: [{}] });
  assert.deepEqual(policy.isolates, { ingress: false, egress: true });
  assert.deepEqual(policy.ingress, []);
  assert.deepEqual(policy.egress, [{}]);
});

test("a policy selecting a hostNetwork pod says it cannot enforce it there", () => {
  const { policy, warnings } = compile({ podSelector: {} }, "z");
  assert.deepEqual(policy.targets, [{ ip: "192.168.2.2", node: "n1" }]);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].field, "spec.podSelector");
  assert.match(warnings[0].message, /host1.*hostNetwork/);
});

test("policyConcerns: targets and peers by their labels and namespaces; policyReadsNamespaces", () => {
  const p = np({
    podSelector: { matchLabels: { app: "web" } },
    ingress: [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { team: "blue" } },
            podSelector: { matchLabels: { app: "cli" } },
          },
        ],
      },
    ],
  });
  const view = (namespace: string, labels: Record<string, string>) => ({ namespace, labels, namedPorts: [] });
  assert.ok(policyConcerns(p, view("x", { app: "web" }), ns[0].labels), "a target");
  assert.ok(!policyConcerns(p, view("y", { app: "web" }), ns[1].labels), "not a target in another namespace");
  assert.ok(policyConcerns(p, view("y", { app: "cli" }), ns[1].labels), "a peer");
  assert.ok(
    !policyConcerns(p, view("z", { app: "cli" }), ns[2].labels),
    "not a peer in an unselected namespace",
  );
  assert.ok(policyReadsNamespaces(p));
  assert.ok(!policyReadsNamespaces(np({ podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })));
  const named = np({ podSelector: {}, policyTypes: ["Egress"], egress: [{ ports: [{ port: "http" }] }] });
  assert.ok(
    policyConcerns(
      named,
      { namespace: "z", labels: {}, namedPorts: [{ name: "http", protocol: "TCP", port: 1 }] },
      {},
    ),
    "any pod with named ports can be the destination of a port-named egress rule to anyone",
  );
  assert.ok(!policyConcerns(named, { namespace: "z", labels: {}, namedPorts: [] }, {}));
});
