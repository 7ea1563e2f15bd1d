// Namespace networks on a node: one bridge per network holding the subnet's gateway address
// (every node routes between the networks), and a VXLAN device on it (one VNI per network) that
// carries the network's frames to the other nodes. Nothing depends on flooding: the VXLAN device
// learns nothing and floods nowhere; each port bound to another node is a static FDB entry (its
// MAC -> that node's address) and a neighbour entry the device answers ARP from (`proxy`). Pure
// planning from what is wanted and what the node has; apply with ip.ts.
import { createHash } from "node:crypto";
import type { IpCommand } from "./pod-link.ts";

const hash = (s: string, hexDigits: number) =>
  createHash("sha256").update(s).digest("hex").slice(0, hexDigits);

/** The VXLAN device of a network: `rvvx` + 8 hex of the network id. */
export const vxlanName = (networkId: string) => `rvvx${hash(networkId, 8)}`;

/** The VXLAN header's cost on an IPv4 underlay (outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14). */
export const VXLAN_OVERHEAD = 50;
export const VXLAN_PORT = 4789;

/**
 * A network's VNI: its subnet's network address without the last octet, which is unique for
 * non-overlapping subnets of /24 or larger (the namespace networks); smaller ones fall back to
 * a hash of the network id.
 */
export function vniOf(cidr: string, networkId: string): number {
  const [addr, prefix] = cidr.split("/");
  if (Number(prefix) <= 24) {
    const o = addr.split(".").map(Number);
    const vni = (o[0] << 16) | (o[1] << 8) | o[2];
    if (vni > 0) return vni;
  }
  return Number.parseInt(hash(networkId, 6), 16) || 1;
}

export interface RemotePort {
  ip: string;
  mac: string;
  /** The address of the node the port is bound to. */
  nodeIp: string;
}

export interface NetworkOnNode {
  networkId: string;
  bridge: string;
  /** The subnet's gateway with its prefix, e.g. 192.168.0.1/24. */
  gatewayCidr: string;
  vni: number;
  /** Ports of this network bound to other nodes. */
  remote: RemotePort[];
}

/** What the node has of Raven's networks (read with `ip -j` and `bridge -j`). */
export interface OverlayState {
  /** Bridges (rvbr...) that exist: their IPv4 addresses (with prefix) and whether they are up. */
  bridges: Map<string, { cidrs: Set<string>; up: boolean }>;
  /** VXLAN devices (rvvx...) that exist, with their VNI and bridge, and whether they are up. */
  vxlans: Map<string, { vni: number; master?: string; up?: boolean }>;
  /** Permanent FDB entries per VXLAN device: MAC -> destination node address. */
  fdb: Map<string, Map<string, string>>;
  /** Permanent neighbour entries per VXLAN device: IP -> MAC. */
  neighbours: Map<string, Map<string, string>>;
}

export const emptyOverlayState = (): OverlayState => ({
  bridges: new Map(),
  vxlans: new Map(),
  fdb: new Map(),
  neighbours: new Map(),
});

export interface OverlayOptions {
  localIp: string;
  /** MTU of the VXLAN devices (the underlay's minus VXLAN_OVERHEAD); pods use the same. */
  mtu: number;
  /** Bridges never deleted (pods are on them). */
  keepBridges?: ReadonlySet<string>;
}

const bridgeCmd = (...args: string[]): IpCommand => ({ tool: "bridge", args });
const ipCmd = (...args: string[]): IpCommand => ({ args });

/** The commands that bring the node from `have` to `want`; bridges of networks that are gone go too. */
export function planOverlay(want: NetworkOnNode[], have: OverlayState, o: OverlayOptions): IpCommand[] {
  const cmds: IpCommand[] = [];
  const wantedBridges = new Set<string>();
  const wantedVxlans = new Set<string>();
  for (const n of want) {
    const vx = vxlanName(n.networkId);
    wantedBridges.add(n.bridge);
    wantedVxlans.add(vx);
    const br = have.bridges.get(n.bridge);
    if (!br?.up || !br.cidrs.has(n.gatewayCidr))
      cmds.push(...planBridge({ bridge: n.bridge, gatewayCidr: n.gatewayCidr }, Boolean(br)));
    const cur = have.vxlans.get(vx);
    if (cur && cur.vni !== n.vni) cmds.push(ipCmd("link", "del", vx));
    if (!cur || cur.vni !== n.vni)
      cmds.push(
        ipCmd(
          "link",
          "add",
          vx,
          "mtu",
          String(o.mtu),
          "type",
          "vxlan",
          "id",
          String(n.vni),
          "local",
          o.localIp,
          "dstport",
          String(VXLAN_PORT),
          "nolearning",
          "proxy",
        ),
      );
    if (!cur || cur.vni !== n.vni || cur.master !== n.bridge)
      cmds.push(ipCmd("link", "set", vx, "master", n.bridge));
    if (!cur || cur.vni !== n.vni || !cur.up) cmds.push(ipCmd("link", "set", vx, "up"));
    const fresh = !cur || cur.vni !== n.vni;
    const fdb = fresh ? new Map<string, string>() : (have.fdb.get(vx) ?? new Map());
    const neigh = fresh ? new Map<string, string>() : (have.neighbours.get(vx) ?? new Map());
    const wantMacs = new Map(n.remote.map((r) => [r.mac, r.nodeIp]));
    const wantIps = new Map(n.remote.map((r) => [r.ip, r.mac]));
    for (const [mac, dst] of fdb)
      if (wantMacs.get(mac) !== dst) cmds.push(bridgeCmd("fdb", "del", mac, "dev", vx, "dst", dst, "self"));
    for (const [ip, mac] of neigh)
      if (wantIps.get(ip) !== mac) cmds.push(ipCmd("neigh", "del", ip, "dev", vx));
    for (const [mac, dst] of wantMacs)
      if (fdb.get(mac) !== dst)
        cmds.push(bridgeCmd("fdb", "replace", mac, "dev", vx, "dst", dst, "self", "permanent"));
    for (const [ip, mac] of wantIps)
      if (neigh.get(ip) !== mac)
        cmds.push(ipCmd("neigh", "replace", ip, "lladdr", mac, "dev", vx, "nud", "permanent"));
  }
  for (const vx of have.vxlans.keys()) if (!wantedVxlans.has(vx)) cmds.push(ipCmd("link", "del", vx));
  for (const br of have.bridges.keys())
    if (!wantedBridges.has(br) && !o.keepBridges?.has(br)) cmds.push(ipCmd("link", "del", br));
  return cmds;
}

export interface BridgePlan {
  bridge: string;
  /** The subnet's gateway with the subnet's prefix, e.g. 192.168.0.1/24. */
  gatewayCidr: string;
}

/** The bridge, its gateway address and up; idempotent (replace, and add only when missing). */
export function planBridge(p: BridgePlan, exists: boolean): IpCommand[] {
  return [
    ...(exists ? [] : [ipCmd("link", "add", "name", p.bridge, "type", "bridge")]),
    ipCmd("addr", "replace", p.gatewayCidr, "dev", p.bridge),
    ipCmd("link", "set", p.bridge, "up"),
  ];
}

/** A link as `ip -j -d addr show` describes it. */
export interface LinkDetails {
  ifname: string;
  master?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number } };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** What the node has, from `ip -j -d addr show`, `bridge -j fdb show` and `ip -j neigh show`. */
export function overlayStateOf(
  links: LinkDetails[],
  fdb: { mac: string; ifname?: string; dev?: string; dst?: string; state?: string; flags?: string[] }[],
  neighbours: { dst: string; dev?: string; lladdr?: string; state?: string[] }[],
): OverlayState {
  const s = emptyOverlayState();
  for (const l of links) {
    if (/^rvbr[0-9a-f]{8}$/.test(l.ifname) && l.linkinfo?.info_kind === "bridge")
      s.bridges.set(l.ifname, {
        cidrs: new Set(
          (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
        ),
        up: l.flags?.includes("UP") ?? false,
      });
    if (/^rvvx[0-9a-f]{8}$/.test(l.ifname) && l.linkinfo?.info_kind === "vxlan")
      s.vxlans.set(l.ifname, {
        vni: l.linkinfo.info_data?.id ?? 0,
        master: l.master,
        up: l.flags?.includes("UP") ?? false,
      });
  }
  for (const e of fdb) {
    const dev = e.ifname ?? e.dev;
    if (!dev || !s.vxlans.has(dev) || !e.dst || e.state !== "permanent") continue;
    if (!s.fdb.has(dev)) s.fdb.set(dev, new Map());
    s.fdb.get(dev)!.set(e.mac, e.dst);
  }
  for (const n of neighbours) {
    if (!n.dev || !s.vxlans.has(n.dev) || !n.lladdr || !n.state?.includes("PERMANENT")) continue;
    if (!s.neighbours.has(n.dev)) s.neighbours.set(n.dev, new Map());
    s.neighbours.get(n.dev)!.set(n.dst, n.lladdr);
  }
  return s;
}
