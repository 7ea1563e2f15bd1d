// Port pools over a fake Neutron (the real one is in test/neutron-backend.test.ts): a take is
// the pod's at once and its update follows, survives a resync that predates it, is retried
// until Neutron has it, and is dropped when the port goes back first; reserved ports go only
// to the pod that claims them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../kube/log.ts";
import type { Owner } from "../model.ts";
import { OpenStackError } from "./http.ts";
import type { NeutronApi, NeutronPort } from "./neutron-api.ts";
import { describe } from "./ownership.ts";
import { POOL_OWNER, PortPools } from "./port-pools.ts";
import { NeutronState } from "./state.ts";

const CLUSTER = "c1";
const pooledText = describe(CLUSTER, POOL_OWNER, { pooled: true });
const owner = (name: string): Owner => ({ kind: "Pod", namespace: "default", name, uid: `uid-${name}` });
const update = (name: string) => ({
  name,
  device_id: owner(name).uid,
  description: describe(CLUSTER, owner(name)),
});

function pooledPort(n: number): NeutronPort {
  return {
    id: `p${n}`,
    name: POOL_OWNER.name,
    network_id: "net",
    mac_address: `fa:16:3e:00:00:0${n}`,
    fixed_ips: [{ subnet_id: "sub", ip_address: `10.0.0.${n + 10}` }],
    device_owner: "compute:raven",
    device_id: "",
    status: "DOWN",
    "binding:host_id": "node-1",
    description: pooledText,
    admin_state_up: true,
    tenant_id: "p",
    project_id: "p",
    tags: [],
  };
}

/** Neutron's port updates, each answered when the test says (or failing as it says). */
class FakeNeutron {
  readonly ports = new Map<string, NeutronPort>();
  readonly updates: { id: string; name: string }[] = [];
  private readonly waiting: (() => void)[] = [];
  failNext: OpenStackError[] = [];
  hold = false;

  async updatePort(id: string, body: Partial<NeutronPort>): Promise<NeutronPort> {
    if (this.hold) await new Promise<void>((r) => this.waiting.push(r));
    const err = this.failNext.shift();
    if (err) throw err;
    const p = this.ports.get(id);
    if (!p) throw new OpenStackError(404, "PUT", `/v2.0/ports/${id}`, "PortNotFound", "gone");
    const next = { ...p, ...body } as NeutronPort;
    this.ports.set(id, next);
    this.updates.push({ id, name: String(body.name) });
    return next;
  }
  release(): void {
    this.hold = false;
    for (const r of this.waiting.splice(0)) r();
  }
  async createPorts(): Promise<NeutronPort[]> {
    return [];
  }
  async addTag(): Promise<void> {}
}

function setup(n = 3) {
  const neutron = new FakeNeutron();
  const state = new NeutronState(CLUSTER);
  for (let i = 1; i <= n; i++) {
    const p = pooledPort(i);
    neutron.ports.set(p.id, p);
    state.putPort(p);
  }
  const lost: Owner[] = [];
  const pools = new PortPools({
    neutron: neutron as unknown as NeutronApi,
    state,
    clusterId: CLUSTER,
    deviceOwner: "compute:raven",
    logger: silentLogger,
    options: { min: 0, batch: 1, max: 10 },
    onLost: (o) => lost.push(o),
    sleep: async () => {},
  });
  return { neutron, state, pools, lost };
}

test("a take is the pod's at once; Neutron's update follows, and a resync from before it does not undo it", async () => {
  const { neutron, state, pools } = setup();
  neutron.hold = true;
  const port = pools.take("net", "sub", "node-1", update("web"));
  assert.ok(port);
  assert.deepEqual(
    state.portsOf(owner("web").uid).map((p) => p.id),
    [port.id],
  );
  assert.equal(neutron.updates.length, 0, "Neutron has not answered yet");
  // A resync whose listing predates the update still shows the take.
  state.replace({
    networks: [],
    subnets: [],
    ports: [...neutron.ports.values()],
    floatingIps: [],
    loadBalancers: [],
  });
  pools.overlay();
  assert.deepEqual(
    state.portsOf(owner("web").uid).map((p) => p.id),
    [port.id],
  );
  assert.equal(pools.free("net", "node-1").length, 2);
  neutron.release();
  await pools.settled();
  assert.deepEqual(neutron.updates, [{ id: port.id, name: "web" }]);
  assert.equal(neutron.ports.get(port.id)?.device_id, owner("web").uid);
});

test("a failed update is retried until Neutron has it; a port gone meanwhile is reported lost", async () => {
  const { neutron, state, pools, lost } = setup();
  neutron.failNext = [
    new OpenStackError(503, "PUT", "/v2.0/ports/p1", undefined, "busy"),
    new OpenStackError(500, "PUT", "/v2.0/ports/p1", undefined, "oops"),
  ];
  const a = pools.take("net", "sub", "node-1", update("a"))!;
  await pools.settled();
  assert.deepEqual(neutron.updates, [{ id: a.id, name: "a" }]);
  // Deleted behind Raven's back before the update: the pod is told to get another.
  neutron.hold = true;
  const b = pools.take("net", "sub", "node-1", update("b"))!;
  neutron.ports.delete(b.id);
  neutron.release();
  await pools.settled();
  assert.deepEqual(lost, [owner("b")]);
  assert.equal(state.port(b.id), undefined);
});

test("a port given back before its take reached Neutron is never updated as the pod's", async () => {
  const { neutron, pools } = setup();
  neutron.hold = true;
  const port = pools.take("net", "sub", "node-1", update("brief"))!;
  const back = pools.giveBack({ ...port });
  neutron.release();
  assert.equal(await back, true);
  await pools.settled();
  assert.deepEqual(neutron.updates, [{ id: port.id, name: POOL_OWNER.name }]);
  assert.equal(pools.free("net", "node-1").length, 3);
});

test("a reserved port goes only to the pod that claims it", async () => {
  const { pools } = setup(2);
  pools.reserve(["p1"]);
  assert.equal(pools.take("net", "sub", "node-1", update("other"))?.id, "p2");
  assert.equal(pools.take("net", "sub", "node-1", update("another")), undefined, "p1 is kept");
  assert.equal(pools.take("net", "sub", "node-1", update("owner"), "p1")?.id, "p1");
  await pools.settled();
});
