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
): CompiledPolicy => ({
  policy: { namespace: "x", name, uid: `np-${name}` },
  isolates: { ingress: true, egress: false },
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
    ["egress IPv4 null ", "ingress IPv4 tcp 80"],
    "Neutron's IPv6 default egress rule removed, the IPv4 one kept as wanted",
  );
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-np-x-web"]);
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
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-np-x-p1", "raven-np-x-p2"]);
  assert.deepEqual(groupsOf(neutron, "b"), ["raven-np-x-p2"]);
  await store.delete("x", "p1");
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-np-x-p2"]);
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
  assert.deepEqual(groupsOf(neutron, "b"), ["raven-np-x-p"]);
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
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-np-x-p1"], "the write failed");
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
  assert.deepEqual(groupsOf(neutron, "a"), ["raven-np-x-web"]);
});
