// A pod bound to its port, as `ip` commands: the namespace network's bridge on the node (with the
// subnet's gateway address), and a veth made from inside the pod's netns, its pod end there
// with the port's MAC and address and a default route via the gateway, its node end created
// directly in the node's netns (`peer ... netns`), where it joins the bridge in hairpin mode (a
// pod reaching its own Service VIP gets its packets back). Pure planning: apply with ip.ts.
import { createHash } from "node:crypto";

/** One `ip` (or `bridge`) invocation's argv, without the program (as `-batch` takes it), and in which netns. */
export interface IpCommand {
  /** The netns file (CNI_NETNS) to run it in; undefined: the node's (the agent's own). */
  netns?: string;
  /** `bridge` for FDB entries; `ip` otherwise. */
  tool?: "bridge";
  args: string[];
}

const hash = (s: string, hexDigits: number) =>
  createHash("sha256").update(s).digest("hex").slice(0, hexDigits);

/** The bridge of a namespace network on every node: `rvbr` + 8 hex of the network id (15-char limit). */
export const bridgeName = (networkId: string) => `rvbr${hash(networkId, 8)}`;

/** The node end of a pod's veth: `rv` + 11 hex of container id and interface (as CNI's `veth` + hash). */
export const hostVethName = (containerId: string, ifname: string) =>
  `rv${hash(`${containerId}/${ifname}`, 11)}`;

/**
 * The node end's MAC, set at creation (so the CNI result needs no read-back): locally
 * administered, unicast, from the node end's name.
 */
export const hostVethMac = (hostVeth: string) => {
  const h = hash(`mac/${hostVeth}`, 10);
  return `0a:${h.match(/../g)!.join(":")}`;
};

/**
 * The node end's alias names the port it binds, so the binding outlives the agent's memory:
 * a restarted agent knows which ports its node has bound, and DEL which one it unbinds.
 */
const PORT_ALIAS = "raven-port=";
export const portAlias = (portId: string) => `${PORT_ALIAS}${portId}`;
export const portOfAlias = (alias: string | undefined) =>
  alias?.startsWith(PORT_ALIAS) ? alias.slice(PORT_ALIAS.length) : undefined;

export interface PodLinkPlan {
  /** The pod's netns file (CNI_NETNS). */
  netns: string;
  /** How `ip link ... netns` names the node's netns from inside the pod's: a netns name or a PID in it. */
  nodeNetns: string;
  /** The interface inside the pod (eth0). */
  ifname: string;
  hostVeth: string;
  bridge: string;
  /** The port's id, kept as the node end's alias. */
  portId: string;
  mac: string;
  /** The port's address with the subnet's prefix, e.g. 192.168.0.2/24. */
  addressCidr: string;
  gateway: string;
  /** The pod interface's MTU (the network's: the overlay's). */
  mtu?: number;
  /** False for an attachment: its subnet's route only, the default route stays the primary's. */
  defaultRoute?: boolean;
}

/** The veth, made in the pod's netns with its node end created in the node's, then both ends configured. */
export function planPodLink(p: PodLinkPlan): IpCommand[] {
  const inPod = (...args: string[]): IpCommand => ({ netns: p.netns, args });
  return [
    inPod(
      "link",
      "add",
      "name",
      p.ifname,
      "address",
      p.mac,
      ...(p.mtu ? ["mtu", String(p.mtu)] : []),
      "type",
      "veth",
      "peer",
      "name",
      p.hostVeth,
      "address",
      hostVethMac(p.hostVeth),
      "netns",
      p.nodeNetns,
    ),
    inPod("link", "set", "lo", "up"),
    inPod("addr", "add", p.addressCidr, "dev", p.ifname),
    inPod("link", "set", p.ifname, "up"),
    ...(p.defaultRoute === false
      ? []
      : [inPod("route", "replace", "default", "via", p.gateway, "dev", p.ifname)]),
    { args: ["link", "set", p.hostVeth, "alias", portAlias(p.portId)] },
    { args: ["link", "set", p.hostVeth, "master", p.bridge] },
    { args: ["link", "set", p.hostVeth, "type", "bridge_slave", "hairpin", "on"] },
    { args: ["link", "set", p.hostVeth, "up"] },
  ];
}

/** Removing the node end removes the pod end with it (and with the netns gone, it is gone already). */
export const planDeletePodLink = (hostVeth: string): IpCommand[] => [{ args: ["link", "del", hostVeth] }];

/** The commands grouped by netns and program, in order, for one `ip|bridge [-n NS] -batch -` per group. */
export function batches(cmds: IpCommand[]): { netns?: string; tool?: "bridge"; lines: string[] }[] {
  const out: { netns?: string; tool?: "bridge"; lines: string[] }[] = [];
  for (const c of cmds) {
    const last = out[out.length - 1];
    if (last && last.netns === c.netns && last.tool === c.tool) last.lines.push(c.args.join(" "));
    else out.push({ netns: c.netns, tool: c.tool, lines: [c.args.join(" ")] });
  }
  return out;
}
