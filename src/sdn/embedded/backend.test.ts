// The embedded backend over an in-memory API server: real informers, watch delays that make
// two "replicas" see the world late and differently, and the API server's 409s as the only
// arbiter of claims.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { FakeClock } from "../../kube/fake-clock.ts";
import { SharedInformerFactory } from "../../kube/informer-factory.ts";
import { silentLogger } from "../../kube/log.ts";
import { SdnError } from "../backend.ts";
import { cidrContains, parseCidr } from "../ipam.ts";
import type { Owner } from "../model.ts";
import { EmbeddedBackend, type EmbeddedBackendOptions } from "./backend.ts";
import { FakeApi } from "./fake-api.ts";
import { FLOATINGIPS, LOADBALANCERS, NETWORKS, PORTS, SUBNETS } from "./resources.ts";
import type { PortCr } from "./types.ts";

const aborts: AbortController[] = [];
afterEach(() => {
  for (const a of aborts.splice(0)) a.abort();
});

async function replica(
  api: FakeApi,
  watchDelayMs = 0,
  opts: Partial<EmbeddedBackendOptions> = {},
): Promise<EmbeddedBackend> {
  const abort = new AbortController();
  aborts.push(abort);
  const informers = new SharedInformerFactory(api.view(watchDelayMs), { logger: silentLogger });
  const backend = new EmbeddedBackend({
    client: api,
    informers,
    reservedCidrs: ["192.168.0.0/24"],
    logger: silentLogger,
    ...opts,
  });
  assert.equal(await backend.start(abort.signal), true);
  return backend;
}

const CLUSTER: Owner = { kind: "Cluster", namespace: "", name: "cluster", uid: "cluster" };
const ns = (name: string, uid = `ns-${name}`): Owner => ({ kind: "Namespace", namespace: "", name, uid });
const pod = (i: number | string, namespace = "default"): Owner => ({
  kind: "Pod",
  namespace,
  name: `pod-${i}`,
  uid: `pod-uid-${namespace}-${i}`,
});
const svc = (name: string, uid = `svc-${name}`): Owner => ({
  kind: "Service",
  namespace: "default",
  name,
  uid,
});

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof SdnError) return err.reason;
    throw err;
  }
}

const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
};

test("networks: explicit and carved CIDRs, idempotent per owner, Conflict for another owner", async () => {
  const api = new FakeApi();
  const b = await replica(api);
  const services = await b.ensureNetwork({
    owner: CLUSTER,
    name: "raven-service",
    purpose: "services",
    cidr: "10.0.0.0/24",
  });
  assert.equal(services.subnet.cidr, "10.0.0.0/24");
  assert.equal(services.subnet.gateway_ip, "10.0.0.1");
  const def = await b.ensureNetwork({
    owner: ns("default"),
    name: "default-net",
    purpose: "pods",
    cidr: "192.168.0.0/24",
  });
  assert.equal(def.network.name, "default-net");
  assert.equal(def.subnet.name, "default-subnet");
  assert.deepEqual(def.subnet.allocation_pools, [{ start: "192.168.0.2", end: "192.168.0.254" }]);
  assert.deepEqual(def.network.subnets, [def.subnet.id]);
  assert.equal(def.subnet.network_id, def.network.id);
  const demo = await b.ensureNetwork({ owner: ns("demo"), name: "demo-net", purpose: "pods" });
  assert.equal(demo.subnet.cidr, "192.168.1.0/24", "carved after the reserved default block");

  const again = await b.ensureNetwork({ owner: ns("demo"), name: "demo-net", purpose: "pods" });
  assert.equal(again.network.id, demo.network.id);
  assert.equal(again.subnet.id, demo.subnet.id);
  assert.deepEqual(b.findNetwork("ns-demo", "pods"), demo);
  assert.equal(b.findNetwork("ns-demo", "services"), undefined);

  assert.equal(
    await reason(b.ensureNetwork({ owner: ns("demo", "other-uid"), name: "demo-net", purpose: "pods" })),
    "Conflict",
  );
  assert.equal(
    await reason(b.ensureNetwork({ owner: ns("x"), name: "x", purpose: "pods", cidr: "10.1.0.5/24" })),
    "Invalid",
  );
  assert.equal(
    await reason(b.ensureNetwork({ owner: ns("y"), name: "y", purpose: "pods", cidr: "10.0.0.0/24" })),
    "Conflict",
    "an explicit CIDR held by another network",
  );
  const names = api
    .all(NETWORKS)
    .map((n) => n.metadata.name)
    .sort();
  assert.deepEqual(names, ["pods-default", "pods-demo", "pods-y", "services"]);
  const subnets = api
    .all(SUBNETS)
    .map((s) => s.metadata.name)
    .sort();
  assert.deepEqual(subnets, ["10-0-0-0-24", "192-168-0-0-24", "192-168-1-0-24"]);
  const sub = api.all(SUBNETS).find((s) => s.metadata.name === "192-168-1-0-24")!;
  assert.equal(sub.metadata.ownerReferences?.[0].kind, "Network");
  assert.equal(sub.metadata.labels?.["app.kubernetes.io/managed-by"], "raven");
});

test("networks: a Network left without its Subnet (a crash in between) is completed", async () => {
  const api = new FakeApi();
  api.seed(NETWORKS, {
    apiVersion: "raven.io/v1",
    kind: "Network",
    metadata: {
      name: "pods-half",
      labels: { "app.kubernetes.io/managed-by": "raven", "raven.io/owner-uid": "ns-half" },
    },
    spec: { displayName: "half-net", purpose: "pods", cidr: "192.168.7.0/24", owner: ns("half") },
  });
  const b = await replica(api);
  assert.equal(b.findNetwork("ns-half", "pods"), undefined);
  assert.equal(b.inventory().networks.length, 0, "half-made networks are not listed");
  const net = await b.ensureNetwork({ owner: ns("half"), name: "half-net", purpose: "pods" });
  assert.equal(net.subnet.cidr, "192.168.7.0/24");
});

test("networks: two replicas carving for many namespaces agree on one distinct subnet each", async () => {
  const api = new FakeApi();
  const a = await replica(api, 15);
  const b = await replica(api, 3);
  const names = Array.from({ length: 20 }, (_, i) => `ns${i}`);
  const results = await Promise.all(
    names.flatMap((n) =>
      [a, b].map((r) => r.ensureNetwork({ owner: ns(n), name: `${n}-net`, purpose: "pods" })),
    ),
  );
  for (let i = 0; i < names.length; i++)
    assert.equal(
      results[2 * i].subnet.id,
      results[2 * i + 1].subnet.id,
      `${names[i]}: both replicas got one subnet`,
    );
  const cidrs = api.all(SUBNETS).map((s) => s.spec.cidr);
  assert.equal(cidrs.length, names.length, "one subnet per network, no strays");
  assert.equal(new Set(cidrs).size, names.length);
  assert.ok(!cidrs.includes("192.168.0.0/24"), "the reserved block stays free");
});

test("networks: PoolExhausted when no block is left; deleteNetwork is InUse while ports remain", async () => {
  const api = new FakeApi();
  const b = await replica(api, 0, { podCidr: "10.8.0.0/23", namespaceSubnetPrefix: 24, reservedCidrs: [] });
  await b.ensureNetwork({ owner: ns("a"), name: "a-net", purpose: "pods" });
  const nb = await b.ensureNetwork({ owner: ns("b"), name: "b-net", purpose: "pods" });
  assert.equal(
    await reason(b.ensureNetwork({ owner: ns("c"), name: "c-net", purpose: "pods" })),
    "PoolExhausted",
  );

  const port = await b.createPort({
    owner: pod(1, "b"),
    name: "pod-1",
    networkId: nb.network.id,
    subnetId: nb.subnet.id,
  });
  assert.equal(await reason(b.deleteNetwork(nb.network.id)), "InUse");
  await b.deletePort(port.id);
  await b.deleteNetwork(nb.network.id);
  assert.equal(b.findNetwork("ns-b", "pods"), undefined);
  await b.deleteNetwork(nb.network.id); // NotFound is success
  assert.deepEqual(
    api.all(SUBNETS).map((s) => s.spec.cidr),
    ["10.8.0.0/24"],
  );
  const nc = await b.ensureNetwork({ owner: ns("c"), name: "c-net", purpose: "pods" });
  assert.equal(nc.subnet.cidr, "10.8.1.0/24", "the freed block is carved again");
});

async function podNetwork(b: EmbeddedBackend, cidr = "192.168.0.0/24", namespace = "default") {
  return b.ensureNetwork({ owner: ns(namespace), name: `${namespace}-net`, purpose: "pods", cidr });
}

test("ports: 500 concurrent createPort calls from two lagging replicas never share an IP", async () => {
  const api = new FakeApi();
  const a = await replica(api, 25);
  const b = await replica(api, 5);
  const net = await podNetwork(a, "10.20.0.0/22");
  await until(() => b.findNetwork("ns-default", "pods") !== undefined, "replica b sees the network");
  const started = performance.now();
  const ports = await Promise.all(
    Array.from({ length: 500 }, (_, i) =>
      (i % 2 ? a : b).createPort({
        owner: pod(i),
        name: `pod-${i}`,
        networkId: net.network.id,
        subnetId: net.subnet.id,
        hostId: "node-1",
      }),
    ),
  );
  const elapsed = performance.now() - started;
  const ips = ports.map((p) => p.fixed_ips[0].ip_address);
  assert.equal(new Set(ips).size, 500, "500 distinct addresses");
  const cidr = parseCidr("10.20.0.0/22")!;
  for (const ip of ips) {
    assert.ok(cidrContains(cidr, ip), ip);
    assert.notEqual(ip, "10.20.0.0");
    assert.notEqual(ip, "10.20.0.1");
    assert.notEqual(ip, "10.20.3.255");
  }
  assert.equal(api.all(PORTS).length, 500, "no stray ports");
  for (const p of ports) {
    assert.equal(p.status, "DOWN", "unbound until the node's agent binds it");
    assert.equal(p.device_owner, "raven:pod");
    assert.equal(p["binding:host_id"], "node-1");
    assert.equal(p.mac_address.slice(0, 9), "fa:16:3e:");
  }
  const lost = api.writes.filter((w) => w.plural === "ports" && w.verb === "create" && !w.ok).length;
  // Not an assertion on speed, just a record of how much racing the two replicas did.
  console.log(`# 500 ports in ${elapsed.toFixed(0)} ms, ${lost} lost claims (409) along the way`);
});

test("ports: exhaustion is SubnetFull, and every address is handed out exactly once", async () => {
  const api = new FakeApi();
  const a = await replica(api, 10);
  const b = await replica(api, 1);
  const net = await podNetwork(a, "10.30.0.0/27"); // .2 - .30: 29 addresses
  await until(() => b.findNetwork("ns-default", "pods") !== undefined, "replica b sees the network");
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      (i % 2 ? a : b)
        .createPort({ owner: pod(i), name: `pod-${i}`, networkId: net.network.id, subnetId: net.subnet.id })
        .then(
          (p) => p.fixed_ips[0].ip_address,
          (err) => (err instanceof SdnError ? err.reason : String(err)),
        ),
    ),
  );
  const ips = results.filter((r) => r.includes("."));
  assert.equal(ips.length, 29);
  assert.equal(new Set(ips).size, 29);
  assert.deepEqual(
    results.filter((r) => !r.includes(".")),
    Array(11).fill("SubnetFull"),
  );
});

test("ports: idempotent per pod, static addresses, IpInUse, Invalid", async () => {
  const api = new FakeApi();
  const b = await replica(api, 10);
  const net = await podNetwork(b);
  const req = (i: number, ipAddress?: string) => ({
    owner: pod(i),
    name: `pod-${i}`,
    networkId: net.network.id,
    subnetId: net.subnet.id,
    ipAddress,
  });
  const [p1, p1again] = await Promise.all([b.createPort(req(1)), b.createPort(req(1))]);
  assert.equal(p1.id, p1again.id, "concurrent calls for one pod make one port");
  assert.equal(p1.fixed_ips[0].ip_address, "192.168.0.2");
  assert.equal(p1.name, "pod-1");
  assert.equal(p1.device_id, "pod-uid-default-1");
  assert.deepEqual(b.findPorts("pod-uid-default-1"), [p1], "read-your-writes before the watch says so");

  const s = await b.createPort(req(2, "192.168.0.50"));
  assert.equal(s.fixed_ips[0].ip_address, "192.168.0.50");
  assert.equal(s.mac_address, "fa:16:3e:a8:00:32");
  assert.equal((await b.createPort(req(2, "192.168.0.50"))).id, s.id);
  assert.equal(await reason(b.createPort(req(3, "192.168.0.50"))), "IpInUse");
  assert.equal(await reason(b.createPort(req(3, "192.168.0.1"))), "Invalid", "the gateway");
  assert.equal(await reason(b.createPort(req(3, "192.168.0.255"))), "Invalid", "broadcast");
  assert.equal(await reason(b.createPort(req(3, "192.168.1.9"))), "Invalid", "outside the subnet");
  assert.equal(await reason(b.createPort({ ...req(3), subnetId: "nope" })), "NotFound");
  assert.equal(
    await reason(b.createPort({ ...req(3), owner: pod(3, "elsewhere") })),
    "Invalid",
    "a pod of another namespace cannot claim addresses of this one",
  );

  const p4 = await b.createPort(req(4));
  assert.equal(p4.fixed_ips[0].ip_address, "192.168.0.3");
  await b.deletePort(p1.id);
  await b.deletePort(p1.id); // NotFound is success
  assert.deepEqual(b.findPorts("pod-uid-default-1"), []);
  const p5 = await b.createPort(req(5));
  assert.equal(p5.fixed_ips[0].ip_address, "192.168.0.4", "a never-used address before the freed .2");
  assert.equal(b.portsOnNetwork(net.network.id).length, 3);

  // The node is filled in once the pod is scheduled.
  const bound = await b.createPort({ ...req(5), hostId: "node-a" });
  assert.equal(bound.id, p5.id);
  assert.equal(bound["binding:host_id"], "node-a");
  const stored = api.all(PORTS).find((p) => p.metadata.name === "192-168-0-4")!;
  assert.equal(stored.spec.hostId, "node-a");
  assert.equal(stored.metadata.namespace, "default");
  assert.deepEqual(stored.metadata.ownerReferences, [
    {
      apiVersion: "v1",
      kind: "Pod",
      name: "pod-5",
      uid: "pod-uid-default-5",
      controller: true,
      blockOwnerDeletion: false,
    },
  ]);
  assert.equal(stored.status, undefined, "no status until the node's agent binds it");
});

test("ports: the agent's binding state goes to the status subresource, once per change, and its listeners hear it", async () => {
  const api = new FakeApi();
  const b = await replica(api);
  const net = await podNetwork(b);
  const port = await b.createPort({
    owner: pod(7),
    name: "pod-7",
    networkId: net.network.id,
    subnetId: net.subnet.id,
  });
  const heard: string[] = [];
  b.onPortStatusChanged((o) => heard.push(o.name));
  const before = api.writes.length;
  await b.setPortStatus(port.id, "ACTIVE");
  await b.setPortStatus(port.id, "ACTIVE");
  assert.deepEqual(
    api.writes.slice(before).map((w) => `${w.verb} ${w.plural} ${w.key}`),
    ["patch ports default/192-168-0-2"],
    "one write for two reports of one state",
  );
  assert.deepEqual((api.all(PORTS)[0] as PortCr).status, { state: "ACTIVE" });
  await until(() => heard.length === 1, "the status change heard");
  assert.deepEqual(heard, ["pod-7"]);
  assert.equal(b.findPorts("pod-uid-default-7")[0].status, "ACTIVE");
  await b.setPortStatus(port.id, "DOWN");
  await until(() => heard.length === 2, "the second change heard");
  await b.deletePort(port.id);
  await b.setPortStatus(port.id, "DOWN"); // a port that is gone is no error
});

test("ports: released addresses go out least recently released first, within the cooldown only when nothing else is free", async () => {
  const api = new FakeApi();
  const clock = new FakeClock();
  const b = await replica(api, 0, { clock, addressCooldownMs: 120_000 });
  // A /29 subnet: .1 gateway, .2-.6 assignable.
  const net = await b.ensureNetwork({
    owner: ns("tiny"),
    name: "tiny-net",
    purpose: "pods",
    cidr: "10.9.0.0/29",
  });
  const notices: string[] = [];
  const create = (i: number) =>
    b.createPort({
      owner: pod(i, "tiny"),
      name: `pod-${i}`,
      networkId: net.network.id,
      subnetId: net.subnet.id,
      onRecentlyReleased: (ip, ago) => notices.push(`${ip} after ${ago / 1000} s`),
    });
  const ip = (p: { fixed_ips: { ip_address: string }[] }) => p.fixed_ips[0].ip_address;
  const ports = [];
  for (let i = 1; i <= 5; i++) ports.push(await create(i));
  assert.deepEqual(ports.map(ip), ["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]);
  // Released in the order .4, .2, .6, 10 s apart.
  for (const i of [2, 0, 4]) {
    await b.deletePort(ports[i].id);
    await clock.advance(10_000);
  }
  await clock.advance(200_000); // .4 and .2 are past the cooldown now... and so is .6
  assert.equal(ip(await create(6)), "10.9.0.4", "the least recently released first");
  assert.equal(ip(await create(7)), "10.9.0.2");
  await b.deletePort(ports[1].id); // .3, just now
  assert.equal(ip(await create(8)), "10.9.0.6", "an address past its cooldown before a fresh one");
  assert.deepEqual(notices, [], "no notice for addresses past the cooldown");
  await clock.advance(30_000);
  assert.equal(ip(await create(9)), "10.9.0.3", "the only free address, though released 30 s ago");
  assert.deepEqual(notices, ["10.9.0.3 after 30 s"]);
  assert.equal(await reason(create(10)), "SubnetFull");
});

test("ports: a standby replica knows the release history from its informer", async () => {
  const api = new FakeApi();
  const clock = new FakeClock();
  const leader = await replica(api, 0, { clock });
  const standby = await replica(api, 0, { clock });
  const net = await podNetwork(leader);
  await until(() => standby.findNetwork("ns-default", "pods") !== undefined, "the standby sees the network");
  const req = (i: number) => ({
    owner: pod(i),
    name: `pod-${i}`,
    networkId: net.network.id,
    subnetId: net.subnet.id,
  });
  const a = await leader.createPort(req(1));
  await leader.createPort(req(2));
  await until(() => standby.portsOnNetwork(net.network.id).length === 2, "the standby sees both ports");
  await leader.deletePort(a.id);
  // The standby saw .2 deleted, so it hands out .4 (never used), not .2.
  await until(() => standby.findPorts(pod(1).uid).length === 0, "the standby sees the deletion");
  assert.equal((await standby.createPort(req(3))).fixed_ips[0].ip_address, "192.168.0.4");
});

test("ports: an automatic allocation that finds its address held by the same pod adopts that port", async () => {
  const api = new FakeApi();
  // Two replicas that both miss each other's writes (their watches lag far behind).
  const a = await replica(api, 60_000);
  const b = await replica(api, 60_000);
  const net = await podNetwork(a);
  assert.equal((await podNetwork(b)).subnet.id, net.subnet.id, "b finds a's network through the API");
  const req = { owner: pod(1), name: "pod-1", networkId: net.network.id, subnetId: net.subnet.id };
  const first = await a.createPort(req);
  const second = await b.createPort(req);
  assert.equal(second.id, first.id, "one port, not two");
  assert.equal(api.all(PORTS).length, 1);
});

const lbReq = (owner: Owner, members: string[], ports: number[] = [80]) => ({
  owner,
  name: owner.name,
  vipAddress: "10.0.0.228",
  vipSubnetId: "svc-subnet",
  listeners: ports.map((port) => ({
    name: "",
    protocol: "TCP" as const,
    port,
    members: members.map((address) => ({ name: `pod-${address}`, address, port, subnetId: "pod-subnet" })),
  })),
});

test("load balancers: converge keeps ids, writes only on change, replaces a previous owner's", async () => {
  const api = new FakeApi();
  const b = await replica(api, 10);
  const lbWrites = () => api.writes.filter((w) => w.plural === "loadbalancers" && w.ok).length;

  const first = await b.ensureLoadBalancer(lbReq(svc("demo"), ["192.168.0.3", "192.168.0.5"]));
  assert.equal(first.loadbalancer.name, "demo");
  assert.equal(first.loadbalancer.vip_address, "10.0.0.228");
  assert.equal(first.loadbalancer.provisioning_status, "ACTIVE");
  assert.equal(first.listeners.length, 1);
  assert.equal(first.listeners[0].protocol_port, 80);
  assert.equal(first.listeners[0].default_pool_id, first.pools[0].id);
  assert.equal(first.pools[0].listener_id, first.listeners[0].id);
  assert.deepEqual(
    first.pools[0].members.map((m) => m.address),
    ["192.168.0.3", "192.168.0.5"],
  );
  const writes = lbWrites();
  assert.equal(writes, 2, "create + status");

  // Same request, other order: nothing to do, nothing written.
  const same = await b.ensureLoadBalancer(lbReq(svc("demo"), ["192.168.0.5", "192.168.0.3"]));
  assert.deepEqual(same, first);
  assert.equal(lbWrites(), writes);

  const grown = await b.ensureLoadBalancer(lbReq(svc("demo"), ["192.168.0.3", "192.168.0.4", "192.168.0.5"]));
  assert.equal(lbWrites(), writes + 1, "one write per change");
  assert.equal(grown.loadbalancer.id, first.loadbalancer.id);
  assert.equal(grown.loadbalancer.vip_port_id, first.loadbalancer.vip_port_id);
  assert.equal(grown.pools[0].id, first.pools[0].id);
  const ids = new Map(grown.pools[0].members.map((m) => [m.address, m.id]));
  assert.equal(ids.get("192.168.0.3"), first.pools[0].members[0].id, "unchanged members keep their ids");
  assert.equal(ids.get("192.168.0.5"), first.pools[0].members[1].id);

  const shrunk = await b.ensureLoadBalancer(lbReq(svc("demo"), ["192.168.0.4"], [80, 443]));
  assert.equal(shrunk.listeners.length, 2);
  assert.equal(shrunk.listeners[0].id, first.listeners[0].id, "the port-80 listener stays");
  assert.deepEqual(
    shrunk.pools[0].members.map((m) => m.id),
    [ids.get("192.168.0.4")],
  );
  assert.deepEqual(b.findLoadBalancer("svc-demo"), shrunk);

  // A Service deleted and created again under the same name gets a fresh load balancer.
  const reborn = await b.ensureLoadBalancer(lbReq(svc("demo", "svc-demo-2"), ["192.168.0.4"]));
  assert.notEqual(reborn.loadbalancer.id, first.loadbalancer.id);
  assert.equal(b.findLoadBalancer("svc-demo"), undefined);
  await b.deleteLoadBalancer(reborn.loadbalancer.id);
  await b.deleteLoadBalancer(reborn.loadbalancer.id);
  assert.equal(b.findLoadBalancer("svc-demo-2"), undefined);
  assert.equal(api.all(LOADBALANCERS).length, 0);
});

test("load balancers: two replicas converging one Service at once both succeed, last write wins", async () => {
  const api = new FakeApi();
  const a = await replica(api, 20);
  const b = await replica(api, 2);
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? a : b).ensureLoadBalancer(lbReq(svc("race"), [`192.168.0.${10 + i}`])),
    ),
  );
  assert.equal(new Set(results.map((r) => r.loadbalancer.id)).size, 1, "one load balancer");
  assert.equal(api.all(LOADBALANCERS).length, 1);
});

test("floating IPs: a given address, IpInUse for another owner, re-pointing, moving, picking, exhaustion", async () => {
  const api = new FakeApi();
  const b = await replica(api, 10);
  const fipReq = (owner: Owner, address?: string, fixed = "10.0.0.228") => ({
    owner,
    role: "external-ip" as const,
    address,
    fixedIpAddress: fixed,
    loadBalancerId: `lb-of-${owner.uid}`,
    vipPortId: `vip-of-${owner.uid}`,
  });
  assert.equal(
    await reason(b.ensureFloatingIp(fipReq(svc("demo"), "172.16.0.4"))),
    "NotFound",
    "no external network yet",
  );
  const ext = await b.ensureNetwork({
    owner: CLUSTER,
    name: "raven-external",
    purpose: "external",
    cidr: "172.16.0.0/29",
  });
  assert.equal(ext.network["router:external"], true);

  const fip = await b.ensureFloatingIp(fipReq(svc("demo"), "172.16.0.4"));
  assert.equal(fip.floating_ip_address, "172.16.0.4");
  assert.equal(fip.fixed_ip_address, "10.0.0.228");
  assert.equal(fip.port_id, "vip-of-svc-demo");
  assert.equal(fip.floating_network_id, ext.network.id);
  assert.equal(fip.status, "ACTIVE");
  assert.equal((await b.ensureFloatingIp(fipReq(svc("demo"), "172.16.0.4"))).id, fip.id);
  assert.equal(await reason(b.ensureFloatingIp(fipReq(svc("other"), "172.16.0.4"))), "IpInUse");
  assert.equal(await reason(b.ensureFloatingIp(fipReq(svc("other"), "172.17.0.4"))), "Invalid");
  assert.equal(
    await reason(b.ensureFloatingIp(fipReq(svc("other"), "172.16.0.1"))),
    "Invalid",
    "the gateway",
  );

  const moved = await b.ensureFloatingIp(fipReq(svc("demo"), "172.16.0.4", "10.0.0.9"));
  assert.equal(moved.id, fip.id, "re-pointed in place");
  assert.equal(moved.fixed_ip_address, "10.0.0.9");

  const changed = await b.ensureFloatingIp(fipReq(svc("demo"), "172.16.0.5"));
  assert.notEqual(changed.id, fip.id);
  assert.deepEqual(
    b.findFloatingIps("svc-demo").map((f) => [f.floating_ip_address, f.role]),
    [["172.16.0.5", "external-ip"]],
  );

  // Without an address: the lowest free one, kept on later calls; .2 .3 .4 .6 remain.
  const picked = await b.ensureFloatingIp({ ...fipReq(svc("lb1")), role: "load-balancer" });
  assert.equal(picked.floating_ip_address, "172.16.0.2");
  assert.equal((await b.ensureFloatingIp({ ...fipReq(svc("lb1")), role: "load-balancer" })).id, picked.id);
  for (const [i, want] of ["172.16.0.3", "172.16.0.4", "172.16.0.6"].entries())
    assert.equal(
      (await b.ensureFloatingIp({ ...fipReq(svc(`x${i}`)), role: "load-balancer" })).floating_ip_address,
      want,
    );
  assert.equal(
    await reason(b.ensureFloatingIp({ ...fipReq(svc("x9")), role: "load-balancer" })),
    "PoolExhausted",
  );

  await b.deleteFloatingIp(changed.id);
  await b.deleteFloatingIp(changed.id);
  assert.deepEqual(b.findFloatingIps("svc-demo"), []);
  const stored = api.all(FLOATINGIPS).find((f) => f.metadata.name === "172-16-0-2")!;
  assert.equal(stored.metadata.ownerReferences, undefined);
  assert.deepEqual(stored.spec.loadBalancer, { namespace: "default", name: "lb1", id: "lb-of-svc-lb1" });
});

test("inventory lists everything Raven made, with owners; onChange hears about changes", async () => {
  const api = new FakeApi();
  const b = await replica(api);
  let changes = 0;
  b.onChange(() => changes++);
  const net = await podNetwork(b);
  await b.createPort({ owner: pod(1), name: "pod-1", networkId: net.network.id, subnetId: net.subnet.id });
  await b.ensureLoadBalancer(lbReq(svc("demo"), ["192.168.0.2"]));
  await b.ensureNetwork({ owner: CLUSTER, name: "ext", purpose: "external", cidr: "172.16.0.0/24" });
  await b.ensureFloatingIp({
    owner: svc("demo"),
    role: "external-ip",
    address: "172.16.0.4",
    fixedIpAddress: "10.0.0.228",
    loadBalancerId: "x",
    vipPortId: "y",
  });
  // Someone else's Port holds an address but is not Raven's to report.
  api.seed(PORTS, {
    apiVersion: "raven.io/v1",
    kind: "Port",
    metadata: { name: "192-168-0-99", namespace: "default" },
    spec: { ...api.all(PORTS)[0].spec, ipAddress: "192.168.0.99", owner: pod("manual") },
  });
  await until(() => b.portsOnNetwork(net.network.id).length === 2, "the manual port is seen");
  const inv = b.inventory();
  assert.deepEqual(inv.networks.map((n) => [n.object.purpose, n.object.subnet?.cidr, n.owner.name]).sort(), [
    ["external", "172.16.0.0/24", "cluster"],
    ["pods", "192.168.0.0/24", "default"],
  ]);
  assert.deepEqual(
    inv.ports.map((p) => [p.object.fixed_ips[0].ip_address, p.owner.uid]),
    [["192.168.0.2", "pod-uid-default-1"]],
  );
  assert.deepEqual(
    inv.loadBalancers.map((l) => l.owner.name),
    ["demo"],
  );
  assert.deepEqual(
    inv.floatingIps.map((f) => [f.object.floating_ip_address, f.object.role]),
    [["172.16.0.4", "external-ip"]],
  );
  assert.ok(changes >= 6, `${changes} changes heard`);
});
