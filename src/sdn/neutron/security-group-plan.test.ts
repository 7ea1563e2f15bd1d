import assert from "node:assert/strict";
import { test } from "node:test";
import type { CompiledPolicy } from "../../api/compiled-policy.ts";
import {
  allowGroupsFor,
  blockCidrs,
  planGroups,
  policiesFromGroups,
  rangeToCidrs,
  ruleKey,
} from "./security-group-plan.ts";

const policy = (over: Partial<CompiledPolicy>): CompiledPolicy => ({
  policy: { namespace: "x", name: "p", uid: "u" },
  isolates: { ingress: true, egress: false },
  targets: [{ ip: "192.168.0.2", node: "n1" }],
  ingress: [],
  egress: [],
  ...over,
});
const keys = (p: CompiledPolicy) => planGroups(p).map((g) => ({ ...g, rules: g.rules.map(ruleKey) }));

test("deny-all in either direction: a group without rules (the other direction is not the policy's)", () => {
  assert.deepEqual(keys(policy({})), [{ suffix: "", targets: ["192.168.0.2"], rules: [] }]);
  assert.deepEqual(keys(policy({ isolates: { ingress: false, egress: true } })), [
    { suffix: "", targets: ["192.168.0.2"], rules: [] },
  ]);
});

test("a port's cluster groups: raven-default without policies, else an allow group per direction none isolates", () => {
  assert.deepEqual(allowGroupsFor([]), ["default"]);
  assert.deepEqual(allowGroupsFor([{ ingress: true, egress: false }]), ["egress"]);
  assert.deepEqual(
    allowGroupsFor([
      { ingress: true, egress: false },
      { ingress: false, egress: true },
    ]),
    [],
  );
  assert.deepEqual(allowGroupsFor([{ ingress: false, egress: true }]), ["ingress"]);
});

test("peers as /32 prefixes and exact ipBlock prefixes; ports, ranges and protocol-only rules", () => {
  const [g] = planGroups(
    policy({
      ingress: [
        {
          peers: { pods: ["192.168.1.2"], blocks: [{ cidr: "10.0.0.0/30", except: ["10.0.0.1/32"] }] },
          ports: [{ protocol: "TCP", port: 80, endPort: 90 }, { protocol: "UDP" }],
        },
        {},
      ],
    }),
  );
  assert.deepEqual(g.rules.map(ruleKey), [
    "ingress IPv4 tcp 80 90 192.168.1.2/32",
    "ingress IPv4 udp   192.168.1.2/32",
    "ingress IPv4 tcp 80 90 10.0.0.0/32",
    "ingress IPv4 udp   10.0.0.0/32",
    "ingress IPv4 tcp 80 90 10.0.0.2/31",
    "ingress IPv4 udp   10.0.0.2/31",
    "ingress IPv4    ",
  ]);
});

test("a named port with different numbers on different pods splits the policy into groups", () => {
  const groups = planGroups(
    policy({
      targets: [
        { ip: "192.168.0.2", node: "n1" },
        { ip: "192.168.0.3", node: "n1" },
        { ip: "192.168.0.4", node: "n2" },
      ],
      ingress: [
        {
          ports: [],
          named: [
            { ip: "192.168.0.2", protocol: "TCP", port: 8080 },
            { ip: "192.168.0.3", protocol: "TCP", port: 9090 },
            { ip: "192.168.0.4", protocol: "TCP", port: 8080 },
          ],
        },
      ],
    }),
  );
  assert.deepEqual(
    groups.map((g) => [g.suffix, g.targets, g.rules.map(ruleKey)]),
    [
      ["", ["192.168.0.2", "192.168.0.4"], ["ingress IPv4 tcp 8080 8080 "]],
      ["-2", ["192.168.0.3"], ["ingress IPv4 tcp 9090 9090 "]],
    ],
  );
});

test("egress named ports: a rule per destination pod and its number", () => {
  const [g] = planGroups(
    policy({
      isolates: { ingress: false, egress: true },
      egress: [
        {
          peers: { pods: ["192.168.1.2"] },
          ports: [],
          named: [{ ip: "192.168.1.2", protocol: "UDP", port: 53 }],
        },
      ],
    }),
  );
  assert.deepEqual(g.rules.map(ruleKey), ["egress IPv4 udp 53 53 192.168.1.2/32"]);
});

test("ranges as exact prefixes", () => {
  const n = (ip: string) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  assert.deepEqual(rangeToCidrs(n("10.0.0.1"), n("10.0.0.6")), [
    "10.0.0.1/32",
    "10.0.0.2/31",
    "10.0.0.4/31",
    "10.0.0.6/32",
  ]);
  assert.deepEqual(rangeToCidrs(0, 2 ** 32 - 1), ["0.0.0.0/0"]);
  assert.deepEqual(blockCidrs({ cidr: "10.0.0.0/8", except: ["10.0.0.0/9"] }), ["10.128.0.0/9"]);
  assert.equal(blockCidrs({ cidr: "10.0.0.0/8", except: ["10.1.2.3/32"] }).length, 24);
});

test("security groups back to policies: members by port, rules with equal ports merged, remote groups as addresses", () => {
  const [web, other] = policiesFromGroups(
    [
      {
        id: "sg-web",
        name: "raven-np-x-web",
        security_group_rules: [
          {
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            port_range_min: 80,
            port_range_max: 80,
            remote_ip_prefix: "192.168.1.2/32",
          },
          {
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            port_range_min: 80,
            port_range_max: 80,
            remote_ip_prefix: "10.0.0.0/8",
          },
          {
            direction: "ingress",
            ethertype: "IPv4",
            protocol: null,
            remote_ip_prefix: null,
            remote_group_id: "sg-other",
          },
          { direction: "egress", ethertype: "IPv4", protocol: null, remote_ip_prefix: null },
          { direction: "egress", ethertype: "IPv6", protocol: null, remote_ip_prefix: null },
        ],
      },
      { id: "sg-other", name: "raven-default", security_group_rules: [] },
    ],
    [
      { ip: "192.168.0.2", node: "n1", groups: ["sg-web"] },
      { ip: "192.168.0.3", node: "n2", groups: ["sg-other"] },
    ],
  );
  assert.deepEqual(web.targets, [{ ip: "192.168.0.2", node: "n1" }]);
  assert.deepEqual(web.isolates, { ingress: true, egress: true });
  assert.deepEqual(web.ingress, [
    {
      peers: { pods: ["192.168.1.2"], blocks: [{ cidr: "10.0.0.0/8" }] },
      ports: [{ protocol: "TCP", port: 80, endPort: 80 }],
    },
    { peers: { pods: ["192.168.0.3"] } },
  ]);
  assert.deepEqual(web.egress, [{}]);
  assert.deepEqual(other.ingress, [], "a group without rules allows nothing");
});
