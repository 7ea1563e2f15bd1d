// NetworkPolicies of one node's pods as one nftables table. Pure planning: apply with nft.ts.
//
// Every new connection forwarded by the node (routed, or bridged: br_netfilter hands bridged IPv4
// to the ip hooks) is checked after DNAT, so a Service's member is judged, not its VIP:
//
//   forward:   established/related -> accept
//              ip saddr vmap @egress-dispatch    (a pod isolated for egress: jump out-<combo>)
//              ip daddr vmap @ingress-dispatch   (a pod isolated for ingress: jump in-<combo>)
//   out-<c>:   `jump p<N>-out` for each policy of the pod's combination, then reject
//   p<N>-out:  one rule per (peer kind x port kind) of each egress rule: match -> goto egress-ok
//   egress-ok: ip daddr vmap @ingress-dispatch; accept
//   in-<c>:    `jump p<N>-in` for each policy of the pod's combination, then reject
//   p<N>-in:   the ingress rules: match -> accept
//
// The dispatch maps are keyed by pod address; a pod's verdict jumps to the chain of its
// combination of policies (named after it), so a packet visits only its pod's policies. Pods,
// peers and ports are set and map elements: the rule count grows with the policies' rules and
// their distinct combinations, never with pods x policies. Named ports are (address . protocol .
// port) elements of the destination pod, so one rule means different numbers on different pods.
// The node's own connections to its pods (kubelet probes) take the output hook and are never
// judged here.
//
// A change is one `nft -f` transaction: the whole table the first time (or after a failure), then
// only the difference: set and map elements added and deleted, a policy's chains added or
// deleted (a policy whose rules change shape comes back under a new id), combination chains
// added once used and deleted once unused.

import { createHash } from "node:crypto";
import { cidrMinus, formatIpv4, mergeRanges } from "../sdn/ipam.ts";
import { replaceTable } from "./nft.ts";

export type PolicyProtocol = "TCP" | "UDP" | "SCTP";

/** One rule of a policy as the node enforces it. */
export interface PlannedRule {
  /** Absent: any peer. Present: these pod addresses and ranges ("a.b.c.d" or "a.b.c.d-e.f.g.h"). */
  peers?: { pods: string[]; ranges: string[] };
  /** Absent: any port. Present: these numeric ranges... */
  ports?: { protocol: PolicyProtocol; from: number; to: number }[];
  /** ...and these named ports resolved on destination pods (present when the rule names ports). */
  named?: { ip: string; protocol: PolicyProtocol; port: number }[];
}

/** One policy that selects pods of this node. */
export interface PlannedPolicy {
  /** Stable while the policy exists: names its sets and chains. */
  id: number;
  /** The node's pods it selects. */
  targets: string[];
  /** Present when it isolates ingress: the allowed connections in. */
  ingress?: PlannedRule[];
  /** Present when it isolates egress: the allowed connections out. */
  egress?: PlannedRule[];
}

export interface PolicyModel {
  table: string;
  policies: PlannedPolicy[];
}

type Dir = "in" | "out";
const DIRS: { dir: Dir; key: "ingress" | "egress" }[] = [
  { dir: "in", key: "ingress" },
  { dir: "out", key: "egress" },
];

const proto = (p: PolicyProtocol) => p.toLowerCase();

// ---- sets ----------------------------------------------------------------------------------

interface SetDef {
  name: string;
  type: string;
  interval: boolean;
  elements: string[];
}

/** Merged, non-overlapping port ranges per protocol (an interval set refuses overlaps). */
function portElements(ports: PlannedRule["ports"]): string[] {
  const out: string[] = [];
  for (const p of ["TCP", "UDP", "SCTP"] as const) {
    const merged = mergeRanges((ports ?? []).filter((r) => r.protocol === p).map((r) => [r.from, r.to]));
    for (const [a, b] of merged) out.push(`${proto(p)} . ${a === b ? a : `${a}-${b}`}`);
  }
  return out;
}

// Plans are immutable once made: what is derived from one is kept with it (an update would derive
// the applied model's sets and dispatch again otherwise).
const setsCache = new WeakMap<PlannedPolicy, SetDef[]>();
/** The sets of one policy, in a stable order. */
const setsOf = (p: PlannedPolicy): SetDef[] => {
  const cached = setsCache.get(p);
  if (cached) return cached;
  const sets = deriveSets(p);
  setsCache.set(p, sets);
  return sets;
};

function deriveSets(p: PlannedPolicy): SetDef[] {
  const sets: SetDef[] = [
    { name: `p${p.id}-t`, type: "ipv4_addr", interval: false, elements: [...p.targets] },
  ];
  for (const { dir, key } of DIRS)
    (p[key] ?? []).forEach((r, i) => {
      const base = `p${p.id}-${dir}${i}`;
      if (r.peers) {
        sets.push({ name: `${base}-a`, type: "ipv4_addr", interval: false, elements: [...r.peers.pods] });
        if (r.peers.ranges.length)
          sets.push({ name: `${base}-c`, type: "ipv4_addr", interval: true, elements: [...r.peers.ranges] });
      }
      if (r.ports?.length)
        sets.push({
          name: `${base}-p`,
          type: "inet_proto . inet_service",
          interval: true,
          elements: portElements(r.ports),
        });
      if (r.named)
        sets.push({
          name: `${base}-n`,
          type: "ipv4_addr . inet_proto . inet_service",
          interval: false,
          elements: r.named.map((n) => `${n.ip} . ${proto(n.protocol)} . ${n.port}`),
        });
    });
  return sets;
}

const dispatchCache = new WeakMap<PlannedPolicy[], Record<Dir, ReturnType<typeof deriveDispatch>>>();
/** The dispatch of a model's policies (kept with the model's array). */
function dispatchOf(policies: PlannedPolicy[], dir: Dir): ReturnType<typeof deriveDispatch> {
  const cached = dispatchCache.get(policies);
  if (cached) return cached[dir];
  const ps = sorted(policies);
  const d = { in: deriveDispatch(ps, "in"), out: deriveDispatch(ps, "out") };
  dispatchCache.set(policies, d);
  return d[dir];
}

/** Per direction (policies sorted by id): each isolated pod's verdict (its combination's chain) and those chains' rules. */
function deriveDispatch(
  policies: PlannedPolicy[],
  dir: Dir,
): { verdicts: Map<string, string>; combos: Map<string, string[]> } {
  const key = dir === "in" ? "ingress" : "egress";
  const byPod = new Map<string, number[]>();
  for (const p of policies)
    if (p[key])
      for (const ip of p.targets) {
        const ids = byPod.get(ip) ?? [];
        ids.push(p.id);
        byPod.set(ip, ids);
      }
  const verdicts = new Map<string, string>();
  const combos = new Map<string, string[]>();
  for (const [ip, ids] of [...byPod].sort(([a], [b]) => a.localeCompare(b))) {
    const chain = `${dir}-${createHash("sha1").update(ids.join(",")).digest("hex").slice(0, 12)}`;
    verdicts.set(ip, chain);
    if (!combos.has(chain))
      combos.set(chain, [...ids.map((id) => `jump p${id}-${dir}`), "reject with icmp type admin-prohibited"]);
  }
  return { verdicts, combos };
}

const mapName = (dir: Dir) => (dir === "in" ? "ingress-dispatch" : "egress-dispatch");
const mapElement = (ip: string, chain: string) => `${ip} : jump ${chain}`;

const setBody = (s: SetDef) =>
  `type ${s.type};${s.interval ? " flags interval;" : ""}${s.elements.length ? ` elements = { ${s.elements.join(", ")} }` : ""}`;

// ---- chains --------------------------------------------------------------------------------

/** The rules of one policy's chain for one direction (ingress accepts; egress goes on to ingress). */
function policyRules(p: PlannedPolicy, dir: Dir): string[] {
  const rules = p[dir === "in" ? "ingress" : "egress"] ?? [];
  const verdict = dir === "in" ? "accept" : "goto egress-ok";
  const peerAddr = dir === "in" ? "ip saddr" : "ip daddr";
  const out: string[] = [];
  rules.forEach((r, i) => {
    const base = `p${p.id}-${dir}${i}`;
    const peerMatches = r.peers
      ? [`${peerAddr} @${base}-a`, ...(r.peers.ranges.length ? [`${peerAddr} @${base}-c`] : [])]
      : [""];
    // The destination is what a named port is resolved on: the target in, the peer out.
    const portMatches =
      r.ports || r.named
        ? [
            ...(r.ports?.length ? [`meta l4proto . th dport @${base}-p`] : []),
            ...(r.named ? [`ip daddr . meta l4proto . th dport @${base}-n`] : []),
          ]
        : [""];
    for (const peer of peerMatches)
      for (const port of portMatches) out.push([peer, port, verdict].filter(Boolean).join(" "));
  });
  return out;
}

const FIXED_CHAINS: [string, string[]][] = [
  [
    "forward",
    [
      "type filter hook forward priority filter; policy accept;",
      "ct state established,related accept",
      "ip saddr vmap @egress-dispatch",
      "ip daddr vmap @ingress-dispatch",
    ],
  ],
  ["egress-ok", ["ip daddr vmap @ingress-dispatch", "accept"]],
];

const chainBlock = (name: string, lines: string[]) =>
  `  chain ${name} {\n${lines.map((l) => `    ${l}\n`).join("")}  }\n`;

const policyChains = (p: PlannedPolicy): [string, string[]][] =>
  DIRS.filter(({ key }) => p[key]).map(({ dir }) => [`p${p.id}-${dir}`, policyRules(p, dir)]);

/** The whole table as one script that replaces any previous version atomically. */
export function planPolicyTable(m: PolicyModel): string {
  const policies = sorted(m.policies);
  let s = replaceTable(m.table);
  const dispatch = DIRS.map(({ dir }) => ({ dir, ...dispatchOf(m.policies, dir) }));
  for (const d of dispatch) {
    const elements = [...d.verdicts].map(([ip, chain]) => mapElement(ip, chain));
    s += `  map ${mapName(d.dir)} { type ipv4_addr : verdict;${elements.length ? ` elements = { ${elements.join(", ")} }` : ""} }\n`;
  }
  for (const set of policies.flatMap(setsOf)) s += `  set ${set.name} { ${setBody(set)} }\n`;
  for (const p of policies) for (const [name, rules] of policyChains(p)) s += chainBlock(name, rules);
  for (const d of dispatch) for (const [name, rules] of d.combos) s += chainBlock(name, rules);
  for (const [name, lines] of FIXED_CHAINS) s += chainBlock(name, lines);
  return `${s}}\n`;
}

const sorted = (ps: PlannedPolicy[]) => [...ps].sort((a, b) => a.id - b.id);

/** The shape of a policy: which sets and rules it has (its elements and id aside). */
export function policyShape(p: PlannedPolicy): string {
  const q = { ...p, id: 0 };
  return JSON.stringify([
    DIRS.map(({ dir, key }) => q[key] && policyRules(q, dir)),
    setsOf(q).map((s) => [s.name, s.interval]),
  ]);
}

/**
 * The transaction that turns `before` (what is applied) into `after`: element changes where a
 * policy keeps its shape, its sets and chains replaced where it changes shape (give it a new id
 * then: `after` may reuse no id whose shape changed), combination chains added once used and
 * deleted once unused, pods' verdicts changed where their combination did. Empty when nothing
 * changed.
 */
export function planPolicyUpdate(before: PolicyModel, after: PolicyModel): string {
  const t = after.table;
  const old = new Map(before.policies.map((p) => [p.id, p]));
  const now = new Map(after.policies.map((p) => [p.id, p]));
  const lines: string[] = [];
  const added = sorted(after.policies.filter((p) => !old.has(p.id)));
  const removed = sorted(before.policies.filter((p) => !now.has(p.id)));
  const kept = sorted(after.policies.filter((p) => old.has(p.id)));
  for (const p of kept)
    if (policyShape(p) !== policyShape(old.get(p.id)!))
      throw new Error(`policy p${p.id} changed shape: it needs a new id`);

  const diffSet = (a: SetDef, b: SetDef) => {
    if (a.interval) {
      // Ranges may merge and split: replace an interval set's elements whole.
      if (a.elements.join() === b.elements.join()) return;
      lines.push(`flush set ip ${t} ${b.name}`);
      if (b.elements.length) lines.push(`add element ip ${t} ${b.name} { ${b.elements.join(", ")} }`);
      return;
    }
    const was = new Set(a.elements);
    const is = new Set(b.elements);
    const gone = a.elements.filter((e) => !is.has(e));
    const come = b.elements.filter((e) => !was.has(e));
    if (gone.length) lines.push(`delete element ip ${t} ${b.name} { ${gone.join(", ")} }`);
    if (come.length) lines.push(`add element ip ${t} ${b.name} { ${come.join(", ")} }`);
  };

  // New policies' sets and chains first: combination chains will jump to them.
  for (const p of added) {
    for (const set of setsOf(p)) lines.push(`add set ip ${t} ${set.name} { ${setBody(set)} }`);
    for (const [name, rules] of policyChains(p)) {
      lines.push(`add chain ip ${t} ${name}`);
      for (const r of rules) lines.push(`add rule ip ${t} ${name} ${r}`);
    }
  }
  for (const p of kept) {
    // The same plan as applied (an unchanged policy): nothing to compare.
    if (old.get(p.id) === p) continue;
    const was = setsOf(old.get(p.id)!);
    for (const [i, s] of setsOf(p).entries()) diffSet(was[i], s);
  }
  // The dispatch maps: new combination chains first, then the pods' verdicts, then the chains
  // no pod uses any more.
  const unused: string[] = [];
  for (const { dir } of DIRS) {
    const was = dispatchOf(before.policies, dir);
    const is = dispatchOf(after.policies, dir);
    for (const [name, rules] of is.combos)
      if (!was.combos.has(name)) {
        lines.push(`add chain ip ${t} ${name}`);
        for (const r of rules) lines.push(`add rule ip ${t} ${name} ${r}`);
      }
    const gone = [...was.verdicts].filter(([ip, c]) => is.verdicts.get(ip) !== c).map(([ip]) => ip);
    const come = [...is.verdicts].filter(([ip, c]) => was.verdicts.get(ip) !== c);
    if (gone.length) lines.push(`delete element ip ${t} ${mapName(dir)} { ${gone.join(", ")} }`);
    if (come.length)
      lines.push(
        `add element ip ${t} ${mapName(dir)} { ${come.map(([ip, c]) => mapElement(ip, c)).join(", ")} }`,
      );
    for (const name of was.combos.keys()) if (!is.combos.has(name)) unused.push(name);
  }
  for (const name of unused) lines.push(`delete chain ip ${t} ${name}`);
  // Gone policies last: nothing jumps to their chains any more.
  for (const p of removed) {
    for (const [name] of policyChains(p)) lines.push(`delete chain ip ${t} ${name}`);
    for (const set of setsOf(p)) lines.push(`delete set ip ${t} ${set.name}`);
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/** The size of what a model programs: rules and set elements. */
export function policyCounts(m: PolicyModel): { policies: number; rules: number; elements: number } {
  const policies = sorted(m.policies);
  let rules = FIXED_CHAINS.reduce((n, [, l]) => n + l.filter((x) => !x.startsWith("type ")).length, 0);
  let elements = policies.flatMap(setsOf).reduce((n, s) => n + s.elements.length, 0);
  for (const p of policies) for (const [, r] of policyChains(p)) rules += r.length;
  for (const { dir } of DIRS) {
    const d = dispatchOf(m.policies, dir);
    elements += d.verdicts.size;
    for (const r of d.combos.values()) rules += r.length;
  }
  return { policies: policies.length, rules, elements };
}

// ---- ipBlocks ------------------------------------------------------------------------------

/**
 * ipBlocks (a CIDR minus its except) as the non-overlapping ranges an interval set takes:
 * "a.b.c.d" for one address, "a.b.c.d-e.f.g.h" for more. Several blocks may overlap: merged.
 */
export function blockRanges(blocks: { cidr: string; except?: string[] }[]): string[] {
  return mergeRanges(blocks.flatMap((b) => cidrMinus(b.cidr, b.except))).map(([a, b]) =>
    a === b ? formatIpv4(a) : `${formatIpv4(a)}-${formatIpv4(b)}`,
  );
}
