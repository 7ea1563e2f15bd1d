// Chaos on the neutron backend: raven-controller SIGKILLed at random moments and restarted after
// a random pause, while pods, Deployments, Services (selectors, externalIPs, type LoadBalancer)
// and namespaces churn (support/churn.ts), against the real neutron-server and Octavia of
// `raven sandbox up --backend neutron`, with port pools on. Once the churn stops and the
// controller has started one last time, what is in Neutron and Octavia (read straight from
// them) must match the cluster exactly, by the same rules as the embedded backend
// (support/raven-invariants.ts): no orphaned port, load balancer or floating IP, no duplicate
// address, no pod's IP ever changed. Someone else's objects, made before the churn (a network,
// port and load balancer made by hand, another Raven cluster's, a port and a floating IP on
// Raven's own networks) must come through untouched.
// RAVEN_CHAOS_SEED seeds the choices; RAVEN_CHAOS_MS sets the churn time.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { SharedInformerFactory } from "../src/kube/informer-factory.ts";
import { silentLogger } from "../src/kube/log.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { PODS } from "../src/kube/resource.ts";
import { instanceIdFor } from "../src/sandbox/config.ts";
import type { NeutronApi } from "../src/sdn/neutron/neutron-api.ts";
import type { OctaviaApi } from "../src/sdn/neutron/octavia-api.ts";
import { describe as ownedBy } from "../src/sdn/neutron/ownership.ts";
import { Churn, createChaosWorld, prng, sleep } from "./support/churn.ts";
import { type NeutronSnapshot, neutronSnapshot } from "./support/neutron-snapshot.ts";
import { type OpenStackClients, openStackClients } from "./support/openstack.ts";
import { describe, KEYS, violations } from "./support/raven-invariants.ts";
import { type RavenProcess, startRaven, stopAll } from "./support/raven-process.ts";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

const SEED = Number(process.env.RAVEN_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CHURN_MS = Number(process.env.RAVEN_CHAOS_MS ?? 30_000);
const CONVERGE_MS = 240_000;
const OTHERS = "someone-else";

let sb: Sandbox;
let clusterId: string;
let os: OpenStackClients | undefined;
let neutron: NeutronApi;
let octavia: OctaviaApi;
let controller: RavenProcess | undefined;
let generation = 0;
let churn: Churn;
const rand = prng(SEED);
const watching = new AbortController();
/** Every port IP each pod (by UID) was ever annotated with: a pod's IP must never change. */
const podIps = new Map<string, { pod: string; ips: Set<string> }>();
/** Someone else's objects: where to find each, and the version it must still have at the end. */
const foreign: { what: string; read: () => Promise<string | undefined>; version: string }[] = [];

function recordPodIp(pod: KubeObject): void {
  let ip: string | undefined;
  try {
    ip = JSON.parse(pod.metadata.annotations?.[KEYS.port] ?? "null")?.fixed_ips?.[0]?.ip_address;
  } catch {}
  if (!ip) return;
  const seen = podIps.get(pod.metadata.uid!) ?? {
    pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
    ips: new Set(),
  };
  seen.ips.add(ip);
  podIps.set(pod.metadata.uid!, seen);
}

function startController(): RavenProcess {
  const args = ["--no-leader-elect", "--backend", "neutron", "--os-cloud", "raven-sandbox"];
  args.push("--cluster-id", clusterId, "--port-pool-min", "2", "--port-pool-batch", "3");
  args.push("--port-pool-max", "6");
  controller = startRaven(sb, `neutron-chaos-${++generation}`, args, {
    logLevel: process.env.RAVEN_CHAOS_DEBUG ? "debug" : "info",
    env: { OS_CLIENT_CONFIG_FILE: join(sb.dir, "openstack", "clouds.yaml") },
  });
  return controller;
}

/** Remembers a foreign object's version (Neutron's revision_number, Octavia's updated_at). */
async function keep(what: string, read: () => Promise<string | undefined>): Promise<void> {
  const version = await read();
  assert.ok(version, `${what} exists`);
  foreign.push({ what, read, version });
}

const revision = (o: unknown) => (o ? String((o as { revision_number: number }).revision_number) : undefined);

/**
 * Someone else's objects, on their own network and on Raven's: by hand (no description), and
 * another Raven cluster's (its description names another cluster id).
 */
async function makeForeignObjects(): Promise<void> {
  const other = (kind: "Namespace" | "Pod" | "Service", name: string, namespace = "default") => ({
    kind,
    name,
    namespace: kind === "Namespace" ? "" : namespace,
    uid: `other-${kind}-${name}`,
  });
  const handNet = await neutron.createNetwork({ name: "not-ravens", project_id: OTHERS });
  const handSubnet = await neutron.createSubnet({
    name: "not-ravens",
    network_id: handNet.id,
    cidr: "10.99.0.0/24",
    ip_version: 4,
    project_id: OTHERS,
  });
  const handPort = await neutron.createPort({ name: "by-hand", network_id: handNet.id, project_id: OTHERS });
  const otherNet = await neutron.createNetwork({
    name: "default-net",
    project_id: OTHERS,
    description: ownedBy("another-cluster", other("Namespace", "default"), { purpose: "pods" }),
  });
  await neutron.createSubnet({
    name: "default-net",
    network_id: otherNet.id,
    cidr: "192.168.0.0/24",
    ip_version: 4,
    project_id: OTHERS,
    description: ownedBy("another-cluster", other("Namespace", "default"), { purpose: "pods" }),
  });
  const otherPort = await neutron.createPort({
    name: "web-other",
    network_id: otherNet.id,
    device_owner: "compute:raven",
    device_id: "other-Pod-web-other",
    project_id: OTHERS,
    description: ownedBy("another-cluster", other("Pod", "web-other")),
  });
  const handLb = await octavia.createLoadBalancer({
    name: "not-ravens",
    vip_subnet_id: handSubnet.id,
    project_id: OTHERS,
  });
  const otherLb = await octavia.createLoadBalancer({
    name: "demo",
    vip_subnet_id: handSubnet.id,
    project_id: OTHERS,
    description: ownedBy("another-cluster", other("Service", "demo")),
  });
  await octavia.waitActive(handLb.id);
  await octavia.waitActive(otherLb.id);

  // On Raven's own networks, once the running controller has made them.
  const ravenNets = await eventually(
    async () => {
      const nets = await neutron.listNetworks();
      const mine = (purpose: string, ns?: string) =>
        nets.find(
          (n) =>
            n.description?.includes(`cluster=${clusterId} `) &&
            n.description.includes(`purpose=${purpose}`) &&
            (!ns || n.name === `${ns}-net`),
        );
      const pods = mine("pods", "default");
      const external = mine("external");
      return pods && external && (await neutron.listSubnets({ network_id: pods.id })).length
        ? { pods, external }
        : undefined;
    },
    60_000,
    "Raven's default and external networks",
  );
  if (!ravenNets) throw new Error("unreachable: eventually answers a value");
  const onOurs = await neutron.createPort({
    name: "by-hand-on-ravens",
    network_id: ravenNets.pods.id,
    project_id: OTHERS,
  });
  const otherOnOurs = await neutron.createPort({
    name: "web-1",
    network_id: ravenNets.pods.id,
    device_owner: "compute:raven",
    device_id: "other-Pod-web-1",
    project_id: OTHERS,
    description: ownedBy("another-cluster", other("Pod", "web-1")),
  });
  const fip = await neutron.createFloatingIp({
    floating_network_id: ravenNets.external.id,
    floating_ip_address: "172.16.0.226",
    project_id: OTHERS,
  });

  const port = (id: string) => async () => revision((await neutron.listPorts({ id }))[0]);
  const lb = (id: string) => async () => {
    const l = await octavia.getLoadBalancer(id);
    return l && l.provisioning_status !== "DELETED"
      ? `${l.provisioning_status} ${(l as { updated_at?: string }).updated_at}`
      : undefined;
  };
  await keep("the network made by hand", async () =>
    revision((await neutron.listNetworks({ id: handNet.id }))[0]),
  );
  await keep("another cluster's network", async () =>
    revision((await neutron.listNetworks({ id: otherNet.id }))[0]),
  );
  await keep("the port made by hand", port(handPort.id));
  await keep("another cluster's port", port(otherPort.id));
  await keep("a port made by hand on Raven's network", port(onOurs.id));
  await keep("another cluster's port on Raven's network", port(otherOnOurs.id));
  await keep("a floating IP made by hand on Raven's external network", async () =>
    revision((await neutron.listFloatingIps({ id: fip.id }))[0]),
  );
  await keep("the load balancer made by hand", lb(handLb.id));
  await keep("another cluster's load balancer", lb(otherLb.id));
}

before(async () => {
  console.log(`chaos seed ${SEED} (replay with RAVEN_CHAOS_SEED=${SEED})`);
  sb = await startSandbox({ virtualNodes: 2, backend: "neutron", ravenController: false });
  clusterId = instanceIdFor(sb.dir);
  os = openStackClients(join(sb.dir, "openstack", "clouds.yaml"), "raven-sandbox");
  ({ neutron, octavia } = os);
  const world = await createChaosWorld(sb.client);
  const informers = new SharedInformerFactory(sb.client, { logger: silentLogger });
  informers.informerFor(PODS).addEventHandler({
    onAdd: (p) => recordPodIp(p),
    onUpdate: (_o, p) => recordPodIp(p),
  });
  informers.start(watching.signal);
  await informers.waitForCacheSync(watching.signal);
  churn = new Churn({ client: sb.client, rand, ...world });
});

after(async () => {
  watching.abort();
  await stopAll();
  await os?.close();
  await sb?.stop();
});

/** Waits until Neutron and Octavia match the cluster; answers how long that took. */
async function converge(what: string): Promise<{ ms: number; s: NeutronSnapshot }> {
  const t0 = Date.now();
  let last: string[] = [];
  let s: NeutronSnapshot | undefined;
  try {
    await eventually(
      async () => {
        if (controller && !controller.alive()) throw new Error(`raven controller ${controller.name} exited`);
        s = await neutronSnapshot(sb.client, { neutron, octavia }, clusterId);
        last = [...violations(s, { oneFloatingIpPerFixedIp: true }), ...s.extra];
        // A whole snapshot is dozens of calls: leave Neutron to the controller in between.
        if (last.length) await sleep(1500);
        return last.length === 0;
      },
      CONVERGE_MS,
      what,
    );
  } catch (err) {
    const errors = (controller?.lines ?? []).filter((l) => l.level >= 40).slice(-15);
    assert.fail(
      `${(err as Error).message}\n${last.length} violation(s):\n  ${last.slice(0, 40).join("\n  ")}\n` +
        `last warnings of ${controller?.name}:\n  ${errors.map((l) => JSON.stringify(l)).join("\n  ")}`,
    );
  }
  return { ms: Date.now() - t0, s: s! };
}

test("killing raven-controller during a churn on Neutron leaves no orphaned port, load balancer or floating IP, no duplicate address, and nobody else's object touched", async () => {
  startController();
  await makeForeignObjects();
  let kills = 0;
  let longPauses = 0;
  const crashes: string[] = [];
  const t0 = Date.now();
  // Fewer, slower workers than on embedded: Neutron here is one API worker on two cores.
  churn.start(2, 250);
  while (Date.now() - t0 < CHURN_MS) {
    const c = controller!.alive() ? controller! : startController();
    if (rand() < 0.25) {
      // Right in the start-up work: adoption, the orphan sweep, the pools' recovery.
      await c.waitForLog((l) => l.msg === "caches synced", 60_000, "caches synced").catch(() => {});
      await sleep(rand() * 500);
    } else await sleep(1500 + rand() * 4500);
    if (!c.alive()) {
      crashes.push(`${c.name}: ${JSON.stringify(c.lines.filter((l) => l.level >= 50).slice(-3))}`);
      continue;
    }
    await c.kill("SIGKILL");
    kills++;
    const r = rand();
    if (kills % 3 === 2 || r < 0.2) {
      longPauses++;
      const until = Date.now() + 2000 + rand() * 3000;
      await churn.whileDown();
      await sleep(until - Date.now());
    } else if (r < 0.6) await sleep(200 + rand() * 1300);
    startController();
  }
  await churn.stop();
  const churnMs = Date.now() - t0;
  assert.deepEqual(crashes, [], "raven-controller never exits on its own");
  if (!controller?.alive()) startController();

  const { ms, s } = await converge("convergence after the last restart");
  console.log(
    `neutron chaos: ${churn.total} operations in ${(churnMs / 1000).toFixed(1)} s, ${kills} kills, ${longPauses} long outages, ` +
      `${churn.deletedWhileDown} pods with ports deleted while down; converged ${ms} ms after the churn; ${describe(s)}, ${s.pooled} pooled ports`,
  );
  console.log(`neutron chaos: ops ${churn.summary()}`);
  const changed = [...podIps.values()].filter((p) => p.ips.size > 1).map((p) => `${p.pod}: ${[...p.ips]}`);
  assert.deepEqual(changed, [], "no pod's IP ever changed");
  const touched: string[] = [];
  for (const f of foreign) {
    const now = await f.read();
    if (now !== f.version) touched.push(`${f.what}: ${f.version} -> ${now ?? "gone"}`);
  }
  assert.deepEqual(touched, [], "nobody else's object was touched");
  assert.ok(kills >= 3, `only ${kills} kills`);
  assert.ok(longPauses >= 1);
  assert.ok(churn.total >= 60, `only ${churn.total} operations`);
  assert.ok(
    s.ports.length > 0 && s.loadBalancers.length > 0 && s.floatingIps.length > 0,
    "something to check",
  );
  assert.ok(controller?.alive(), "the last controller is still running");
});
