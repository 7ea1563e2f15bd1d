// NeutronPolicies over an in-memory stand-in for Neutron's security-group and port calls.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CompiledPolicy } from "../../api/compiled-policy.ts";
import { silentLogger } from "../../kube/log.ts";
import type {
  NeutronApi,
  NeutronPort,
  NeutronSecurityGroup,
  SecurityGroupRuleCreate,
} from "./neutron-api.ts";
import { describe } from "./ownership.ts";
import { NeutronPolicies } from "./security-groups.ts";
import { NeutronState } from "./state.ts";

/** Neutron's security groups and ports, as far as NeutronPolicies uses them. */
class GroupsNeutron {
  groups = new Map<string, NeutronSecurityGroup>();
  ports = new Map<string, NeutronPort>();
  calls: string[] = [];
  /** Fail the next call of these (once): "update" a port write, "rules" a rule create whose answer is lost. */
  failNext = new Set<"update" | "rules">();
  private n = 0;
  async getSecurityGroup(id: string) {
    return structuredClone(this.groups.get(id));
  }
  async createSecurityGroup(b: { name: string; description?: string }) {
    const id = `sg-${++this.n}`;
    // Neutron gives a new group two egress rules that allow everything (IPv4 and IPv6).
    const g: NeutronSecurityGroup = {
      id,
      name: b.name,
      description: b.description,
      project_id: "p",
      tags: [],
      security_group_rules: (["IPv4", "IPv6"] as const).map((ethertype) => ({
        id: `r-${++this.n}`,
        direction: "egress",
        ethertype,
        protocol: null,
        remote_ip_prefix: null,
      })),
    };
    this.groups.set(id, structuredClone(g));
    this.calls.push(`create group ${b.name}`);
    return g;
  }
  async createSecurityGroupRules(rules: SecurityGroupRuleCreate[]) {
    for (const r of rules) {
      const g = this.groups.get(r.security_group_id)!;
      const key = JSON.stringify([
        r.direction,
        r.protocol ?? null,
        r.port_range_min ?? null,
        r.remote_ip_prefix ?? null,
      ]);
      if (
        g.security_group_rules.some(
          (x) =>
            JSON.stringify([x.direction, x.protocol, x.port_range_min ?? null, x.remote_ip_prefix]) === key,
        )
      )
        throw new Error("409 SecurityGroupRuleExists");
    }
    const made = rules.map((r) => {
      const made = { id: `r-${++this.n}`, protocol: null, remote_ip_prefix: null, ...r };
      this.groups.get(r.security_group_id)!.security_group_rules.push(made);
      return made;
    });
    if (this.failNext.delete("rules")) throw new Error("the answer was lost");
    return made;
  }
  async deleteSecurityGroupRule(id: string) {
    for (const g of this.groups.values())
      g.security_group_rules = g.security_group_rules.filter((r) => r.id !== id);
  }
  async deleteSecurityGroup(id: string) {
    if ([...this.ports.values()].some((p) => p.security_groups?.includes(id)))
      throw new Error("SecurityGroupInUse");
    this.groups.delete(id);
    this.calls.push(`delete group ${id}`);
  }
  async updatePort(id: string, body: { security_groups?: string[] }) {
    if (this.failNext.delete("update"))
      throw Object.assign(new Error("500 Internal Server Error"), { status: 500 });
    const p = { ...this.ports.get(id)!, ...body };
    this.ports.set(id, p);
    this.calls.push(`port ${id} ${body.security_groups?.join(",")}`);
    return structuredClone(p);
  }
  async addTag() {}
}

const podPort = (id: string, ip: string): NeutronPort => ({
  id,
  name: id,
  network_id: "net",
  mac_address: "fa:16:3e:00:00:01",
  fixed_ips: [{ subnet_id: "sub", ip_address: ip }],
  status: "DOWN",
  admin_state_up: true,
  device_id: `uid-${id}`,
  device_owner: "compute:raven",
  "binding:host_id": "node-1",
  tenant_id: "p",
  project_id: "p",
  tags: [],
  description: describe("c1", { kind: "Pod", namespace: "x", name: id, uid: `uid-${id}` }),
});

const storeOn = (neutron: GroupsNeutron, state: NeutronState) =>
  new NeutronPolicies({
    neutron: neutron as unknown as NeutronApi,
    state,
    clusterId: "c1",
    logger: silentLogger,
    changed: () => {},
    deviceOwner: "compute:raven",
  });

function setup() {
  const neutron = new GroupsNeutron();
  const state = new NeutronState("c1");
  const ports = [podPort("a", "192.168.0.2"), podPort("b", "192.168.0.3")];
  for (const p of ports) {
    neutron.ports.set(p.id, p);
    state.putPort(structuredClone(p));
  }
  return { neutron, state, store: storeOn(neutron, state) };
}

const policy = (
  name: string,
  targets: string[],
  ingress: CompiledPolicy["ingress"] = [],
  isolates: CompiledPolicy["isolates"] = { ingress: true, egress: false },
): CompiledPolicy => ({
  policy: { namespace: "x", name, uid: `np-${name}` },
  isolates,
  targets: targets.map((ip) => ({ ip, node: "node-1" })),
  ingress,
  egress: [],
});
const groupsOf = (n: GroupsNeutron, port: string) =>
  (n.ports.get(port)!.security_groups ?? []).map((id) => n.groups.get(id)?.name).sort();

test("a policy is a group with exactly its rules, on the selected ports; the others get raven-default", async () => {
  const { neutron, store } = setup();
  await store.ensure(policy("web", ["192.168.0.2"], [{ ports: [{ protocol: "TCP", port: 80 }] }]));
  const web = [...neutron.groups.values()].find((g) => g.name === "raven-np-x-web")!;
  assert.deepEqual(
    web.security_group_rules
      .map((r) => `${r.direction} ${r.ethertype} ${r.protocol} ${r.port_range_min ?? ""}`)
      .sort(),
    ["ingress IPv4 tcp 80"],
    "Neutron's default egress rules removed: the policy does not isolate egress",
  );
  assert.deepEqual(
    groupsOf(neutron, "a"),
    ["raven-allow-egress", "raven-np-x-web"],
    "the direction the policy leaves open is allowed by the cluster's group for it",
  );
  assert.deepEqual(
    groupsOf(neutron, "b"),
    ["raven-default"],
    "a pod port without Raven's groups gets the default one",
  );
  const dflt = [...neutron.groups.values()].find((g) => g.name === "raven-default")!;
  assert.deepEqual(dflt.security_group_rules.map((r) => `${r.direction} ${r.ethertype}`).sort(), [
    "egress IPv4",
    "ingress IPv4",
  ]);
  // The same policy again: nothing to do.
  const calls = neutron.calls.length;
  await store.ensure(policy("web", ["192.168.0.2"], [{ ports: [{ protocol: "TCP", port: 80 }] }]));
  assert.equal(neutron.calls.length, calls);
});

test("two policies on one port, synced at once, both stay; deleting one leaves the other, deleting both gives raven-default", async () => {
  const { neutron, store } = setup();
  await Promise.all([
    store.ensure(policy("p1", ["192.168.0.2"])),
    store.ensure(policy("p2", ["192.168.0.2", "192.168.0.3"])),
  ]);
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-allow-egress", "raven-np-x-p1", "raven-np-x-p2"]);
  assert.deepEqual(groupsOf(neutron, "b"), ["raven-allow-egress", "raven-np-x-p2"]);
  await store.delete("x", "p1");
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-allow-egress", "raven-np-x-p2"]);
  assert.ok(![...neutron.groups.values()].some((g) => g.name === "raven-np-x-p1"), "its group deleted");
  await store.delete("x", "p2");
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-default"]);
  assert.deepEqual(groupsOf(neutron, "b"), ["raven-default"]);
});

test("a pod that leaves a policy's selection goes back to raven-default", async () => {
  const { neutron, store } = setup();
  await store.ensure(policy("p", ["192.168.0.2", "192.168.0.3"]));
  await store.ensure(policy("p", ["192.168.0.3"]));
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-default"]);
  assert.deepEqual(groupsOf(neutron, "b"), ["raven-allow-egress", "raven-np-x-p"]);
});

test("after a restart the listing says who carries which group; the sweep removes groups of policies gone meanwhile", async () => {
  const { neutron, state, store } = setup();
  await store.ensure(policy("old", ["192.168.0.2"]));
  // A new process lists Neutron.
  const again = storeOn(neutron, state);
  again.replace([...neutron.groups.values()].map((g) => structuredClone(g)));
  assert.deepEqual(again.list().find((p) => p.policy.name === "raven-np-x-old")?.targets, [
    { ip: "192.168.0.2", node: "node-1" },
  ]);
  await again.sweep(new Set(["np-other"]));
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-default"]);
  assert.ok(![...neutron.groups.values()].some((g) => g.name === "raven-np-x-old"));
});

test("a port write that failed is made by the next call, whichever policy it is for", async () => {
  const { neutron, store } = setup();
  await store.ensure(policy("p1", ["192.168.0.2"]));
  neutron.failNext.add("update");
  await assert.rejects(store.delete("x", "p1"), /500/);
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-allow-egress", "raven-np-x-p1"], "the write failed");
  // Another policy's sync (or the same delete again) finds the port still wrong and writes it.
  await store.ensure(policy("p2", ["192.168.0.3"]));
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-default"]);
  await store.delete("x", "p1");
  assert.ok(![...neutron.groups.values()].some((g) => g.name === "raven-np-x-p1"), "and the group goes");
});

test("rules whose create answer was lost are read again before the next try (no duplicate-rule error)", async () => {
  const { neutron, store } = setup();
  await store.defaultGroupId();
  neutron.failNext.add("rules");
  const p = policy("web", ["192.168.0.2"], [{ ports: [{ protocol: "TCP", port: 80 }] }]);
  await assert.rejects(store.ensure(p), /answer was lost/);
  await store.ensure(p);
  const web = [...neutron.groups.values()].find((g) => g.name === "raven-np-x-web")!;
  assert.equal(web.security_group_rules.filter((r) => r.protocol === "tcp").length, 1);
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-allow-egress", "raven-np-x-web"]);
});

test("an ingress-only and an egress-only policy on one port: each direction is its isolating policy's alone", async () => {
  const { neutron, store } = setup();
  await store.ensure(policy("out", ["192.168.0.2", "192.168.0.3"], [], { ingress: false, egress: true }));
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-allow-ingress", "raven-np-x-out"]);
  await store.ensure(policy("in", ["192.168.0.2"], [{ peers: { pods: ["192.168.0.9"] } }]));
  // No allow-all group left on a: ingress is only the "in" policy's, egress only the "out" one's.
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-np-x-in", "raven-np-x-out"]);
  assert.deepEqual(groupsOf(neutron, "b"), ["raven-allow-ingress", "raven-np-x-out"]);
  const out = [...neutron.groups.values()].find((g) => g.name === "raven-np-x-out")!;
  assert.deepEqual(out.security_group_rules, [], "deny-all egress: no rules at all");
  // As the node agent reads them back: a is isolated both ways, with 192.168.0.9 allowed in only.
  const seen = store.list().filter((p) => p.targets.some((t) => t.ip === "192.168.0.2"));
  assert.deepEqual(seen.flatMap((p) => p.ingress.map((r) => r.peers?.pods ?? "any")).sort(), [
    ["192.168.0.9"],
  ]);
  assert.deepEqual(
    seen.flatMap((p) => p.egress),
    [],
  );
});

test("a policy whose directions change gets a new group; the old one goes once no port has it", async () => {
  const { neutron, store } = setup();
  await store.ensure(policy("p", ["192.168.0.2"]));
  const first = [...neutron.groups.values()].find((g) => g.name === "raven-np-x-p")!.id;
  await store.ensure(policy("p", ["192.168.0.2"], [], { ingress: true, egress: true }));
  const now = [...neutron.groups.values()].filter((g) => g.name === "raven-np-x-p");
  assert.equal(now.length, 1);
  assert.notEqual(now[0].id, first);
  assert.match(now[0].description ?? "", /isolates=ingress\/egress/);
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-np-x-p"]);
});

test("a listing begun before this process's writes undoes none of them", async () => {
  const { neutron, state, store } = setup();
  await store.defaultGroupId();
  // A resync starts listing; meanwhile a policy is synced; the listing (without its group, with
  // the ports as they were) lands after.
  const since = store.listingStarts();
  const groups = [...neutron.groups.values()].map((g) => structuredClone(g));
  const portA = structuredClone(state.allPorts().find((o) => o.port.id === "a")!.port);
  await store.ensure(policy("p", ["192.168.0.2"]));
  state.putPort(portA);
  store.replace(groups, since);
  assert.deepEqual(
    store
      .list()
      .find((p) => p.policy.name === "raven-np-x-p")
      ?.targets.map((t) => t.ip),
    ["192.168.0.2"],
    "the node still sees the group on a",
  );
  // Another policy's sync and the periodic pass leave a as it is...
  await store.ensure(policy("q", ["192.168.0.3"]));
  await store.sweep(new Set(["np-p", "np-q"]));
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-allow-egress", "raven-np-x-p"]);
  // ...and deleting the policy writes a back (the stale listing showed it as it was) and the
  // group goes; a listing begun before the delete does not bring the group back.
  const beforeDelete = store.listingStarts();
  const listedBeforeDelete = [...neutron.groups.values()].map((g) => structuredClone(g));
  await store.delete("x", "p");
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-default"]);
  assert.ok(![...neutron.groups.values()].some((g) => g.name === "raven-np-x-p"));
  assert.ok(listedBeforeDelete.some((g) => g.name === "raven-np-x-p"));
  store.replace(listedBeforeDelete, beforeDelete);
  assert.ok(!store.list().some((p) => p.policy.name === "raven-np-x-p"));
});

test("the periodic pass rewrites a port whose groups were changed behind Raven's back", async () => {
  const { neutron, state, store } = setup();
  await store.ensure(policy("p", ["192.168.0.2"]));
  const a = neutron.ports.get("a")!;
  neutron.ports.set("a", { ...a, security_groups: [] });
  state.putPort(structuredClone(neutron.ports.get("a")!));
  store.replace([...neutron.groups.values()].map((g) => structuredClone(g)));
  await store.sweep(new Set(["np-p"]));
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-allow-egress", "raven-np-x-p"]);
});
