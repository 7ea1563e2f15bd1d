// Namespace networks across nodes, on real network namespaces: two "nodes" joined by a veth
// (the underlay), each laid out by its own NodeNetworks from one in-memory backend, pods made
// with the dataplane's pod-link plan. Pods of one network on different nodes reach each other
// over VXLAN, pods of different networks through their nodes; the VXLAN devices know the remote
// ports from the backend only (no learning, no flooding entry), and forget a port that goes.
// Every namespace carries this test's prefix and is deleted after it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { NodeNetworks } from "../src/agent/networks.ts";
import { ipTool } from "../src/dataplane/ip.ts";
import { vxlanName } from "../src/dataplane/overlay.ts";
import { hostVethName, planPodLink } from "../src/dataplane/pod-link.ts";
import { silentLogger } from "../src/kube/log.ts";
import { FakeSdnBackend } from "../src/sdn/fake-backend.ts";
import type { Port } from "../src/sdn/model.ts";

const exec = promisify(execFile);
const sh = async (cmd: string, args: string[]) => (await exec(cmd, args)).stdout;
const PREFIX = `rvo${process.pid}`;
const made: string[] = [];
const NODES = {
  "node-1": { ns: `${PREFIX}-n1`, ip: "10.77.0.1" },
  "node-2": { ns: `${PREFIX}-n2`, ip: "10.77.0.2" },
};
type NodeName = keyof typeof NODES;

async function netns(name: string): Promise<string> {
  await sh("ip", ["netns", "add", name]);
  made.push(name);
  return name;
}

const backend = new FakeSdnBackend();
const agents = new Map<NodeName, NodeNetworks>();

/** A node's NodeNetworks over the in-memory backend (a new one reads the node afresh). */
const agentOf = (name: NodeName) =>
  new NodeNetworks({
    source: {
      podNetworks: () =>
        backend
          .inventory()
          .networks.flatMap((n) =>
            n.object.purpose === "pods" && n.object.subnet
              ? [{ network: n.object, subnet: n.object.subnet }]
              : [],
          ),
      portsOnNetwork: (id) => backend.portsOnNetwork(id),
      nodeIp: (n) => NODES[n as NodeName]?.ip,
    },
    ip: ipTool(NODES[name].ns),
    nodeName: name,
    localIp: NODES[name].ip,
    mtu: 1450,
    log: silentLogger,
  });

before(async () => {
  const [n1, n2] = [await netns(NODES["node-1"].ns), await netns(NODES["node-2"].ns)];
  await sh("ip", ["-n", n1, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", n2]);
  for (const [, n] of Object.entries(NODES)) {
    await sh("ip", ["-n", n.ns, "addr", "add", `${n.ip}/24`, "dev", "eth0"]);
    await sh("ip", ["-n", n.ns, "link", "set", "eth0", "up"]);
    await sh("ip", ["-n", n.ns, "link", "set", "lo", "up"]);
    await sh("ip", ["netns", "exec", n.ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  }
  for (const name of Object.keys(NODES) as NodeName[]) agents.set(name, agentOf(name));
});
after(async () => {
  for (const ns of made.reverse()) await sh("ip", ["netns", "del", ns]).catch(() => {});
});

const nets = new Map<string, Awaited<ReturnType<FakeSdnBackend["ensureNetwork"]>>>();
async function network(ns: string, cidr: string) {
  if (!nets.has(ns))
    nets.set(
      ns,
      await backend.ensureNetwork({
        owner: { kind: "Namespace", namespace: "", name: ns, uid: `ns-${ns}` },
        name: `${ns}-net`,
        purpose: "pods",
        cidr,
      }),
    );
  return nets.get(ns)!;
}

/** A pod on `node`: a port from the backend and a netns bound to it, as the binder would. */
async function pod(name: string, node: NodeName, ns: string, cidr: string): Promise<Port> {
  const net = await network(ns, cidr);
  const port = await backend.createPort({
    owner: { kind: "Pod", namespace: ns, name, uid: `uid-${name}` },
    name,
    networkId: net.network.id,
    subnetId: net.subnet.id,
    hostId: node,
  });
  const podNs = await netns(`${PREFIX}-${name}`);
  const agent = agents.get(node)!;
  const bridge = await agent.ensureBridge(net.network.id, net.subnet);
  const prefix = net.subnet.cidr.split("/")[1];
  await ipTool(NODES[node].ns).apply(
    planPodLink({
      netns: `/run/netns/${podNs}`,
      nodeNetns: NODES[node].ns,
      ifname: "eth0",
      hostVeth: hostVethName(name, "eth0"),
      bridge,
      portId: port.id,
      mac: port.mac_address,
      addressCidr: `${port.fixed_ips[0].ip_address}/${prefix}`,
      gateway: net.subnet.gateway_ip!,
      mtu: agent.mtu,
    }),
  );
  return port;
}

const ping = (fromPod: string, ip: string) =>
  exec("ip", ["netns", "exec", `${PREFIX}-${fromPod}`, "busybox", "ping", "-c", "1", "-W", "2", ip]).then(
    () => true,
    () => false,
  );

const syncAll = async () => {
  for (const a of agents.values()) await a.sync();
};

test("pods of one network on two nodes reach each other over VXLAN; pods of two networks through their nodes", async () => {
  const a = await pod("a", "node-1", "default", "192.168.0.0/24");
  const b = await pod("b", "node-2", "default", "192.168.0.0/24");
  const c = await pod("c", "node-2", "other", "192.168.1.0/24");
  await syncAll();
  assert.equal(await ping("a", b.fixed_ips[0].ip_address), true, "a -> b (same network, other node)");
  assert.equal(await ping("b", a.fixed_ips[0].ip_address), true, "b -> a");
  assert.equal(await ping("a", c.fixed_ips[0].ip_address), true, "a -> c (other network, other node)");
  assert.equal(await ping("c", a.fixed_ips[0].ip_address), true, "c -> a");
  // Both nodes answer on each gateway, for their own pods.
  assert.equal(await ping("a", "192.168.0.1"), true);
  assert.equal(await ping("c", "192.168.1.1"), true);

  // The VXLAN device of node-1 knows b from the backend, and floods nowhere.
  const vx = vxlanName(nets.get("default")!.network.id);
  const fdb = JSON.parse(
    await sh("ip", ["netns", "exec", NODES["node-1"].ns, "bridge", "-j", "fdb", "show", "dev", vx]),
  );
  const remote = fdb.filter((e: { dst?: string }) => e.dst);
  assert.deepEqual(
    remote.map((e: { mac: string; dst: string }) => `${e.mac} ${e.dst}`),
    [`${b.mac_address} ${NODES["node-2"].ip}`],
  );
  const details = JSON.parse(await sh("ip", ["-n", NODES["node-1"].ns, "-j", "-d", "link", "show", vx]))[0];
  assert.equal(details.linkinfo.info_data.learning, false);
  assert.equal(details.linkinfo.info_data.proxy, true);
  assert.equal(details.mtu, 1450);
});

test("a port that goes is forgotten by the other nodes; a sync with nothing new changes nothing", async () => {
  const [b] = backend.findPorts("uid-b");
  await backend.deletePort(b.id);
  await syncAll();
  const vx = vxlanName(nets.get("default")!.network.id);
  // (The bridge itself may still remember where it last saw b's MAC, until that ages out; the
  // VXLAN device's own entries, which send frames to a node, are what matter.)
  const fdb = JSON.parse(
    await sh("ip", ["netns", "exec", NODES["node-1"].ns, "bridge", "-j", "fdb", "show", "dev", vx]),
  );
  assert.deepEqual(
    fdb.filter((e: { dst?: string }) => e.dst),
    [],
  );
  const neigh = await sh("ip", ["-n", NODES["node-1"].ns, "neigh", "show", "dev", vx]);
  assert.doesNotMatch(neigh, new RegExp(`${b.fixed_ips[0].ip_address.replace(/\./g, "\\.")} `));
  assert.equal(await ping("a", b.fixed_ips[0].ip_address), false, "b's address is not reachable any more");
  // A second agent's view (read from the node, as after a restart) plans nothing more.
  assert.deepEqual(await agentOf("node-1").plan(), [], "the node is as wanted");
});
