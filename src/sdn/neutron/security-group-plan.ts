// A compiled NetworkPolicy as Neutron security groups, the way kuryr-kubernetes did it (one group
// per policy, attached to the selected pods' ports, rules with remote_ip_prefix), without kuryr's
// gaps: endPort is a port range; an ipBlock's except is exact (the CIDR minus its except, split
// into the prefixes that cover the rest); a named port that means different numbers on different
// pods splits the policy into one group per meaning (a group's rules apply to all its ports).
// Security groups are allow lists in both directions and a port's groups are a union, so a
// policy's group holds rules only for the directions it isolates, and a selected port also
// carries the cluster's allow-all group of each direction none of its policies isolates
// (allowGroupsFor). And the way back: what the node agent enforces where Neutron has no L2
// agents (policiesFromGroups). Pure.
import type { CompiledPolicy, CompiledRule, PolicyProtocol } from "../../api/compiled-policy.ts";
import { cidrMinus, formatIpv4 } from "../ipam.ts";
import type { NeutronSecurityGroupRule } from "./neutron-api.ts";

export interface SgRule {
  direction: "ingress" | "egress";
  ethertype: "IPv4";
  /** Absent: every protocol. */
  protocol?: "tcp" | "udp" | "sctp";
  port_range_min?: number;
  port_range_max?: number;
  /** Absent: every address. */
  remote_ip_prefix?: string;
}

/** One security group of a policy: the policy's pods that share the meaning of its named ports. */
export interface PlannedGroup {
  /** "" for the first group, "-2", "-3"... for more. */
  suffix: string;
  targets: string[];
  rules: SgRule[];
}

export const DIRECTIONS = ["ingress", "egress"] as const;
/** The directions a policy's group isolates (its rules are only for those). */
export interface Isolation {
  ingress: boolean;
  egress: boolean;
}

/** A rule's identity in Neutron (two rules with equal keys are one rule). */
export const ruleKey = (r: {
  direction: string;
  ethertype?: string;
  protocol?: string | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  remote_ip_prefix?: string | null;
}) =>
  [
    r.direction,
    r.ethertype ?? "IPv4",
    r.protocol ?? "",
    r.port_range_min ?? "",
    r.port_range_max ?? "",
    r.remote_ip_prefix ?? "",
  ].join(" ");

/** The CIDR prefixes that exactly cover the addresses a..b. */
export function rangeToCidrs(a: number, b: number): string[] {
  const out: string[] = [];
  while (a <= b) {
    // The largest aligned block starting at a that stays within b.
    let size = 1;
    while (a % (size * 2) === 0 && a + size * 2 - 1 <= b && size < 2 ** 32) size *= 2;
    out.push(`${formatIpv4(a)}/${32 - Math.log2(size)}`);
    a += size;
  }
  return out;
}

/** An ipBlock as prefixes: its CIDR minus its except. */
export function blockCidrs(b: { cidr: string; except?: string[] }): string[] {
  return cidrMinus(b.cidr, b.except).flatMap(([a, z]) => rangeToCidrs(a, z));
}

const proto = (p: PolicyProtocol) => p.toLowerCase() as "tcp" | "udp" | "sctp";

function rulesOf(
  direction: "ingress" | "egress",
  rules: CompiledRule[],
  /** Ingress: the numbers this group's pods give each rule's named ports. */
  named: (i: number) => { protocol: PolicyProtocol; port: number }[],
): SgRule[] {
  const out: SgRule[] = [];
  rules.forEach((r, i) => {
    const prefixes: (string | undefined)[] = r.peers
      ? [...r.peers.pods.map((ip) => `${ip}/32`), ...(r.peers.blocks ?? []).flatMap(blockCidrs)]
      : [undefined];
    const base = { direction, ethertype: "IPv4" as const };
    if (!r.ports && !r.named) {
      for (const p of prefixes) out.push({ ...base, ...(p ? { remote_ip_prefix: p } : {}) });
      return;
    }
    const ports = (r.ports ?? []).map((p) => ({
      protocol: proto(p.protocol),
      ...(p.port !== undefined ? { port_range_min: p.port, port_range_max: p.endPort ?? p.port } : {}),
    }));
    if (direction === "ingress")
      for (const n of named(i))
        ports.push({ protocol: proto(n.protocol), port_range_min: n.port, port_range_max: n.port });
    for (const p of prefixes)
      for (const port of ports) out.push({ ...base, ...port, ...(p ? { remote_ip_prefix: p } : {}) });
    // Egress named ports are resolved per destination: a rule per destination pod and number.
    if (direction === "egress")
      for (const n of r.named ?? [])
        out.push({
          ...base,
          protocol: proto(n.protocol),
          port_range_min: n.port,
          port_range_max: n.port,
          remote_ip_prefix: `${n.ip}/32`,
        });
  });
  return out;
}

const allowAll = (direction: "ingress" | "egress"): SgRule => ({ direction, ethertype: "IPv4" });

/** The security groups of a compiled policy (usually one). */
export function planGroups(p: CompiledPolicy): PlannedGroup[] {
  // What each target's named ingress ports mean; targets that agree share a group.
  const meaning = (ip: string) =>
    p.ingress.map((r) =>
      (r.named ?? [])
        .filter((n) => n.ip === ip)
        .map((n) => ({ protocol: n.protocol, port: n.port }))
        .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port),
    );
  const byMeaning = new Map<string, { targets: string[]; named: ReturnType<typeof meaning> }>();
  for (const t of p.targets) {
    const m = meaning(t.ip);
    const key = JSON.stringify(m);
    const g = byMeaning.get(key) ?? { targets: [], named: m };
    g.targets.push(t.ip);
    byMeaning.set(key, g);
  }
  // A policy that selects no pod still has its group (ports may join it later).
  if (!byMeaning.size) byMeaning.set("", { targets: [], named: p.ingress.map(() => []) });
  const dedupe = (rules: SgRule[]) => [...new Map(rules.map((r) => [ruleKey(r), r])).values()];
  return [...byMeaning.values()].map((g, i) => ({
    suffix: i === 0 ? "" : `-${i + 1}`,
    targets: g.targets.sort(),
    rules: dedupe([
      ...(p.isolates.ingress ? rulesOf("ingress", p.ingress, (k) => g.named[k] ?? []) : []),
      ...(p.isolates.egress ? rulesOf("egress", p.egress, () => []) : []),
    ]),
  }));
}

/** The cluster's own groups: one for pod ports no policy selects, one per direction left open. */
export const CLUSTER_GROUPS = {
  default: { name: "raven-default", rules: [allowAll("ingress"), allowAll("egress")] },
  ingress: { name: "raven-allow-ingress", rules: [allowAll("ingress")] },
  egress: { name: "raven-allow-egress", rules: [allowAll("egress")] },
} as const satisfies Record<string, { name: string; rules: SgRule[] }>;
export type ClusterGroup = keyof typeof CLUSTER_GROUPS;

/**
 * The cluster groups a port carries beside its policy groups (each policy's isolation given):
 * none selects it: the default group; otherwise an allow-all group for each direction that none
 * of them isolates (in Kubernetes, a policy says nothing about a direction it does not isolate).
 */
export function allowGroupsFor(policies: Isolation[]): ClusterGroup[] {
  if (!policies.length) return ["default"];
  return DIRECTIONS.filter((d) => !policies.some((p) => p[d]));
}

/** A security group as Neutron lists it (the fields the node reads). */
export interface ListedGroup {
  id: string;
  name: string;
  security_group_rules: Omit<NeutronSecurityGroupRule, "id">[];
}

/**
 * Security groups as policies the node enforces: a group isolates its ports in both directions
 * and allows what its rules allow (a remote group means its ports' addresses). Only the groups
 * given are enforced (Raven's); ports without any of them are not isolated.
 */
export function policiesFromGroups(
  groups: ListedGroup[],
  ports: { ip: string; node: string; groups: string[] }[],
): CompiledPolicy[] {
  const members = new Map<string, { ip: string; node: string }[]>();
  for (const p of ports)
    for (const g of p.groups) {
      const list = members.get(g) ?? [];
      list.push({ ip: p.ip, node: p.node });
      members.set(g, list);
    }
  const protocols: Record<string, PolicyProtocol> = {
    tcp: "TCP",
    udp: "UDP",
    sctp: "SCTP",
    "6": "TCP",
    "17": "UDP",
    "132": "SCTP",
  };
  return groups.map((g) => {
    // Rules with the same ports are one rule with their peers together (fewer nft rules).
    const rules = (direction: string): CompiledRule[] => {
      const byPorts = new Map<
        string,
        { ports?: CompiledRule["ports"]; any: boolean; pods: Set<string>; blocks: string[] }
      >();
      for (const r of g.security_group_rules) {
        if (r.direction !== direction || (r.ethertype ?? "IPv4") !== "IPv4") continue;
        // A protocol the policy model has no ports for (icmp...) is not one Raven makes.
        if (r.protocol !== null && !protocols[r.protocol]) continue;
        const ports: CompiledRule["ports"] =
          r.protocol === null
            ? undefined
            : [
                r.port_range_min != null
                  ? {
                      protocol: protocols[r.protocol],
                      port: r.port_range_min,
                      endPort: r.port_range_max ?? r.port_range_min,
                    }
                  : { protocol: protocols[r.protocol] },
              ];
        const key = JSON.stringify(ports ?? null);
        const entry = byPorts.get(key) ?? { ports, any: false, pods: new Set<string>(), blocks: [] };
        byPorts.set(key, entry);
        if (r.remote_group_id) for (const m of members.get(r.remote_group_id) ?? []) entry.pods.add(m.ip);
        else if (!r.remote_ip_prefix || r.remote_ip_prefix === "0.0.0.0/0") entry.any = true;
        else if (r.remote_ip_prefix.endsWith("/32")) entry.pods.add(r.remote_ip_prefix.slice(0, -3));
        else entry.blocks.push(r.remote_ip_prefix);
      }
      return [...byPorts.values()].map((e) => ({
        ...(e.any
          ? {}
          : {
              peers: {
                pods: [...e.pods].sort(),
                ...(e.blocks.length ? { blocks: e.blocks.sort().map((cidr) => ({ cidr })) } : {}),
              },
            }),
        ...(e.ports ? { ports: e.ports } : {}),
      }));
    };
    return {
      policy: { namespace: "", name: g.name, uid: g.id },
      isolates: { ingress: true, egress: true },
      targets: (members.get(g.id) ?? []).sort((a, b) => a.ip.localeCompare(b.ip)),
      ingress: rules("ingress"),
      egress: rules("egress"),
    };
  });
}
