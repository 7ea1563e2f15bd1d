// The namespace networks on this node (dataplane/overlay.ts): a bridge with the gateway address
// and a VXLAN device per network, and the static FDB and neighbour entries of every port bound
// to another node. Level-triggered: the wanted state comes from the backend's networks and ports
// and the nodes' addresses, and is compared with what this agent last applied (read from the
// node at start, and again after any failed apply), so one sync is one diff. Changes arriving
// during a sync fold into the next (sync-loop.ts).
import type { Ip } from "../dataplane/ip.ts";
import {
  emptyOverlayState,
  type LinkDetails,
  type NetworkOnNode,
  type OverlayState,
  overlayStateOf,
  planBridge,
  planOverlay,
  vniOf,
  vxlanName,
} from "../dataplane/overlay.ts";
import { bridgeName, type IpCommand } from "../dataplane/pod-link.ts";
import type { Logger } from "../kube/log.ts";
import type { Network, Port, Subnet } from "../sdn/model.ts";
import { KeyedLock } from "../util/keyed-lock.ts";
import { SyncLoop } from "./sync-loop.ts";

export interface NetworkSource {
  /** The pod networks, each with its subnet. */
  podNetworks(): { network: Network; subnet: Subnet }[];
  portsOnNetwork(networkId: string): Port[];
  /** A node's address by its name (undefined while unknown). */
  nodeIp(nodeName: string): string | undefined;
}

export interface NodeNetworksOptions {
  source: NetworkSource;
  ip: Ip;
  nodeName: string;
  localIp: string;
  /** The overlay's MTU (the underlay's minus the VXLAN overhead). */
  mtu: number;
  log: Logger;
}

const prefixOf = (cidr: string) => cidr.split("/")[1];

/** The node ends of pod veths (binder.ts's hostVethName). */
const HOST_VETH = /^rv[0-9a-f]{11}$/;

export class NodeNetworks {
  private readonly o: NodeNetworksOptions;
  /** One change of the node's networks at a time (the sync, a pod's ADD making its bridge). */
  private readonly lock = new KeyedLock();
  /** What this agent applied last; undefined: read it from the node. */
  private applied: OverlayState | undefined;
  /**
   * Bridges a pod's ADD made before the backend's cache showed their network: kept (never
   * deleted as unwanted) until a sync wants them, since the pod's veth joins right after.
   */
  private readonly early = new Set<string>();

  private readonly loop: SyncLoop;

  constructor(o: NodeNetworksOptions) {
    this.o = o;
    this.loop = new SyncLoop(() => this.sync(), o.log, "node networks not applied");
  }

  get mtu(): number {
    return this.o.mtu;
  }

  /** Something changed: sync soon (once, however many changes come meanwhile). */
  changed(): void {
    this.loop.changed();
  }

  /** Syncs once now, then on every change until `signal` aborts. */
  run(signal: AbortSignal): Promise<void> {
    return this.loop.run(signal);
  }

  /** The network's bridge, made now if the sync has not made it yet (a pod's ADD may come first). */
  async ensureBridge(networkId: string, subnet: Subnet): Promise<string> {
    const bridge = bridgeName(networkId);
    if (this.applied?.bridges.has(bridge)) return bridge;
    const gatewayCidr = `${subnet.gateway_ip}/${prefixOf(subnet.cidr)}`;
    await this.lock.run("node", async () => {
      const exists = Boolean(await this.o.ip.link(bridge));
      await this.o.ip.apply(planBridge({ bridge, gatewayCidr }, exists));
      this.applied?.bridges.set(bridge, { cidrs: new Set([gatewayCidr]), up: true });
      this.early.add(bridge);
    });
    // Its VXLAN device and remote ports follow with the next sync.
    this.changed();
    return bridge;
  }

  /** The networks as this node should have them. */
  wanted(): NetworkOnNode[] {
    const { source, nodeName } = this.o;
    const out: NetworkOnNode[] = [];
    for (const { network, subnet } of source.podNetworks()) {
      if (!subnet.gateway_ip) continue;
      const remote = [];
      for (const p of source.portsOnNetwork(network.id)) {
        const host = p["binding:host_id"];
        if (!host || host === nodeName) continue;
        const nodeIp = source.nodeIp(host);
        if (nodeIp) remote.push({ ip: p.fixed_ips[0].ip_address, mac: p.mac_address, nodeIp });
      }
      out.push({
        networkId: network.id,
        bridge: bridgeName(network.id),
        gatewayCidr: `${subnet.gateway_ip}/${prefixOf(subnet.cidr)}`,
        vni: vniOf(subnet.cidr, network.id),
        remote,
      });
    }
    return out;
  }

  /** The commands that would bring the node to the wanted state (nothing is applied). */
  async plan(): Promise<IpCommand[]> {
    return this.lock.run("node", async () => (await this.compute()).cmds);
  }

  async sync(): Promise<void> {
    await this.lock.run("node", async () => {
      const { cmds, want, have, inUse } = await this.compute();
      if (!cmds.length) return;
      try {
        await this.o.ip.apply(cmds);
      } catch (err) {
        this.applied = undefined;
        throw err;
      }
      this.applied = stateOf(want, have, inUse);
      this.o.log.debug({ commands: cmds.length, networks: want.length }, "node networks applied");
    });
  }

  private async compute() {
    const links = await this.o.ip.show<LinkDetails>("ip", ["-d", "addr", "show"]);
    const have = this.applied ?? (await this.read(links));
    // A bridge with pods on it stays, even if the backend's cache does not show its network yet.
    const inUse = new Set(links.filter((l) => HOST_VETH.test(l.ifname) && l.master).map((l) => l.master!));
    const want = this.wanted();
    for (const n of want) this.early.delete(n.bridge);
    for (const b of this.early) inUse.add(b);
    const cmds = planOverlay(want, have, { localIp: this.o.localIp, mtu: this.o.mtu, keepBridges: inUse });
    return { cmds, want, have, inUse };
  }

  private async read(links: LinkDetails[]): Promise<OverlayState> {
    const [fdb, neigh] = await Promise.all([
      this.o.ip.show<Parameters<typeof overlayStateOf>[1][number]>("bridge", ["fdb", "show"]),
      this.o.ip.show<Parameters<typeof overlayStateOf>[2][number]>("ip", ["neigh", "show"]),
    ]);
    return overlayStateOf(links, fdb, neigh);
  }
}

/** The node's state once `want` is applied over `have`. */
function stateOf(want: NetworkOnNode[], have: OverlayState, kept: Set<string>): OverlayState {
  const s = emptyOverlayState();
  for (const [b, v] of have.bridges) if (kept.has(b)) s.bridges.set(b, v);
  for (const n of want) {
    const vx = vxlanName(n.networkId);
    s.bridges.set(n.bridge, { cidrs: new Set([n.gatewayCidr]), up: true });
    s.vxlans.set(vx, { vni: n.vni, master: n.bridge, up: true });
    s.fdb.set(vx, new Map(n.remote.map((r) => [r.mac, r.nodeIp])));
    s.neighbours.set(vx, new Map(n.remote.map((r) => [r.ip, r.mac])));
  }
  return s;
}
