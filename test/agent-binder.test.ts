// raven-agent's CNI logic on real network namespaces: a "node" netns (where the agent's bridge
// and veth ends live) and "pod" netns, both made by this test with its own prefix and deleted
// after it; the backend and the pod cache are in-memory. Packets only go between the two.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { Binder, type PortSource } from "../src/agent/binder.ts";
import { NodeNetworks } from "../src/agent/networks.ts";
import { formatPortAnnotation } from "../src/api/annotations.ts";
import type { CniRequest } from "../src/api/cni.ts";
import { ipTool } from "../src/dataplane/ip.ts";
import { bridgeName, hostVethName } from "../src/dataplane/pod-link.ts";
import { silentLogger } from "../src/kube/log.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { FakeSdnBackend } from "../src/sdn/fake-backend.ts";
import type { Port } from "../src/sdn/model.ts";

const exec = promisify(execFile);
const PREFIX = `rvt${process.pid}`;
const NODE_NS = `${PREFIX}-node`;
const podNs = (i: number) => `${PREFIX}-pod${i}`;
const made: string[] = [];

const sh = async (cmd: string, args: string[]) => (await exec(cmd, args)).stdout;

before(async () => {
  await sh("ip", ["netns", "add", NODE_NS]);
  made.push(NODE_NS);
});
after(async () => {
  for (const ns of made) await sh("ip", ["netns", "del", ns]).catch(() => {});
});

async function newPodNetns(i: number): Promise<string> {
  await sh("ip", ["netns", "add", podNs(i)]);
  made.push(podNs(i));
  return `/var/run/netns/${podNs(i)}`;
}

const backend = new FakeSdnBackend();
const pods = new Map<string, KubeObject>();
const events: string[] = [];
const states: string[] = [];
const portSource: PortSource = {
  findPorts: (uid) => backend.findPorts(uid),
  ownerOf: (id) => backend.inventory().ports.find((p) => p.object.id === id)?.owner.uid,
  findSubnet: (id) => backend.findSubnet(id),
  // In memory the answer is there or never comes.
  waitFor: async (found) => {
    const v = found();
    if (v === undefined) throw new Error("not found");
    return v;
  },
};
// The node's networks with nothing to lay out but the bridges pods need.
const networks = new NodeNetworks({
  source: { podNetworks: () => [], portsOnNetwork: () => [], nodeIp: () => undefined },
  ip: ipTool(NODE_NS),
  nodeName: "node-1",
  localIp: "10.9.9.1",
  mtu: 1450,
  log: silentLogger,
});
const binder = new Binder({
  nodeName: "node-1",
  portAnnotation: "raven.io/port",
  attachmentsAnnotation: "raven.io/attachments",
  pods: {
    waitFor: async (ns, name, _uid, ready) => {
      const p = pods.get(`${ns}/${name}`);
      if (!p || !ready(p)) throw new Error("no such pod");
      return p;
    },
  },
  ports: portSource,
  ip: ipTool(NODE_NS),
  ensureBridge: (id, subnet) => networks.ensureBridge(id, subnet),
  mtu: networks.mtu,
  events: { warn: (pod, reason, msg) => events.push(`${pod.metadata.name} ${reason}: ${msg}`) },
  onPortState: (id, state) => states.push(`${id} ${state}`),
  ready: () => true,
  whenReady: async () => true,
});

let net: Awaited<ReturnType<FakeSdnBackend["ensureNetwork"]>>;
async function podWithPort(
  name: string,
  node = "node-1",
  annotate?: Port,
): Promise<{ pod: KubeObject; port: Port }> {
  net ??= await backend.ensureNetwork({
    owner: { kind: "Namespace", namespace: "", name: "default", uid: "ns-default" },
    name: "default-net",
    purpose: "pods",
    cidr: "192.168.0.0/24",
  });
  const uid = `uid-${name}`;
  const port = await backend.createPort({
    owner: { kind: "Pod", namespace: "default", name, uid },
    name,
    networkId: net.network.id,
    subnetId: net.subnet.id,
    hostId: node,
  });
  const pod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid,
      annotations: { "raven.io/port": formatPortAnnotation(annotate ?? port) },
    },
  };
  pods.set(`default/${name}`, pod);
  return { pod, port };
}

const request = (
  command: CniRequest["command"],
  containerId: string,
  netns: string,
  name: string,
  config = {},
): CniRequest => ({
  command,
  containerId,
  netns,
  ifname: "eth0",
  args: { K8S_POD_NAMESPACE: "default", K8S_POD_NAME: name, K8S_POD_UID: `uid-${name}` },
  config: { cniVersion: "1.0.0", name: "raven", ...config },
});
const signal = () => AbortSignal.timeout(30_000);

test("ADD: the pod's eth0 has exactly its port's address and MAC, a default route via the gateway, and reaches it", async () => {
  const { port } = await podWithPort("nginx");
  const netns = await newPodNetns(1);
  const reply = await binder.handle(request("ADD", "c1", netns, "nginx"), signal());
  assert.ok("result" in reply, JSON.stringify(reply));
  const result = reply.result as any;
  assert.deepEqual(result.ips, [
    { address: `${port.fixed_ips[0].ip_address}/24`, gateway: "192.168.0.1", interface: 1 },
  ]);
  const addr = JSON.parse(await sh("ip", ["-n", podNs(1), "-j", "addr", "show", "dev", "eth0"]))[0];
  assert.equal(addr.address, port.mac_address);
  assert.deepEqual(
    addr.addr_info.filter((a: any) => a.family === "inet").map((a: any) => `${a.local}/${a.prefixlen}`),
    ["192.168.0.2/24"],
  );
  assert.match(await sh("ip", ["-n", podNs(1), "route"]), /default via 192\.168\.0\.1 dev eth0/);
  // The host end is on the network's bridge, in hairpin mode.
  const host = JSON.parse(
    await sh("ip", ["-n", NODE_NS, "-j", "-d", "link", "show", "dev", hostVethName("c1", "eth0")]),
  )[0];
  assert.equal(host.master, bridgeName(port.network_id));
  assert.equal(host.linkinfo.info_slave_data.hairpin, true);
  await sh("ip", ["netns", "exec", podNs(1), "busybox", "ping", "-c", "1", "-W", "2", "192.168.0.1"]);
  assert.deepEqual(states, [`${port.id} ACTIVE`]);

  // CHECK with the result as prevResult holds; after the address is gone it does not.
  const check = () => binder.handle(request("CHECK", "c1", netns, "nginx", { prevResult: result }), signal());
  assert.deepEqual(await check(), {});
  await sh("ip", ["-n", podNs(1), "addr", "flush", "dev", "eth0"]);
  const broken = await check();
  assert.ok("error" in broken && /lacks 192\.168\.0\.2\/24/.test(broken.error.msg), JSON.stringify(broken));

  // DEL, and containerd's second DEL (no netns), both succeed; the veth is gone.
  assert.deepEqual(await binder.handle(request("DEL", "c1", netns, "nginx"), signal()), {});
  assert.deepEqual(await binder.handle(request("DEL", "c1", "", "nginx"), signal()), {});
  assert.doesNotMatch(await sh("ip", ["-n", NODE_NS, "link"]), new RegExp(hostVethName("c1", "eth0")));
  assert.deepEqual(states, [`${port.id} ACTIVE`, `${port.id} DOWN`]);
});

test("a forged annotation naming another pod's port, or a port of another node, is refused with an Event", async () => {
  const { port: victim } = await podWithPort("victim");
  await podWithPort("thief", "node-1", victim);
  const netns = await newPodNetns(2);
  const reply = await binder.handle(request("ADD", "c2", netns, "thief"), signal());
  assert.ok("error" in reply && reply.error.code === 7, JSON.stringify(reply));
  assert.match(events.at(-1)!, /^thief PortRejected: port .* is not a port of pod default\/thief/);
  assert.equal((await sh("ip", ["-n", podNs(2), "-o", "link"])).includes("eth0"), false, "no interface made");

  await podWithPort("elsewhere", "node-2");
  const other = await binder.handle(request("ADD", "c3", netns, "elsewhere"), signal());
  assert.ok("error" in other && /bound to node node-2, not node-1/.test(other.error.msg));
});

test("GC removes the node ends of attachments the runtime no longer lists; the node's links say which ports are bound", async () => {
  const { port: kept } = await podWithPort("keep");
  const { port: dropped } = await podWithPort("drop");
  const [a, b] = [await newPodNetns(3), await newPodNetns(4)];
  assert.ok("result" in (await binder.handle(request("ADD", "keep-c", a, "keep"), signal())));
  assert.ok("result" in (await binder.handle(request("ADD", "drop-c", b, "drop"), signal())));
  const gc = await binder.handle(
    {
      ...request("GC", "", "", ""),
      config: {
        cniVersion: "1.1.0",
        name: "raven",
        "cni.dev/attachments": [{ containerID: "keep-c", ifname: "eth0" }],
      },
    },
    signal(),
  );
  assert.deepEqual(gc, {});
  assert.equal(states.at(-1), `${dropped.id} DOWN`);
  // What a restarted agent reads back from the node (it keeps no memory of its own).
  const bound = await binder.boundPorts();
  assert.ok(bound.has(kept.id) && !bound.has(dropped.id), [...bound].join(" "));
  const links = await sh("ip", ["-n", NODE_NS, "-o", "link"]);
  assert.match(links, new RegExp(hostVethName("keep-c", "eth0")));
  assert.doesNotMatch(links, new RegExp(hostVethName("drop-c", "eth0")));
});

test("a repeated ADD (the runtime retrying) starts from a clean slate: one veth, the same result", async () => {
  await podWithPort("again");
  const netns = await newPodNetns(5);
  const first = await binder.handle(request("ADD", "again-c", netns, "again"), signal());
  const second = await binder.handle(request("ADD", "again-c", netns, "again"), signal());
  assert.ok("result" in first && "result" in second, JSON.stringify(second));
  assert.deepEqual(second, first, "the host end's MAC is set, not learnt, so the result repeats");
  const links = JSON.parse(await sh("ip", ["-n", podNs(5), "-j", "link", "show"]));
  assert.deepEqual(links.map((l: { ifname: string }) => l.ifname).sort(), ["eth0", "lo"]);
  const host = JSON.parse(
    await sh("ip", ["-n", NODE_NS, "-j", "link", "show", "dev", hostVethName("again-c", "eth0")]),
  )[0];
  assert.equal(
    host.address,
    (first as { result: { interfaces: { mac: string }[] } }).result.interfaces[0].mac,
  );
});

test("a netns file outside /run/netns (a process's /proc/PID/ns/net) is entered too", async () => {
  const { port } = await podWithPort("procns");
  await newPodNetns(6);
  // A process living in the pod netns; its /proc entry is the netns file the runtime passes.
  const holder = spawn("ip", ["netns", "exec", podNs(6), "sleep", "60"], { stdio: "ignore" });
  try {
    const netns = `/proc/${holder.pid}/ns/net`;
    for (let i = 0; ; i++) {
      // Until `ip netns exec` has entered the netns (the link names the same netns inode).
      const [a, b] = await Promise.all([
        sh("stat", ["-L", "-c", "%i", netns]).catch(() => ""),
        sh("stat", ["-L", "-c", "%i", `/run/netns/${podNs(6)}`]),
      ]);
      if (a && a === b) break;
      assert.ok(i < 200, "the holder did not enter the netns");
      await new Promise((r) => setTimeout(r, 25));
    }
    const reply = await binder.handle(request("ADD", "proc-c", netns, "procns"), signal());
    assert.ok("result" in reply, JSON.stringify(reply));
    const addr = JSON.parse(await sh("ip", ["-n", podNs(6), "-j", "addr", "show", "dev", "eth0"]))[0];
    assert.equal(addr.address, port.mac_address);
    assert.deepEqual(await binder.handle(request("DEL", "proc-c", netns, "procns"), signal()), {});
  } finally {
    holder.kill("SIGKILL");
  }
});
