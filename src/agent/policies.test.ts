import assert from "node:assert/strict";
import { test } from "node:test";
import type { CompiledPolicy } from "../api/compiled-policy.ts";
import type { Nft } from "../dataplane/nft.ts";
import { silentLogger } from "../kube/log.ts";
import { PolicyEnforcer } from "./policies.ts";

class RecordingNft implements Nft {
  scripts: string[] = [];
  failNext = false;
  async apply(script: string): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("nft: Error: Could not process rule");
    }
    this.scripts.push(script);
  }
  async listTable(): Promise<unknown> {
    return undefined;
  }
}

const compiled = (
  name: string,
  targets: [string, string][],
  ingress: CompiledPolicy["ingress"] = [],
): CompiledPolicy => ({
  policy: { namespace: "x", name, uid: `uid-${name}` },
  isolates: { ingress: true, egress: false },
  targets: targets.map(([ip, node]) => ({ ip, node })),
  ingress,
  egress: [],
});

function enforcer(policies: () => CompiledPolicy[]) {
  const nft = new RecordingNft();
  const applied: boolean[] = [];
  const e = new PolicyEnforcer({
    policies,
    nft,
    table: "raven-policy",
    nodeName: "n1",
    log: silentLogger,
    onApplied: (i) => applied.push(i.whole),
  });
  return { e, nft, applied };
}

test("only this node's pods: a policy with no pod here is not programmed", () => {
  const { e } = enforcer(() => [
    compiled("here", [
      ["192.168.0.2", "n1"],
      ["192.168.0.3", "n2"],
    ]),
    compiled("there", [["192.168.0.4", "n2"]]),
  ]);
  const m = e.model();
  assert.equal(m.policies.length, 1);
  assert.deepEqual(m.policies[0].targets, ["192.168.0.2"]);
  assert.deepEqual(m.policies[0].ingress, []);
  assert.equal(m.policies[0].egress, undefined, "egress not isolated");
});

test("the first sync writes the whole table, later ones only the difference; nothing when nothing changed", async () => {
  let policies = [compiled("a", [["192.168.0.2", "n1"]], [{ peers: { pods: ["192.168.1.2"] } }])];
  const { e, nft, applied } = enforcer(() => policies);
  await e.sync();
  assert.match(nft.scripts[0], /^table ip raven-policy\ndelete table ip raven-policy\n/);
  policies = [compiled("a", [["192.168.0.2", "n1"]], [{ peers: { pods: ["192.168.1.2", "192.168.1.3"] } }])];
  await e.sync();
  assert.equal(nft.scripts[1], "add element ip raven-policy p1-in0-a { 192.168.1.3 }\n");
  await e.sync();
  assert.equal(nft.scripts.length, 2);
  assert.deepEqual(applied, [true, false]);
});

test("a policy whose rules change shape gets new sets and chains under a new id", async () => {
  let policies = [compiled("a", [["192.168.0.2", "n1"]], [{ peers: { pods: [] } }])];
  const { e, nft } = enforcer(() => policies);
  await e.sync();
  policies = [compiled("a", [["192.168.0.2", "n1"]], [{ ports: [{ protocol: "TCP", port: 80 }] }])];
  await e.sync();
  assert.match(nft.scripts[1], /add chain ip raven-policy p2-in\n/);
  assert.match(nft.scripts[1], /delete chain ip raven-policy p1-in\n/);
  assert.match(
    nft.scripts[1],
    /add set ip raven-policy p2-in0-p \{ type inet_proto \. inet_service; flags interval; elements = \{ tcp \. 80 \} \}/,
  );
});

test("after a failed apply the next sync writes the whole table again", async () => {
  let policies = [compiled("a", [["192.168.0.2", "n1"]])];
  const { e, nft } = enforcer(() => policies);
  await e.sync();
  policies = [
    compiled("a", [
      ["192.168.0.2", "n1"],
      ["192.168.0.5", "n1"],
    ]),
  ];
  nft.failNext = true;
  await assert.rejects(e.sync(), /Could not process rule/);
  await e.sync();
  assert.match(nft.scripts[1], /^table ip raven-policy\ndelete table ip raven-policy\n/);
  assert.match(
    nft.scripts[1],
    /set p1-t \{ type ipv4_addr; elements = \{ 192\.168\.0\.2, 192\.168\.0\.5 \} \}/,
  );
});

test("compiled ports become ranges: one port, port to endPort, or the whole protocol; ipBlocks become ranges", () => {
  const { e } = enforcer(() => [
    compiled(
      "a",
      [["192.168.0.2", "n1"]],
      [
        {
          peers: { pods: [], blocks: [{ cidr: "10.0.0.0/24", except: ["10.0.0.128/25"] }] },
          ports: [
            { protocol: "TCP", port: 80 },
            { protocol: "TCP", port: 1000, endPort: 1010 },
            { protocol: "SCTP" },
          ],
        },
      ],
    ),
  ]);
  assert.deepEqual(e.model().policies[0].ingress, [
    {
      peers: { pods: [], ranges: ["10.0.0.0-10.0.0.127"] },
      ports: [
        { protocol: "TCP", from: 80, to: 80 },
        { protocol: "TCP", from: 1000, to: 1010 },
        { protocol: "SCTP", from: 0, to: 65535 },
      ],
    },
  ]);
});

test("an unchanged compiled policy keeps its plan object, so an update skips it without comparing", () => {
  const same = compiled("a", [["192.168.0.2", "n1"]], [{ peers: { pods: ["192.168.1.2"] } }]);
  let policies = [same];
  const { e } = enforcer(() => policies);
  const first = e.model().policies[0];
  assert.equal(e.model().policies[0], first);
  policies = [{ ...same, targets: [...same.targets, { ip: "192.168.0.7", node: "n1" }] }];
  const changed = e.model().policies[0];
  assert.notEqual(changed, first);
  assert.equal(changed.id, first.id, "same shape, same id");
  assert.deepEqual(changed.targets, ["192.168.0.2", "192.168.0.7"]);
});
