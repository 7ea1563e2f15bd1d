// End to end: the embedded backend against a real sandbox (etcd, API server, garbage
// collector), two backend instances standing for two controller replicas, and the real
// kubectl reading the SDN back as custom resources.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { isNotFound } from "../src/kube/errors.ts";
import { SharedInformerFactory } from "../src/kube/informer-factory.ts";
import { silentLogger } from "../src/kube/log.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { NAMESPACES, PODS, SERVICES } from "../src/kube/resource.ts";
import { type NetworkWithSubnet, SdnError } from "../src/sdn/backend.ts";
import { EmbeddedBackend } from "../src/sdn/embedded/backend.ts";
import { installCrds } from "../src/sdn/embedded/crds.ts";
import { LOADBALANCERS, PORTS } from "../src/sdn/embedded/resources.ts";
import { cidrContains, parseCidr } from "../src/sdn/ipam.ts";
import type { Owner } from "../src/sdn/model.ts";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

let sb: Sandbox;
const abort = new AbortController();
let a: EmbeddedBackend;
let b: EmbeddedBackend;
let services: NetworkWithSubnet;
let defaultNet: NetworkWithSubnet;
let demoNet: NetworkWithSubnet;

const CLUSTER: Owner = { kind: "Cluster", namespace: "", name: "cluster", uid: "cluster" };

function replica(): EmbeddedBackend {
  const informers = new SharedInformerFactory(sb.client, { logger: silentLogger });
  return new EmbeddedBackend({
    client: sb.client,
    informers,
    podCidr: "192.168.0.0/16",
    namespaceSubnetPrefix: 24,
    reservedCidrs: ["192.168.0.0/24"],
    logger: silentLogger,
  });
}

before(async () => {
  sb = await startSandbox();
  await installCrds(sb.client);
  // Twice: the second run finds them all and changes nothing.
  await installCrds(sb.client);
  a = replica();
  b = replica();
  assert.equal(await a.start(abort.signal), true);
  assert.equal(await b.start(abort.signal), true);
});

after(async () => {
  abort.abort();
  await a?.stop();
  await b?.stop();
  await sb?.stop();
});

const ownerOf = (kind: Owner["kind"], obj: KubeObject): Owner => ({
  kind,
  namespace: obj.metadata.namespace ?? "",
  name: obj.metadata.name!,
  uid: obj.metadata.uid!,
});

async function namespace(name: string): Promise<KubeObject> {
  try {
    return await sb.client.get(NAMESPACES, "", name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return sb.client.create(NAMESPACES, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }
}

/** Pods nothing schedules or runs: owners for ports, nothing more. */
async function pods(ns: string, prefix: string, n: number): Promise<KubeObject[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      sb.client.create(PODS, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `${prefix}-${i}`, namespace: ns },
        spec: { schedulerName: "nobody", containers: [{ name: "c", image: "nginx" }] },
      }),
    ),
  );
}

const reasonOf = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (err) => (err instanceof SdnError ? err.reason : `unexpected: ${err}`),
  );

test("the CRDs are served with short names in the raven category", async () => {
  const r = await sb.kubectl(["api-resources", "--api-group=raven.io", "--no-headers"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout
    .trim()
    .split("\n")
    .map((l) => l.split(/\s+/));
  assert.deepEqual(rows.map((x) => x[0]).sort(), [
    "compiledpolicies",
    "floatingips",
    "loadbalancers",
    "networks",
    "ports",
    "subnets",
  ]);
  assert.ok(
    rows.some((x) => x[0] === "ports" && x[1] === "rport" && x.includes("true") && x.includes("Port")),
  );
});

test("networks: services, external, default (given) and another namespace's (carved)", async () => {
  services = await a.ensureNetwork({
    owner: CLUSTER,
    name: "raven-service",
    purpose: "services",
    cidr: "10.0.0.0/24",
  });
  const ext = await a.ensureNetwork({
    owner: CLUSTER,
    name: "raven-external",
    purpose: "external",
    cidr: "172.16.0.0/24",
  });
  assert.equal(ext.network["router:external"], true);
  const def = await namespace("default");
  const demo = await namespace("demo");
  // Both replicas at once: one network each, the same one.
  const [d1, d2] = await Promise.all([
    a.ensureNetwork({
      owner: ownerOf("Namespace", def),
      name: "default-net",
      purpose: "pods",
      cidr: "192.168.0.0/24",
    }),
    b.ensureNetwork({
      owner: ownerOf("Namespace", def),
      name: "default-net",
      purpose: "pods",
      cidr: "192.168.0.0/24",
    }),
  ]);
  assert.equal(d1.network.id, d2.network.id);
  assert.equal(d1.subnet.id, d2.subnet.id);
  defaultNet = d1;
  assert.equal(defaultNet.subnet.name, "default-subnet");
  assert.equal(defaultNet.subnet.gateway_ip, "192.168.0.1");
  const [m1, m2] = await Promise.all([
    a.ensureNetwork({ owner: ownerOf("Namespace", demo), name: "demo-net", purpose: "pods" }),
    b.ensureNetwork({ owner: ownerOf("Namespace", demo), name: "demo-net", purpose: "pods" }),
  ]);
  assert.equal(m1.subnet.id, m2.subnet.id);
  demoNet = m1;
  assert.equal(demoNet.subnet.cidr, "192.168.1.0/24");
  // The ids are the objects' UIDs.
  const r = await sb.kubectl(["get", "networks", "pods-demo", "-o", "jsonpath={.metadata.uid}"]);
  assert.equal(r.stdout, demoNet.network.id);

  const table = await sb.kubectl(["get", "networks"]);
  assert.match(table.stdout, /^NAME\s+DISPLAY NAME\s+PURPOSE\s+CIDR\s+OWNER\s+AGE\n/);
  assert.match(table.stdout, /\npods-demo\s+demo-net\s+pods\s+192\.168\.1\.0\/24\s+demo\s+\d+s\n/);
  assert.match(table.stdout, /\nservices\s+raven-service\s+services\s+10\.0\.0\.0\/24\s+cluster\s/);
  const subnets = await sb.kubectl(["get", "subnets"]);
  assert.match(
    subnets.stdout,
    /\n192-168-0-0-24\s+default-subnet\s+pods-default\s+192\.168\.0\.0\/24\s+192\.168\.0\.1\s/,
  );
});

test("ports: 200 concurrent createPort calls from two replicas get 200 distinct addresses", async () => {
  const owners = await pods("default", "web", 200);
  const latencies: number[] = [];
  const started = performance.now();
  const ports = await Promise.all(
    owners.map(async (p, i) => {
      const t0 = performance.now();
      const port = await (i % 2 ? a : b).createPort({
        owner: ownerOf("Pod", p),
        name: p.metadata.name!,
        networkId: defaultNet.network.id,
        subnetId: defaultNet.subnet.id,
        hostId: "node-1",
      });
      latencies.push(performance.now() - t0);
      return port;
    }),
  );
  const total = performance.now() - started;
  const ips = ports.map((p) => p.fixed_ips[0].ip_address);
  assert.equal(new Set(ips).size, 200);
  const cidr = parseCidr("192.168.0.0/24")!;
  for (const ip of ips) {
    assert.ok(cidrContains(cidr, ip), ip);
    assert.ok(!["192.168.0.0", "192.168.0.1", "192.168.0.255"].includes(ip), ip);
  }
  const stored = await sb.client.list(PORTS, { namespace: "default" });
  assert.equal(stored.items.length, 200, "no stray ports");
  for (const p of ports) assert.equal(p.status, "DOWN", "unbound: no agent has bound them");
  latencies.sort((x, y) => x - y);
  const pct = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(0);
  console.log(
    `# 200 concurrent createPort (2 replicas): ${total.toFixed(0)} ms total, p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`,
  );

  // One more, alone, after the rush: the lowest free address, at the cost of two writes.
  const [solo] = await pods("default", "solo", 1);
  const t0 = performance.now();
  const port = await a.createPort({
    owner: ownerOf("Pod", solo),
    name: "solo-0",
    networkId: defaultNet.network.id,
    subnetId: defaultNet.subnet.id,
  });
  console.log(`# a single createPort: ${(performance.now() - t0).toFixed(1)} ms`);
  assert.equal(port.fixed_ips[0].ip_address, "192.168.0.202");

  const table = await sb.kubectl(["get", "ports", "-n", "default", "--sort-by=.metadata.creationTimestamp"]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^NAME\s+POD\s+IP\s+MAC\s+NODE\s+AGE\n/);
  const web0 = ports[0];
  const line = table.stdout.split("\n").find((l) => l.includes(" web-0 "));
  assert.ok(line, table.stdout.slice(0, 400));
  assert.match(
    line,
    new RegExp(
      `^${web0.fixed_ips[0].ip_address.replace(/\./g, "-")}\\s+web-0\\s+${web0.fixed_ips[0].ip_address.replace(/\./g, "\\.")}\\s+${web0.mac_address}\\s+node-1\\s+\\d+s$`,
    ),
  );
});

test("ports: a static address, IpInUse for another pod, SubnetFull on a small subnet", async () => {
  const [p1, p2] = await pods("demo", "static", 2);
  const req = (p: KubeObject, ipAddress?: string) => ({
    owner: ownerOf("Pod", p),
    name: p.metadata.name!,
    networkId: demoNet.network.id,
    subnetId: demoNet.subnet.id,
    ipAddress,
  });
  const s = await a.createPort(req(p1, "192.168.1.77"));
  assert.equal(s.fixed_ips[0].ip_address, "192.168.1.77");
  // The other replica may not have seen it yet: the API server says no anyway.
  assert.equal(await reasonOf(b.createPort(req(p2, "192.168.1.77"))), "IpInUse");
  assert.equal(await reasonOf(b.createPort(req(p2, "192.168.1.255"))), "Invalid");
  assert.equal((await b.createPort(req(p2))).fixed_ips[0].ip_address, "192.168.1.2");

  const tinyNs = await namespace("tiny");
  const tiny = await a.ensureNetwork({
    owner: ownerOf("Namespace", tinyNs),
    name: "tiny-net",
    purpose: "pods",
    cidr: "192.168.200.0/29",
  });
  const owners = await pods("tiny", "t", 8);
  const results = await Promise.all(
    owners.map((p, i) =>
      (i % 2 ? a : b)
        .createPort({
          owner: ownerOf("Pod", p),
          name: p.metadata.name!,
          networkId: tiny.network.id,
          subnetId: tiny.subnet.id,
        })
        .then(
          (port) => port.fixed_ips[0].ip_address,
          (err) => (err instanceof SdnError ? err.reason : String(err)),
        ),
    ),
  );
  assert.deepEqual(results.filter((r) => r.includes(".")).sort(), [
    "192.168.200.2",
    "192.168.200.3",
    "192.168.200.4",
    "192.168.200.5",
    "192.168.200.6",
  ]);
  assert.deepEqual(
    results.filter((r) => !r.includes(".")),
    ["SubnetFull", "SubnetFull", "SubnetFull"],
  );
  assert.equal(await reasonOf(a.deleteNetwork(tiny.network.id)), "InUse");
});

test("deleting a Pod lets the garbage collector remove its Port", async () => {
  const [victim] = await pods("demo", "victim", 1);
  const port = await a.createPort({
    owner: ownerOf("Pod", victim),
    name: "victim-0",
    networkId: demoNet.network.id,
    subnetId: demoNet.subnet.id,
  });
  const name = port.fixed_ips[0].ip_address.replace(/\./g, "-");
  await sb.client.get(PORTS, "demo", name);
  await sb.client.delete(PODS, "demo", "victim-0", { gracePeriodSeconds: 0 });
  await eventually(
    async () => isNotFound(await sb.client.get(PORTS, "demo", name).catch((e) => e)),
    30_000,
    "the port garbage-collected",
  );
  await eventually(() => a.findPorts(victim.metadata.uid!).length === 0, 10_000, "the backend sees it gone");
});

test("load balancers converge in place and are not rewritten when nothing changed", async () => {
  const svc = await sb.client.create<KubeObject>(SERVICES, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "demo", namespace: "default" },
    spec: { selector: { app: "demo" }, ports: [{ port: 80, protocol: "TCP" }] },
  });
  const vip = svc.spec.clusterIP as string;
  const req = (members: string[]) => ({
    owner: ownerOf("Service", svc),
    name: "demo",
    vipAddress: vip,
    vipSubnetId: services.subnet.id,
    listeners: [
      {
        name: "",
        protocol: "TCP" as const,
        port: 80,
        members: members.map((address) => ({
          name: `pod-${address}`,
          address,
          port: 80,
          subnetId: defaultNet.subnet.id,
        })),
      },
    ],
  });
  const rv = async () =>
    ((await sb.client.get(LOADBALANCERS, "default", "demo")) as KubeObject).metadata.resourceVersion;

  const first = await a.ensureLoadBalancer(req(["192.168.0.3", "192.168.0.5", "192.168.0.4"]));
  assert.equal(first.loadbalancer.provisioning_status, "ACTIVE");
  assert.equal(first.loadbalancer.vip_address, vip);
  assert.deepEqual(
    first.pools[0].members.map((m) => m.address),
    ["192.168.0.3", "192.168.0.4", "192.168.0.5"],
  );
  const before = await rv();
  const again = await b.ensureLoadBalancer(req(["192.168.0.5", "192.168.0.4", "192.168.0.3"]));
  assert.equal(again.loadbalancer.id, first.loadbalancer.id);
  assert.equal(await rv(), before, "no write when nothing changed");

  const grown = await b.ensureLoadBalancer(req(["192.168.0.3", "192.168.0.4", "192.168.0.5", "192.168.0.6"]));
  assert.notEqual(await rv(), before);
  assert.equal(grown.pools[0].id, first.pools[0].id);
  assert.deepEqual(
    grown.pools[0].members.slice(0, 3).map((m) => m.id),
    first.pools[0].members.map((m) => m.id),
    "members that stay keep their ids",
  );
  const shrunk = await a.ensureLoadBalancer(req(["192.168.0.6"]));
  assert.deepEqual(
    shrunk.pools[0].members.map((m) => m.id),
    [grown.pools[0].members[3].id],
  );
  await eventually(
    () => b.findLoadBalancer(svc.metadata.uid!)?.pools[0].members.length === 1,
    10_000,
    "b sees it",
  );

  const table = await sb.kubectl(["get", "loadbalancers", "-n", "default"]);
  assert.match(table.stdout, /^NAME\s+VIP\s+PROTOCOL\s+PORT\s+STATUS\s+AGE\n/);
  assert.match(
    table.stdout,
    new RegExp(`\\ndemo\\s+${vip.replace(/\./g, "\\.")}\\s+TCP\\s+80\\s+ACTIVE\\s+\\d+s\\n`),
  );
});

test("floating IPs: 172.16.0.4 claimed by one Service, IpInUse for another; kubectl shows it all", async () => {
  const lb = a.findLoadBalancer(
    ((await sb.client.get(SERVICES, "default", "demo")) as KubeObject).metadata.uid!,
  )!;
  const svc = await sb.client.get(SERVICES, "default", "demo");
  const other = await sb.client.create<KubeObject>(SERVICES, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "other", namespace: "default" },
    spec: { selector: { app: "other" }, ports: [{ port: 80 }] },
  });
  const fipReq = (s: KubeObject) => ({
    owner: ownerOf("Service", s),
    role: "external-ip" as const,
    address: "172.16.0.4",
    fixedIpAddress: lb.loadbalancer.vip_address,
    loadBalancerId: lb.loadbalancer.id,
    vipPortId: lb.loadbalancer.vip_port_id,
  });
  // Two controllers race for the address: exactly one claim wins, whichever it is.
  const [r1, r2] = await Promise.all([
    reasonOf(a.ensureFloatingIp(fipReq(svc))),
    reasonOf(b.ensureFloatingIp(fipReq(other))),
  ]);
  assert.deepEqual([r1, r2].sort(), ["IpInUse", "ok"]);
  if (r2 === "ok") {
    // `other` won: release its claim, and then demo's goes through while other's is refused.
    await eventually(() => b.findFloatingIps(other.metadata.uid!).length === 1, 10_000, "b sees its claim");
    await b.deleteFloatingIp(b.findFloatingIps(other.metadata.uid!)[0].id);
    await eventually(
      async () => (await reasonOf(a.ensureFloatingIp(fipReq(svc)))) === "ok",
      10_000,
      "demo claims the released address",
    );
    assert.equal(await reasonOf(b.ensureFloatingIp(fipReq(other))), "IpInUse");
  }
  await eventually(() => a.findFloatingIps(svc.metadata.uid!).length === 1, 10_000, "a sees demo's claim");
  const fip = a.findFloatingIps(svc.metadata.uid!)[0];
  assert.equal(fip.floating_ip_address, "172.16.0.4");
  assert.equal(fip.fixed_ip_address, lb.loadbalancer.vip_address);
  assert.equal(fip.port_id, lb.loadbalancer.vip_port_id);

  const fips = await sb.kubectl(["get", "floatingips"]);
  assert.match(fips.stdout, /^NAME\s+ADDRESS\s+FIXED IP\s+ROLE\s+NAMESPACE\s+SERVICE\s+AGE\n/);
  assert.match(
    fips.stdout,
    new RegExp(
      `\\n172-16-0-4\\s+172\\.16\\.0\\.4\\s+${fip.fixed_ip_address!.replace(/\./g, "\\.")}\\s+external-ip\\s+default\\s+demo\\s+\\d+s\\n`,
    ),
  );
  const all = await sb.kubectl(["get", "ports,loadbalancers,floatingips", "-A"]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /port\.raven\.io\/192-168-0-2\s/);
  assert.match(all.stdout, /loadbalancer\.raven\.io\/demo\s/);
  assert.match(all.stdout, /floatingip\.raven\.io\/172-16-0-4\s/);
  const category = await sb.kubectl(["get", "raven", "-A", "-o", "name"]);
  assert.match(category.stdout, /network\.raven\.io\/pods-default/);
  assert.match(category.stdout, /subnet\.raven\.io\/192-168-1-0-24/);

  // Everything is in the inventory, with its owner.
  const inv = a.inventory();
  assert.equal(inv.floatingIps.find((f) => f.object.id === fip.id)?.owner.name, "demo");
  assert.ok(inv.ports.length >= 200);
  assert.deepEqual(inv.networks.map((n) => n.object.purpose).sort(), [
    "external",
    "pods",
    "pods",
    "pods",
    "services",
  ]);

  // The Service goes: its LoadBalancer goes with it (owner reference); the floating IP is Raven's to delete.
  await sb.client.delete(SERVICES, "default", "demo");
  await eventually(
    async () => isNotFound(await sb.client.get(LOADBALANCERS, "default", "demo").catch((e) => e)),
    30_000,
    "the load balancer garbage-collected",
  );
  await a.deleteFloatingIp(fip.id);
  await eventually(() => b.findFloatingIps(svc.metadata.uid!).length === 0, 10_000, "b sees the FIP gone");
  assert.equal(await reasonOf(b.ensureFloatingIp(fipReq(other))), "ok", "now free for the other Service");
});
