import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import {
  blockRanges,
  type PlannedPolicy,
  type PolicyModel,
  planPolicyTable,
  planPolicyUpdate,
  policyCounts,
  policyShape,
} from "./nft-policy.ts";

const web: PlannedPolicy = {
  id: 1,
  targets: ["192.168.0.2"],
  ingress: [
    {
      peers: { pods: ["192.168.1.2"], ranges: ["10.0.0.0-10.0.255.255"] },
      ports: [
        { protocol: "TCP", from: 80, to: 80 },
        { protocol: "TCP", from: 81, to: 90 },
        { protocol: "UDP", from: 0, to: 65535 },
      ],
      named: [{ ip: "192.168.0.2", protocol: "TCP", port: 8080 }],
    },
  ],
};
const denyOut: PlannedPolicy = { id: 2, targets: ["192.168.0.3"], egress: [] };
const model = (...policies: PlannedPolicy[]): PolicyModel => ({ table: "rvpol", policies });
/** The chain of a combination of policies (by id) in one direction. */
const combo = (dir: "in" | "out", ...ids: number[]) =>
  `${dir}-${createHash("sha1").update(ids.join(",")).digest("hex").slice(0, 12)}`;

test("the whole table: dispatch maps by pod, a set per pod list, range and named port, one rule per peer kind x port kind", () => {
  const s = planPolicyTable(model(web, denyOut));
  assert.ok(s.startsWith("table ip rvpol\ndelete table ip rvpol\ntable ip rvpol {\n"), "replaces atomically");
  assert.ok(
    s.includes(
      `map ingress-dispatch { type ipv4_addr : verdict; elements = { 192.168.0.2 : jump ${combo("in", 1)} } }`,
    ),
  );
  assert.ok(
    s.includes(
      `map egress-dispatch { type ipv4_addr : verdict; elements = { 192.168.0.3 : jump ${combo("out", 2)} } }`,
    ),
  );
  // Adjacent TCP ranges merge (an interval set refuses overlaps); a protocol without port is all of them.
  assert.match(
    s,
    /set p1-in0-p \{ type inet_proto \. inet_service; flags interval; elements = \{ tcp \. 80-90, udp \. 0-65535 \} \}/,
  );
  assert.match(
    s,
    /set p1-in0-n \{ type ipv4_addr \. inet_proto \. inet_service; elements = \{ 192\.168\.0\.2 \. tcp \. 8080 \} \}/,
  );
  const chain = s.slice(s.indexOf("chain p1-in {"), s.indexOf("}", s.indexOf("chain p1-in {")));
  assert.deepEqual(
    chain
      .split("\n")
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean),
    [
      "ip saddr @p1-in0-a meta l4proto . th dport @p1-in0-p accept",
      "ip saddr @p1-in0-a ip daddr . meta l4proto . th dport @p1-in0-n accept",
      "ip saddr @p1-in0-c meta l4proto . th dport @p1-in0-p accept",
      "ip saddr @p1-in0-c ip daddr . meta l4proto . th dport @p1-in0-n accept",
    ],
  );
  // Egress with no rules: an empty chain, so the combination chain's reject decides.
  assert.match(s, /chain p2-out \{\n {2}\}/);
  assert.ok(
    s.includes(`chain ${combo("out", 2)} {\n    jump p2-out\n    reject with icmp type admin-prohibited\n`),
  );
  assert.match(
    s,
    /ct state established,related accept\n {4}ip saddr vmap @egress-dispatch\n {4}ip daddr vmap @ingress-dispatch\n/,
  );
});

test("egress rules go on to the ingress check of the destination; their peers are destinations", () => {
  const p: PlannedPolicy = {
    id: 3,
    targets: ["192.168.0.5"],
    egress: [{ peers: { pods: ["192.168.2.2"], ranges: [] } }],
  };
  const s = planPolicyTable(model(p));
  assert.match(s, /chain p3-out \{\n {4}ip daddr @p3-out0-a goto egress-ok\n/);
  assert.match(s, /chain egress-ok \{\n {4}ip daddr vmap @ingress-dispatch\n {4}accept\n/);
});

test("an update changes only elements while policies keep their shape", () => {
  const after = {
    ...web,
    targets: ["192.168.0.2", "192.168.0.9"],
    ingress: [{ ...web.ingress![0], peers: { pods: ["192.168.1.3"], ranges: ["10.0.0.0-10.0.255.255"] } }],
  };
  assert.equal(
    planPolicyUpdate(model(web), model(after)),
    [
      "add element ip rvpol p1-t { 192.168.0.9 }",
      "delete element ip rvpol p1-in0-a { 192.168.1.2 }",
      "add element ip rvpol p1-in0-a { 192.168.1.3 }",
      `add element ip rvpol ingress-dispatch { 192.168.0.9 : jump ${combo("in", 1)} }`,
      "",
    ].join("\n"),
  );
  assert.equal(planPolicyUpdate(model(web), model(web)), "", "nothing changed, nothing to apply");
  const ranges = {
    ...web,
    ingress: [{ ...web.ingress![0], peers: { pods: ["192.168.1.2"], ranges: ["10.0.0.0-10.0.0.255"] } }],
  };
  assert.equal(
    planPolicyUpdate(model(web), model(ranges)),
    "flush set ip rvpol p1-in0-c\nadd element ip rvpol p1-in0-c { 10.0.0.0-10.0.0.255 }\n",
    "an interval set is replaced whole",
  );
});

test("policies that come and go: their sets and chains first, then combinations and verdicts, the gone ones deleted last", () => {
  const s = planPolicyUpdate(model(web), model(denyOut)).split("\n");
  const at = (line: string) => {
    const i = s.indexOf(line);
    assert.ok(i >= 0, `missing: ${line}\n${s.join("\n")}`);
    return i;
  };
  assert.ok(
    at("add set ip rvpol p2-t { type ipv4_addr; elements = { 192.168.0.3 } }") <
      at(`add chain ip rvpol ${combo("out", 2)}`),
  );
  assert.ok(at("add chain ip rvpol p2-out") < at(`add rule ip rvpol ${combo("out", 2)} jump p2-out`));
  assert.ok(
    at(`add rule ip rvpol ${combo("out", 2)} jump p2-out`) <
      at(`add element ip rvpol egress-dispatch { 192.168.0.3 : jump ${combo("out", 2)} }`),
  );
  assert.ok(
    at("delete element ip rvpol ingress-dispatch { 192.168.0.2 }") <
      at(`delete chain ip rvpol ${combo("in", 1)}`),
  );
  assert.ok(at(`delete chain ip rvpol ${combo("in", 1)}`) < at("delete chain ip rvpol p1-in"));
  assert.ok(at("delete chain ip rvpol p1-in") < at("delete set ip rvpol p1-t"));
});

test("a pod in two policies jumps to one chain of both; its verdict moves when its combination changes", () => {
  const other: PlannedPolicy = { id: 3, targets: ["192.168.0.2"], ingress: [] };
  const s = planPolicyTable(model(web, other));
  assert.ok(s.includes(`192.168.0.2 : jump ${combo("in", 1, 3)}`));
  assert.ok(
    s.includes(
      `chain ${combo("in", 1, 3)} {\n    jump p1-in\n    jump p3-in\n    reject with icmp type admin-prohibited\n`,
    ),
  );
  const u = planPolicyUpdate(model(web, other), model(web, { ...other, targets: [] }));
  assert.ok(
    u.includes(
      `delete element ip rvpol ingress-dispatch { 192.168.0.2 }\nadd element ip rvpol ingress-dispatch { 192.168.0.2 : jump ${combo("in", 1)} }`,
    ),
  );
  assert.ok(u.includes(`add chain ip rvpol ${combo("in", 1)}`));
  assert.ok(u.includes(`delete chain ip rvpol ${combo("in", 1, 3)}`));
});

test("a policy that changes shape needs a new id; its shape ignores the id and the elements", () => {
  const reshaped = { ...web, ingress: [{}] };
  assert.throws(() => planPolicyUpdate(model(web), model(reshaped)), /changed shape/);
  assert.equal(policyShape(web), policyShape({ ...web, id: 7, targets: ["10.0.0.1"] }));
  assert.notEqual(policyShape(web), policyShape(reshaped));
  assert.notEqual(
    policyShape({ id: 1, targets: [], ingress: [] }),
    policyShape({ id: 1, targets: [] }),
    "deny-all is a shape",
  );
});

test("ipBlocks as ranges: except cut out, overlapping blocks merged, single addresses plain", () => {
  assert.deepEqual(blockRanges([{ cidr: "10.0.0.0/8", except: ["10.1.0.0/16", "10.255.255.255/32"] }]), [
    "10.0.0.0-10.0.255.255",
    "10.2.0.0-10.255.255.254",
  ]);
  assert.deepEqual(
    blockRanges([{ cidr: "192.168.0.0/24" }, { cidr: "192.168.0.128/25" }, { cidr: "192.168.1.0/24" }]),
    ["192.168.0.0-192.168.1.255"],
  );
  assert.deepEqual(blockRanges([{ cidr: "192.168.0.4/32" }]), ["192.168.0.4"]);
  assert.deepEqual(blockRanges([{ cidr: "192.168.0.4/32", except: ["192.168.0.4/32"] }]), []);
  assert.deepEqual(blockRanges([{ cidr: "0.0.0.0/0", except: ["0.0.0.0/1"] }]), [
    "128.0.0.0-255.255.255.255",
  ]);
});

test("counts: rules grow with policies' rules, set elements with pods", () => {
  const many = (n: number, pods: number): PolicyModel =>
    model(
      ...Array.from({ length: n }, (_, i) => ({
        ...web,
        id: i + 1,
        targets: Array.from({ length: pods }, (_, j) => `192.168.${i}.${j + 2}`),
      })),
    );
  const small = policyCounts(many(10, 1));
  const big = policyCounts(many(10, 100));
  assert.equal(big.rules, small.rules, "more pods: no more rules");
  assert.ok(big.elements > small.elements + 900);
  assert.ok(policyCounts(many(20, 1)).rules > small.rules);
});
