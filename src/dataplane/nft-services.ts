// Service VIPs and floating IPs as one nftables table, replaced whole in one atomic `nft -f`
// transaction (a half-applied change is never visible). Pure planning: apply with nft.ts.
//
// The rule count does not grow with Services or members: every frontend (address, protocol,
// port) is an element of one verdict map that jumps to the chain for its member count N, where
// one rule picks a member round robin (`numgen inc mod N`) from a map keyed by the frontend and
// the slot. So rules grow only with the number of distinct member counts; Services and members
// are map elements. A frontend with no members has no element: the filter chains reject what is
// still addressed to a frontend after DNAT (an ICMP port unreachable: clients fail at once
// instead of timing out), and any other port of a VIP.
//
// Source NATs keep replies on the path that de-NATs them: a pod reaching its own VIP (the
// member is the client: masquerade, with the bridge port in hairpin mode), traffic to a
// floating IP (SNAT to the node's address, so the member, perhaps on another node, answers
// through this one), and traffic to a member outside every pod network, such as the API
// server behind the `kubernetes` Service (which has no route back to pods).

import { replaceTable } from "./nft.ts";

export type L4 = "tcp" | "udp";

export interface Endpoint {
  address: string;
  port: number;
}

/** One address + protocol + port that load-balances to members. */
export interface Frontend {
  address: string;
  protocol: L4;
  port: number;
  /** The ready members, in a stable order. */
  members: Endpoint[];
  /** A floating IP (reached from outside the cluster: SNAT to the node). */
  external: boolean;
}

export interface ServicesPlan {
  table: string;
  frontends: Frontend[];
  /** The node's own address, the source of floating-IP traffic sent on to members. */
  nodeIp: string;
  /** The pod networks' CIDRs: a member outside them (the API server) is reached from the node's address. */
  podCidrs?: string[];
}

const keyOf = (f: Pick<Frontend, "address" | "protocol" | "port">) =>
  `${f.address} . ${f.protocol} . ${f.port}`;

const block = (name: string, kind: "set" | "map", type: string, elements: string[]) =>
  elements.length
    ? `  ${kind} ${name} {\n    ${type}\n    elements = {\n      ${elements.join(",\n      ")}\n    }\n  }\n`
    : `  ${kind} ${name} {\n    ${type}\n  }\n`;

/** The whole table as one `nft -f` script that replaces any previous version atomically. */
export function planServices(p: ServicesPlan): string {
  const dispatch: string[] = [];
  const frontendIps = new Set<string>();
  const externalIps = new Set<string>();
  const hairpin = new Set<string>();
  const byCount = new Map<number, string[]>();
  // Two Services cannot share a frontend; should the input repeat one, the first wins.
  const seen = new Set<string>();
  for (const f of p.frontends) {
    frontendIps.add(f.address);
    if (f.external) externalIps.add(f.address);
    const key = keyOf(f);
    if (seen.has(key) || !f.members.length) continue;
    seen.add(key);
    const n = f.members.length;
    dispatch.push(`${key} : goto lb-${n}`);
    const slots = byCount.get(n) ?? [];
    byCount.set(n, slots);
    f.members.forEach((m, i) => {
      slots.push(`${key} . ${i} : ${m.address} . ${m.port}`);
      hairpin.add(`${m.address} . ${m.address}`);
    });
  }
  const counts = [...byCount.keys()].sort((a, b) => a - b);
  let s = replaceTable(p.table);
  s += block("frontends", "map", "type ipv4_addr . inet_proto . inet_service : verdict", dispatch);
  s += block("frontend-ips", "set", "type ipv4_addr", [...frontendIps]);
  s += block("external-ips", "set", "type ipv4_addr", [...externalIps]);
  s += block("hairpin", "set", "type ipv4_addr . ipv4_addr", [...hairpin]);
  s += block("pod-cidrs", "set", "type ipv4_addr\n    flags interval", p.podCidrs ?? []);
  for (const n of counts) {
    s += block(
      `members-${n}`,
      "map",
      `typeof ip daddr . meta l4proto . th dport . numgen inc mod ${n} : ip daddr . th dport`,
      byCount.get(n)!,
    );
    s += `  chain lb-${n} {\n    meta l4proto { tcp, udp } dnat ip to ip daddr . meta l4proto . th dport . numgen inc mod ${n} map @members-${n}\n  }\n`;
  }
  s += `  chain frontends {\n    ip daddr . meta l4proto . th dport vmap @frontends\n  }\n`;
  s += `  chain nat-prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n    jump frontends\n  }\n`;
  s += `  chain nat-output {\n    type nat hook output priority -100; policy accept;\n    jump frontends\n  }\n`;
  s +=
    `  chain nat-postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n` +
    `    ct status dnat ip saddr . ip daddr @hairpin masquerade\n` +
    `    ct status dnat ct original ip daddr @external-ips snat ip to ${p.nodeIp}\n` +
    `    ct status dnat ip daddr != @pod-cidrs snat ip to ${p.nodeIp}\n  }\n`;
  // After DNAT, still addressed to a frontend: no member, or a port the Service does not have.
  s += `  chain filter-forward {\n    type filter hook forward priority filter; policy accept;\n    ip daddr @frontend-ips reject\n  }\n`;
  s += `  chain filter-output {\n    type filter hook output priority filter; policy accept;\n    ip daddr @frontend-ips reject\n  }\n`;
  s += "}\n";
  return s;
}
