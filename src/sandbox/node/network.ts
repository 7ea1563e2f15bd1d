// The nodes' network: one host bridge per sandbox (the "underlay", gateway .1) and, per node, a
// network namespace joined to it by a veth. A node netns has NO default route: it reaches the
// other nodes and the host's gateway address only, other nodes' pod ranges via their node IP;
// Raven's pod range is `unreachable` there, and the service and external ranges go to a bridge
// with no ports (`rvsink`), so the node's own connections to a VIP get as far as the agent's
// DNAT, and a missing DNAT rule fails locally instead of leaving the machine (DESIGN.md safety
// rule). The "external" host is one more netns on the underlay, holding the external subnet's
// gateway address and routing the external range through the nodes, as an upstream router
// would. Nothing here touches host-wide sysctls: forwarding and bridge netfilter are set inside
// each node netns only.
//
// Planning (which `ip`/`sysctl` argv to run, given what exists) is pure and unit-tested; the
// functions at the bottom observe the system with `ip -j` and run the plan.
import { execFile } from "node:child_process";
import { cidrsOverlap, formatCidr, parseCidr } from "../../sdn/ipam.ts";
import { type NodeLayout, underlayBridge } from "./layout.ts";

export type Argv = string[];

/** The cluster ranges a node netns must never route anywhere but locally. */
export interface NodeNetworkRanges {
  serviceCidr: string;
  externalCidr: string;
  /** Raven's pod range (not the reference CNI's per-node ranges). */
  podCidr: string;
}

/** The bridge with no ports that a node routes the service and external ranges to. */
export const SINK_BRIDGE = "rvsink";
/** The external host's address on the underlay (nodes take .11 ... .210). */
export const EXTERNAL_HOST_OCTET = 250;

/** The external host: its address on the underlay, and on the external subnet (its gateway, .1). */
export function externalHostAddresses(
  nodeCidr: string,
  externalCidr: string,
): { underlay: string; external: string } {
  const u = nodeCidr.split("/")[0].split(".");
  const e = externalCidr.split("/")[0].split(".");
  return {
    underlay: `${u[0]}.${u[1]}.${u[2]}.${EXTERNAL_HOST_OCTET}`,
    external: `${e[0]}.${e[1]}.${e[2]}.${Number(e[3]) + 1}`,
  };
}

/** What exists of one node's network, as observed with `ip -j`. */
export interface NodeNetworkState {
  netnsExists: boolean;
  hostVethExists: boolean;
  /** eth0 exists inside the netns (the veth's peer). */
  peerInNetns: boolean;
  /** The sink bridge exists inside the netns. */
  sinkExists?: boolean;
}

/** The underlay's prefix length: the host takes .1, node i takes .(10+i). */
export const UNDERLAY_PREFIX = 24;
/** Node indexes that fit the underlay (.11 ... .254) and the pod range (10.244.<i>.0/24). */
export const MAX_NODES = 200;

/** The underlay bridge's address (.1 of the node CIDR) with its prefix. */
export function gatewayAddress(nodeCidr: string): string {
  const c = parseCidr(nodeCidr);
  if (!c || c.prefix !== UNDERLAY_PREFIX) throw new Error(`node CIDR must be a /24, got "${nodeCidr}"`);
  const o = nodeCidr.split("/")[0].split(".");
  return `${o[0]}.${o[1]}.${o[2]}.1/${UNDERLAY_PREFIX}`;
}

/** The underlay gateway's IP: where nodes reach the API server. */
export const gatewayIp = (nodeCidr: string): string => gatewayAddress(nodeCidr).split("/")[0];

/** Creates the bridge if needed, then (re)asserts its address and state; safe to replay. */
export function planUnderlay(instanceId: string, nodeCidr: string, bridgeExists: boolean): Argv[] {
  const br = underlayBridge(instanceId);
  return [
    ...(bridgeExists ? [] : [["ip", "link", "add", br, "type", "bridge"]]),
    ["ip", "addr", "replace", gatewayAddress(nodeCidr), "dev", br],
    // Strict reverse-path filtering on this bridge only: a packet from a pod (10.244.x) reaching
    // the host is dropped, since the host's answer would follow its default route out of the machine.
    ["sysctl", "-q", "-w", `net.ipv4.conf.${br}.rp_filter=1`],
    ["ip", "link", "set", br, "up"],
  ];
}

/**
 * Brings one node's netns to the desired state. A host veth whose peer is not in the netns (the
 * netns was recreated while something still held the old one) is deleted and made again.
 */
export function planNodeNetwork(
  node: NodeLayout,
  allNodes: NodeLayout[],
  ranges: NodeNetworkRanges,
  state: NodeNetworkState,
  bridge: string,
): Argv[] {
  const ns = node.netns;
  const inNs = (...args: string[]): Argv => ["ip", "-n", ns, ...args];
  const cmds: Argv[] = [];
  if (!state.netnsExists) cmds.push(["ip", "netns", "add", ns]);
  const vethOk = state.netnsExists && state.hostVethExists && state.peerInNetns;
  if (!vethOk) {
    if (state.hostVethExists) cmds.push(["ip", "link", "del", node.hostVeth]);
    // Created with its peer already inside the netns: both ends exist or neither does.
    cmds.push(["ip", "link", "add", node.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
  }
  cmds.push(
    ["ip", "link", "set", node.hostVeth, "master", bridge],
    ["ip", "link", "set", node.hostVeth, "up"],
    inNs("link", "set", "lo", "up"),
    inNs("addr", "replace", `${node.nodeIp}/${node.underlayPrefix}`, "dev", "eth0"),
    inNs("link", "set", "eth0", "up"),
  );
  for (const other of allNodes)
    if (other.index !== node.index)
      cmds.push(inNs("route", "replace", other.podCidr, "via", other.nodeIp, "dev", "eth0"));
  cmds.push(inNs("route", "replace", "unreachable", ranges.podCidr));
  if (!state.sinkExists) cmds.push(inNs("link", "add", "name", SINK_BRIDGE, "type", "bridge"));
  cmds.push(inNs("link", "set", SINK_BRIDGE, "up"));
  for (const cidr of [ranges.serviceCidr, ranges.externalCidr])
    cmds.push(inNs("route", "replace", cidr, "dev", SINK_BRIDGE, "src", node.nodeIp));
  const ext = externalHostAddresses(`${node.nodeIp}/${node.underlayPrefix}`, ranges.externalCidr);
  cmds.push(inNs("route", "replace", `${ext.external}/32`, "via", ext.underlay, "dev", "eth0"));
  cmds.push(
    // Pods on the node's cni0 are routed by the node; the service LB (nft DNAT of bridged
    // traffic) needs bridge netfilter. Both are per-netns sysctls: the host's stay untouched.
    ["nsenter", `--net=${node.netnsPath}`, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
    ["nsenter", `--net=${node.netnsPath}`, "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1"],
  );
  return cmds;
}

/** Routes in a node netns (from `ip -j route`) that the plan does not want: stale node routes, defaults. */
export function staleRoutes(
  routes: { dst: string; gateway?: string; type?: string }[],
  node: NodeLayout,
  allNodes: NodeLayout[],
  ranges: NodeNetworkRanges,
): Argv[] {
  const ext = externalHostAddresses(`${node.nodeIp}/${node.underlayPrefix}`, ranges.externalCidr);
  const wanted = new Set<string>([
    ...allNodes.filter((n) => n.index !== node.index).map((n) => `${n.podCidr} via ${n.nodeIp}`),
    `${ext.external}/32 via ${ext.underlay}`,
    `unreachable ${ranges.podCidr}`,
  ]);
  const out: Argv[] = [];
  for (const r of routes) {
    const dst = r.dst === "default" ? "default" : r.dst.includes("/") ? r.dst : `${r.dst}/32`;
    if (dst === "default") {
      out.push(["ip", "-n", node.netns, "route", "del", "default"]);
    } else if (r.gateway) {
      if (!wanted.has(`${dst} via ${r.gateway}`)) out.push(["ip", "-n", node.netns, "route", "del", dst]);
    } else if (r.type === "unreachable" || r.type === "blackhole" || r.type === "prohibit") {
      if (!wanted.has(`unreachable ${dst}`)) out.push(["ip", "-n", node.netns, "route", "del", r.type, dst]);
    }
  }
  return out;
}

export function planDeleteNodeNetwork(
  node: NodeLayout,
  state: Pick<NodeNetworkState, "netnsExists" | "hostVethExists">,
): Argv[] {
  // Deleting the netns destroys eth0 and with it the host end; delete the host end too in case
  // something still holds the netns open.
  return [
    ...(state.netnsExists ? [["ip", "netns", "del", node.netns]] : []),
    ...(state.hostVethExists ? [["ip", "link", "del", node.hostVeth]] : []),
  ];
}

/**
 * A /24 for the underlay in 10.254.0.0/16: starts at a slot derived from the instance id and
 * skips every /24 that overlaps a route the host already has (other sandboxes' bridges included).
 */
export function pickNodeCidr(instanceId: string, routedCidrs: string[]): string {
  const taken = routedCidrs.map((c) => parseCidr(c)).filter((c) => c !== undefined);
  let h = 0x811c9dc5;
  for (const ch of instanceId) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  for (let i = 0; i < 256; i++) {
    const third = (h + i) % 256;
    const cand = parseCidr(`10.254.${third}.0/24`)!;
    if (!taken.some((t) => cidrsOverlap(t, cand))) return formatCidr(cand);
  }
  throw new Error("no free /24 for the sandbox's node network in 10.254.0.0/16: the host routes all of it");
}

// ---- I/O ------------------------------------------------------------------------------------

/** Runs one argv; rejects with the command and its stderr. */
export function sh(argv: Argv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(" ")}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

async function runAll(cmds: Argv[]): Promise<void> {
  for (const c of cmds) await sh(c);
}

async function json<T>(argv: Argv): Promise<T[]> {
  const out = (await sh(argv)).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

export async function netnsNames(): Promise<string[]> {
  return (await json<{ name: string }>(["ip", "-j", "netns", "list"])).map((n) => n.name);
}

export async function linkNames(netns?: string): Promise<string[]> {
  const argv = netns ? ["ip", "-n", netns, "-j", "link", "show"] : ["ip", "-j", "link", "show"];
  return (await json<{ ifname: string }>(argv)).map((l) => l.ifname);
}

/** Every IPv4 destination the host routes (main table), e.g. for picking a free node CIDR. */
export async function hostRoutedCidrs(): Promise<string[]> {
  const routes = await json<{ dst: string }>(["ip", "-j", "-4", "route", "show", "table", "all"]);
  return routes
    .map((r) => r.dst)
    .filter((d) => d && d !== "default")
    .map((d) => (d.includes("/") ? d : `${d}/32`));
}

async function nodeState(node: NodeLayout): Promise<NodeNetworkState> {
  const netnsExists = (await netnsNames()).includes(node.netns);
  const hostVethExists = (await linkNames()).includes(node.hostVeth);
  const inside = netnsExists ? await linkNames(node.netns) : [];
  return {
    netnsExists,
    hostVethExists,
    peerInNetns: inside.includes("eth0"),
    sinkExists: inside.includes(SINK_BRIDGE),
  };
}

/** The host bridge with the gateway address, up. Refuses a node CIDR another device already routes. */
export async function ensureUnderlay(instanceId: string, nodeCidr: string): Promise<void> {
  const br = underlayBridge(instanceId);
  const cidr = parseCidr(nodeCidr);
  if (!cidr) throw new Error(`bad node CIDR "${nodeCidr}"`);
  const routes = await json<{ dst: string; dev?: string }>(["ip", "-j", "-4", "route", "show"]);
  const clash = routes.find(
    (r) =>
      r.dst !== "default" &&
      r.dev !== br &&
      cidrsOverlap(parseCidr(r.dst.includes("/") ? r.dst : `${r.dst}/32`)!, cidr),
  );
  if (clash)
    throw new Error(
      `the sandbox's node CIDR ${nodeCidr} overlaps the host route ${clash.dst} on ${clash.dev}; ` +
        `set another "nodeCidr" in the sandbox's config.json`,
    );
  await runAll(planUnderlay(instanceId, nodeCidr, (await linkNames()).includes(br)));
}

export async function deleteUnderlay(instanceId: string): Promise<void> {
  const br = underlayBridge(instanceId);
  if ((await linkNames()).includes(br)) await sh(["ip", "link", "del", br]);
}

/** One node's netns, veth, address, routes and sysctls; re-running it repairs or confirms them. */
export async function ensureNodeNetwork(
  node: NodeLayout,
  allNodes: NodeLayout[],
  cfg: NodeNetworkRanges & { instanceId: string },
): Promise<void> {
  const bridge = underlayBridge(cfg.instanceId);
  const ranges: NodeNetworkRanges = {
    serviceCidr: cfg.serviceCidr,
    externalCidr: cfg.externalCidr,
    podCidr: cfg.podCidr,
  };
  await runAll(planNodeNetwork(node, allNodes, ranges, await nodeState(node), bridge));
  const routes = await json<{ dst: string; gateway?: string; type?: string }>([
    "ip",
    "-n",
    node.netns,
    "-j",
    "-4",
    "route",
    "show",
  ]);
  await runAll(staleRoutes(routes, node, allNodes, ranges));
}

export async function deleteNodeNetwork(node: NodeLayout): Promise<void> {
  const s = await nodeState(node);
  await runAll(planDeleteNodeNetwork(node, s));
}

/** The external host's netns and the host end of its veth on the underlay. */
export const externalHostNetns = (instanceId: string) => `${instanceId}-external`;
const externalHostVeth = (instanceId: string) => `${instanceId}-ext`;

/**
 * The external host: a netns on the underlay with the external subnet's gateway address, routing
 * the external range through every node (ECMP), as the upstream router of a cloud's external
 * network would. Idempotent.
 */
export function planExternalHost(
  instanceId: string,
  nodeCidr: string,
  externalCidr: string,
  nodeIps: string[],
  state: { netnsExists: boolean; vethOk: boolean; hostVethExists: boolean },
): Argv[] {
  const ns = externalHostNetns(instanceId);
  const veth = externalHostVeth(instanceId);
  const ext = externalHostAddresses(nodeCidr, externalCidr);
  const inNs = (...args: string[]): Argv => ["ip", "-n", ns, ...args];
  const cmds: Argv[] = [];
  if (!state.netnsExists) cmds.push(["ip", "netns", "add", ns]);
  if (!state.vethOk) {
    if (state.hostVethExists) cmds.push(["ip", "link", "del", veth]);
    cmds.push(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
  }
  cmds.push(
    ["ip", "link", "set", veth, "master", underlayBridge(instanceId)],
    ["ip", "link", "set", veth, "up"],
    inNs("link", "set", "lo", "up"),
    inNs("addr", "replace", `${ext.underlay}/${UNDERLAY_PREFIX}`, "dev", "eth0"),
    inNs("addr", "replace", `${ext.external}/32`, "dev", "eth0"),
    inNs("link", "set", "eth0", "up"),
  );
  if (nodeIps.length)
    cmds.push(
      inNs(
        "route",
        "replace",
        externalCidr,
        "src",
        ext.external,
        ...nodeIps.flatMap((ip) => ["nexthop", "via", ip, "dev", "eth0"]),
      ),
    );
  return cmds;
}

export async function ensureExternalHost(
  cfg: { instanceId: string; nodeCidr: string; externalCidr: string },
  nodeIps: string[],
): Promise<void> {
  const ns = externalHostNetns(cfg.instanceId);
  const netnsExists = (await netnsNames()).includes(ns);
  const hostVethExists = (await linkNames()).includes(externalHostVeth(cfg.instanceId));
  const vethOk = netnsExists && hostVethExists && (await linkNames(ns)).includes("eth0");
  await runAll(
    planExternalHost(cfg.instanceId, cfg.nodeCidr, cfg.externalCidr, nodeIps, {
      netnsExists,
      vethOk,
      hostVethExists,
    }),
  );
}

export async function deleteExternalHost(instanceId: string): Promise<void> {
  if ((await netnsNames()).includes(externalHostNetns(instanceId)))
    await sh(["ip", "netns", "del", externalHostNetns(instanceId)]);
  if ((await linkNames()).includes(externalHostVeth(instanceId)))
    await sh(["ip", "link", "del", externalHostVeth(instanceId)]);
}
