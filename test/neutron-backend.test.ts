// The neutron backend's networks and ports against a real neutron-server (with Octavia, as the
// sandbox runs them): what it creates is seen in Neutron and through the real openstack CLI, a
// restarted backend adopts exactly this cluster's objects, and someone else's objects (another
// cluster's, or made by hand) are never listed, adopted or deleted.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { silentLogger } from "../src/kube/log.ts";
import { SdnError } from "../src/sdn/backend.ts";
import type { Owner, Port } from "../src/sdn/model.ts";
import { NeutronBackend, RAVEN_DEVICE_OWNER } from "../src/sdn/neutron/backend.ts";
import type { NeutronApi } from "../src/sdn/neutron/neutron-api.ts";
import type { OctaviaApi } from "../src/sdn/neutron/octavia-api.ts";
import { startOpenStack, type TestOpenStack } from "./support/openstack.ts";

const run = promisify(execFile);
const PROJECT = "raven-test";
let os: TestOpenStack | undefined;
let neutron: NeutronApi;
let octavia: OctaviaApi;
const backends: NeutronBackend[] = [];
const aborts = new AbortController();

async function backend(clusterId = "c1"): Promise<NeutronBackend> {
  const b = new NeutronBackend({
    neutron,
    octavia,
    clusterId,
    projectId: PROJECT,
    logger: silentLogger,
    resyncMs: 600_000,
  });
  assert.ok(await b.start(aborts.signal));
  backends.push(b);
  return b;
}

const ns = (name: string): Owner => ({ kind: "Namespace", namespace: "", name, uid: `ns-${name}` });
const pod = (name: string, namespace = "default"): Owner => ({
  kind: "Pod",
  namespace,
  name,
  uid: `pod-${namespace}-${name}`,
});

before(async () => {
  os = await startOpenStack();
  ({ neutron, octavia } = os);
});

after(async () => {
  aborts.abort();
  for (const b of backends) await b.stop();
  await os?.stop();
});

test("namespace networks and pod ports are real Neutron objects; a restart adopts them; others' objects are left alone", async () => {
  // Someone else's: a network made by hand, and another Raven cluster's port.
  const foreign = await neutron.createNetwork({ name: "not-ravens", project_id: PROJECT });
  const other = await backend("another-cluster");
  const otherNet = await other.ensureNetwork({
    owner: ns("default"),
    name: "default-net",
    purpose: "pods",
    cidr: "192.168.0.0/24",
  });
  const otherPort = await other.createPort({
    owner: pod("nginx"),
    name: "nginx",
    networkId: otherNet.network.id,
    subnetId: otherNet.subnet.id,
  });

  const b = await backend();
  const def = await b.ensureNetwork({
    owner: ns("default"),
    name: "default-net",
    purpose: "pods",
    cidr: "192.168.0.0/24",
  });
  assert.equal(def.subnet.cidr, "192.168.0.0/24");
  assert.equal(def.subnet.gateway_ip, "192.168.0.1");
  const again = await b.ensureNetwork({
    owner: ns("default"),
    name: "default-net",
    purpose: "pods",
    cidr: "192.168.0.0/24",
  });
  assert.equal(again.network.id, def.network.id, "ensure is idempotent");
  assert.notEqual(
    def.network.id,
    otherNet.network.id,
    "another cluster's network of the same name is not ours",
  );
  const carved = await b.ensureNetwork({ owner: ns("team-a"), name: "team-a-net", purpose: "pods" });
  const carved2 = await b.ensureNetwork({ owner: ns("team-b"), name: "team-b-net", purpose: "pods" });
  assert.notEqual(carved.subnet.cidr, carved2.subnet.cidr, "carved blocks differ");

  const port = await b.createPort({
    owner: pod("nginx"),
    name: "nginx",
    networkId: def.network.id,
    subnetId: def.subnet.id,
    hostId: "node-1",
  });
  assert.match(port.mac_address, /^fa:16:3e/);
  assert.equal(port.device_owner, RAVEN_DEVICE_OWNER);
  assert.equal(port.device_id, pod("nginx").uid);
  assert.equal(port["binding:host_id"], "node-1");
  assert.deepEqual(
    await b.createPort({
      owner: pod("nginx"),
      name: "nginx",
      networkId: def.network.id,
      subnetId: def.subnet.id,
    }),
    port,
    "a repeat returns the same port",
  );
  // As a user sees it, with the real CLI.
  const env = {
    PATH: "/usr/bin:/bin",
    HOME: os!.dir,
    OS_CLIENT_CONFIG_FILE: os!.services.endpoints.cloudsYaml,
  };
  const rows = JSON.parse(
    (
      await run(
        "openstack",
        [
          "--os-cloud",
          "raven-sandbox",
          "port",
          "list",
          "--name",
          "nginx",
          "--network",
          def.network.id,
          "-f",
          "json",
        ],
        { env },
      )
    ).stdout,
  );
  assert.equal(rows.length, 1);
  assert.equal(rows[0]["MAC Address"], port.mac_address);
  assert.equal(rows[0]["Fixed IP Addresses"][0].ip_address, port.fixed_ips[0].ip_address);
  // A taken address is IpInUse.
  await assert.rejects(
    b.createPort({
      owner: pod("thief"),
      name: "thief",
      networkId: def.network.id,
      subnetId: def.subnet.id,
      ipAddress: port.fixed_ips[0].ip_address,
    }),
    (e: unknown) => e instanceof SdnError && e.reason === "IpInUse",
  );

  // A restarted backend finds exactly this cluster's objects.
  const restarted = await backend();
  assert.deepEqual(restarted.findNetwork(ns("default").uid, "pods")?.network.id, def.network.id);
  assert.deepEqual(
    restarted.findPorts(pod("nginx").uid).map((p) => p.id),
    [port.id],
  );
  assert.equal(restarted.findSubnet(def.subnet.id)?.cidr, "192.168.0.0/24");
  const inv = restarted.inventory();
  assert.deepEqual(
    inv.ports.map((p) => p.object.id),
    [port.id],
  );
  assert.deepEqual(inv.ports[0].owner, pod("nginx"));
  assert.deepEqual(inv.networks.map((n) => n.object.name).sort(), [
    "default-net",
    "team-a-net",
    "team-b-net",
  ]);
  assert.ok(!inv.networks.some((n) => n.object.id === foreign.id || n.object.id === otherNet.network.id));

  // A network with ports is in use; after its port goes (an address is released), it can go.
  await assert.rejects(
    restarted.deleteNetwork(def.network.id),
    (e: unknown) => e instanceof SdnError && e.reason === "InUse",
  );
  const released: string[] = [];
  restarted.onAddressReleased((s) => released.push(s));
  await restarted.deletePort(port.id);
  assert.deepEqual(released, [def.subnet.id]);
  await restarted.deleteNetwork(def.network.id);
  assert.equal(restarted.findNetwork(ns("default").uid, "pods"), undefined);

  // Nothing of the others was touched.
  assert.ok((await neutron.listNetworks({ id: foreign.id })).length === 1);
  assert.deepEqual(
    (await neutron.listPorts({ id: otherPort.id })).map((p) => p.id),
    [otherPort.id],
  );
});

test("a port deleted behind the backend's back frees its address at the next resync; a full subnet is SubnetFull", async () => {
  const b = await backend("c2");
  const net = await b.ensureNetwork({
    owner: ns("small"),
    name: "small-net",
    purpose: "pods",
    cidr: "10.9.0.0/29",
  });
  const ports = [];
  // A /29: .1 is the gateway, .2-.6 are the pool.
  for (let i = 0; i < 5; i++)
    ports.push(
      await b.createPort({
        owner: pod(`p${i}`, "small"),
        name: `p${i}`,
        networkId: net.network.id,
        subnetId: net.subnet.id,
      }),
    );
  assert.equal(new Set(ports.map((p) => p.fixed_ips[0].ip_address)).size, 5);
  await assert.rejects(
    b.createPort({
      owner: pod("p5", "small"),
      name: "p5",
      networkId: net.network.id,
      subnetId: net.subnet.id,
    }),
    (e: unknown) => e instanceof SdnError && e.reason === "SubnetFull",
  );
  const released: string[] = [];
  b.onAddressReleased((s) => released.push(s));
  await neutron.deletePort(ports[0].id);
  await b.resync();
  assert.deepEqual(released, [net.subnet.id]);
  assert.deepEqual(b.findPorts(pod("p0", "small").uid), []);
  const p5 = await b.createPort({
    owner: pod("p5", "small"),
    name: "p5",
    networkId: net.network.id,
    subnetId: net.subnet.id,
  });
  assert.equal(
    p5.fixed_ips[0].ip_address,
    ports[0].fixed_ips[0].ip_address,
    "the freed address is the only one",
  );
});

test("Services: an Octavia load balancer at the ClusterIP with a member per endpoint, floating IPs on its VIP port, all removed with it", async () => {
  const b = await backend("c3");
  const cluster: Owner = { kind: "Cluster", namespace: "", name: "cluster", uid: "cluster" };
  const serviceNet = await b.ensureNetwork({
    owner: cluster,
    name: "raven-service",
    purpose: "services",
    cidr: "10.0.0.0/24",
  });
  const external = await b.ensureNetwork({
    owner: cluster,
    name: "raven-external",
    purpose: "external",
    cidr: "172.16.0.0/24",
  });
  assert.equal(external.network["router:external"], true);
  const pods = await b.ensureNetwork({
    owner: ns("default"),
    name: "default-net",
    purpose: "pods",
    cidr: "192.168.0.0/24",
  });
  const replicas: Port[] = [];
  for (const name of ["demo-a", "demo-b", "demo-c"])
    replicas.push(
      await b.createPort({ owner: pod(name), name, networkId: pods.network.id, subnetId: pods.subnet.id }),
    );
  const svc: Owner = { kind: "Service", namespace: "default", name: "demo", uid: "svc-demo" };
  const request = (members: typeof replicas) => ({
    owner: svc,
    name: "demo",
    vipAddress: "10.0.0.10",
    vipSubnetId: serviceNet.subnet.id,
    listeners: [
      {
        name: "demo",
        protocol: "TCP" as const,
        port: 80,
        members: members.map((p) => ({
          name: p.name,
          address: p.fixed_ips[0].ip_address,
          port: 8080,
          subnetId: pods.subnet.id,
        })),
      },
    ],
  });
  const lb = await b.ensureLoadBalancer(request(replicas));
  assert.equal(lb.loadbalancer.vip_address, "10.0.0.10");
  assert.equal(lb.pools[0].members.length, 3);
  // As a user sees it, with the real CLI.
  const env = {
    PATH: "/usr/bin:/bin",
    HOME: os!.dir,
    OS_CLIENT_CONFIG_FILE: os!.services.endpoints.cloudsYaml,
  };
  const osc = async (...args: string[]) =>
    JSON.parse(
      (await run("openstack", ["--os-cloud", "raven-sandbox", ...args, "-f", "json"], { env })).stdout,
    );
  const shown = await osc("loadbalancer", "show", lb.loadbalancer.id);
  assert.equal(shown.vip_address, "10.0.0.10");
  assert.equal(shown.provisioning_status, "ACTIVE");
  const members = async () =>
    (await osc("loadbalancer", "member", "list", lb.pools[0].id)).map((m: any) => m.address).sort();
  assert.deepEqual(await members(), replicas.map((p) => p.fixed_ips[0].ip_address).sort());
  // One replica fewer.
  const two = await b.ensureLoadBalancer(request(replicas.slice(0, 2)));
  assert.equal(two.loadbalancer.id, lb.loadbalancer.id);
  assert.deepEqual(
    await members(),
    replicas
      .slice(0, 2)
      .map((p) => p.fixed_ips[0].ip_address)
      .sort(),
  );

  // spec.externalIPs: 172.16.0.4 on the VIP port; type LoadBalancer: the lowest free address.
  const fip = await b.ensureFloatingIp({
    owner: svc,
    role: "external-ip",
    address: "172.16.0.4",
    fixedIpAddress: "10.0.0.10",
    loadBalancerId: lb.loadbalancer.id,
    vipPortId: lb.loadbalancer.vip_port_id,
  });
  assert.equal(fip.floating_ip_address, "172.16.0.4");
  const listed = await osc("floating", "ip", "list", "--floating-ip-address", "172.16.0.4");
  assert.equal(listed.length, 1);
  assert.equal(listed[0].Port, lb.loadbalancer.vip_port_id);
  assert.equal(listed[0]["Fixed IP Address"], "10.0.0.10");
  // Neutron allows one floating IP per fixed IP: a second on the same VIP is a clear error.
  await assert.rejects(
    b.ensureFloatingIp({
      owner: svc,
      role: "load-balancer",
      fixedIpAddress: "10.0.0.10",
      loadBalancerId: lb.loadbalancer.id,
      vipPortId: lb.loadbalancer.vip_port_id,
    }),
    (e: unknown) => e instanceof SdnError && e.reason === "InUse" && /one per fixed IP/.test(e.message),
  );
  // type LoadBalancer (another Service): the lowest free address, none that is asked for by
  // name, held, or the router's gateway.
  const web: Owner = { kind: "Service", namespace: "default", name: "web", uid: "svc-web" };
  const webLb = await b.ensureLoadBalancer({
    ...request(replicas),
    owner: web,
    name: "web",
    vipAddress: "10.0.0.11",
  });
  const picked = await b.ensureFloatingIp({
    owner: web,
    role: "load-balancer",
    avoid: new Set(["172.16.0.2", "172.16.0.3"]),
    fixedIpAddress: "10.0.0.11",
    loadBalancerId: webLb.loadbalancer.id,
    vipPortId: webLb.loadbalancer.vip_port_id,
  });
  assert.ok(
    !["172.16.0.2", "172.16.0.3", "172.16.0.4"].includes(picked.floating_ip_address),
    picked.floating_ip_address,
  );
  const gateway = (
    await neutron.listPorts({ network_id: external.network.id, device_owner: "network:router_gateway" })
  )[0];
  assert.ok(gateway, "the router has its gateway on the external network");
  assert.notEqual(picked.floating_ip_address, gateway.fixed_ips[0].ip_address);
  // Another Service asking for a held address is told who holds it.
  const other: Owner = { kind: "Service", namespace: "default", name: "other", uid: "svc-other" };
  await assert.rejects(
    b.ensureFloatingIp({
      owner: other,
      role: "external-ip",
      address: "172.16.0.4",
      fixedIpAddress: "10.0.0.10",
      loadBalancerId: lb.loadbalancer.id,
      vipPortId: lb.loadbalancer.vip_port_id,
    }),
    (e: unknown) =>
      e instanceof SdnError && e.reason === "IpInUse" && /Service default\/demo/.test(e.message),
  );

  // A restarted backend finds the load balancer with its members and the floating IPs.
  const restarted = await backend("c3");
  assert.equal(restarted.findLoadBalancer(svc.uid)?.loadbalancer.id, lb.loadbalancer.id);
  assert.equal(restarted.findLoadBalancer(svc.uid)?.pools[0].members.length, 2);
  assert.deepEqual(
    restarted.findFloatingIps(svc.uid).map((f) => `${f.role} ${f.floating_ip_address}`),
    ["external-ip 172.16.0.4"],
  );
  assert.deepEqual(
    restarted.findFloatingIps(web.uid).map((f) => `${f.role} ${f.floating_ip_address}`),
    [`load-balancer ${picked.floating_ip_address}`],
  );
  assert.deepEqual(
    restarted.inventory().ports.map((p) => p.owner.kind),
    ["Pod", "Pod", "Pod"],
    "VIP ports are the load balancer's",
  );

  // The Service goes: floating IPs, then the load balancer with its VIP port; the pods' ports stay.
  for (const f of restarted.findFloatingIps(svc.uid)) await restarted.deleteFloatingIp(f.id);
  await restarted.deleteLoadBalancer(lb.loadbalancer.id);
  assert.equal(restarted.findLoadBalancer(svc.uid), undefined);
  assert.deepEqual(await osc("loadbalancer", "list", "--name", "demo"), []);
  assert.deepEqual(await osc("floating", "ip", "list", "--floating-ip-address", "172.16.0.4"), []);
  assert.equal(await neutron.getPort(lb.loadbalancer.vip_port_id), undefined);
  assert.equal((await neutron.listPorts({ device_id: pod("demo-a").uid })).length, 1);
  // A namespace's network leaves the router on its way out.
  for (const p of replicas) await restarted.deletePort(p.id);
  await restarted.deleteNetwork(pods.network.id);
  assert.deepEqual(await neutron.listNetworks({ id: pods.network.id }), []);
});

test("port pools: a pod takes a pre-made port with one update; its port goes back to the pool; a restart finds the pool; the network drains it", async () => {
  const pooled = async (clusterId: string) => {
    const b = new NeutronBackend({
      neutron,
      octavia,
      clusterId,
      projectId: PROJECT,
      logger: silentLogger,
      resyncMs: 600_000,
      portPool: { min: 3, batch: 4, max: 6 },
    });
    assert.ok(await b.start(aborts.signal));
    backends.push(b);
    return b;
  };
  const b = await pooled("c4");
  const net = await b.ensureNetwork({
    owner: ns("pooled"),
    name: "pooled-net",
    purpose: "pods",
    cidr: "10.20.0.0/24",
  });
  const make = (name: string) =>
    b.createPort({
      owner: pod(name, "pooled"),
      name,
      networkId: net.network.id,
      subnetId: net.subnet.id,
      hostId: "node-1",
    });
  // The first pod finds no pool: its port is made, and the pool fills behind it.
  const first = await make("first");
  await b.poolsSettled();
  assert.equal(b.pooledPorts(net.network.id, "node-1"), 4);
  const before = new Set(
    (await neutron.listPorts({ network_id: net.network.id, name: "raven-pool" })).map((p) => p.id),
  );
  assert.equal(before.size, 4);
  // The second takes one of them: the same Neutron port, the pod's at once, and in Neutron
  // once the update that follows has landed.
  const second = await make("second");
  assert.ok(before.has(second.id), "a pooled port was taken");
  assert.deepEqual(
    b.findPorts(pod("second", "pooled").uid).map((p) => p.id),
    [second.id],
  );
  await b.poolsSettled();
  const seen = await neutron.getPort(second.id);
  assert.equal(seen?.name, "second");
  assert.equal(seen?.device_id, pod("second", "pooled").uid);
  assert.equal(seen?.["binding:host_id"], "node-1");
  assert.deepEqual(
    b.findPorts(pod("second", "pooled").uid).map((p) => p.id),
    [second.id],
  );
  assert.equal(b.pooledPorts(net.network.id, "node-1"), 3);
  // Pooled ports are nobody's: not in the inventory, not on the network's pod list.
  assert.deepEqual(
    b
      .inventory()
      .ports.filter((p) => p.owner.namespace === "pooled")
      .map((p) => p.object.name)
      .sort(),
    ["first", "second"],
  );
  assert.deepEqual(
    b
      .portsOnNetwork(net.network.id)
      .map((p) => p.name)
      .sort(),
    ["first", "second"],
  );
  // The pod goes: its port back to the pool, not deleted.
  await b.deletePort(second.id);
  assert.equal(b.pooledPorts(net.network.id, "node-1"), 4);
  assert.equal((await neutron.getPort(second.id))?.name, "raven-pool");
  // A restarted backend finds the pool again.
  const restarted = await pooled("c4");
  assert.equal(restarted.pooledPorts(net.network.id, "node-1"), 4);
  // With the last pod gone, the network goes, its pool with it.
  await restarted.deletePort(first.id);
  await restarted.deleteNetwork(net.network.id);
  assert.deepEqual(await neutron.listPorts({ network_id: net.network.id }), []);
  assert.deepEqual(await neutron.listNetworks({ id: net.network.id }), []);
});
