// NetworkPolicy -> CompiledPolicy (api/compiled-policy.ts): selectors, namespaces and named
// ports resolved against the cluster as it is now, so a node can enforce the policy from
// addresses alone. Pure: the cluster comes in through PolicyCluster.
//
// The semantics are upstream's (networking.k8s.io/v1): a peer with a podSelector alone selects in
// the policy's namespace, with a namespaceSelector alone every pod of the selected namespaces,
// with both the selected pods of the selected namespaces; rules and peers are unions; an absent or
// empty `from`/`to` or `ports` means everyone / every port; a named port is the number the
// destination pod's container gives that name (with that protocol), so one rule can mean different
// numbers on different pods; an ipBlock is its CIDR minus its except.
import type { CompiledPolicy, CompiledRule, PolicyProtocol } from "../api/compiled-policy.ts";
import { fromLabelSelector, matches, type Requirement } from "../kube/labels.ts";
import type { KubeObject } from "../kube/objects.ts";
import { cidrContains, parseCidr } from "../sdn/ipam.ts";

/** What policies read of a pod. */
export interface PolicyPod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** The pod's address on its network (absent until Raven gave it a port). */
  ip?: string;
  node?: string;
  /** Its containers' named ports. */
  namedPorts: { name: string; protocol: PolicyProtocol; port: number }[];
  hostNetwork: boolean;
}

/** The cluster as the compiler sees it (the controller's caches). */
export interface PolicyCluster {
  /** Every namespace with its labels. */
  namespaces(): { name: string; labels: Record<string, string> }[];
  /** The running pods of a namespace (finished ones hold no address). */
  podsIn(namespace: string): PolicyPod[];
}

/** What the compiler found it cannot enforce, for a Warning Event naming the field. */
export interface PolicyWarning {
  field: string;
  message: string;
}

interface Peer {
  podSelector?: unknown;
  namespaceSelector?: unknown;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PolicyPort[];
}

const selector = (s: unknown): Requirement[] | null =>
  s === undefined || s === null ? null : fromLabelSelector(s as never);

/** A peer's selectors compiled: which namespaces, which pods (null = the selector is absent). */
interface PeerSelectors {
  namespaces: Requirement[] | null;
  pods: Requirement[] | null;
}

const peerSelectors = (p: Peer): PeerSelectors => ({
  namespaces: selector(p.namespaceSelector),
  pods: selector(p.podSelector),
});

/** Whether the peer selects `pod` (a peer with only an ipBlock selects pods by address elsewhere). */
function peerSelects(
  s: PeerSelectors,
  policyNamespace: string,
  pod: Pick<PolicyPod, "namespace" | "labels">,
  nsLabels: Record<string, string> | undefined,
): boolean {
  if (!s.namespaces && !s.pods) return false;
  const nsOk = s.namespaces ? matches(s.namespaces, nsLabels) : pod.namespace === policyNamespace;
  return nsOk && (!s.pods || matches(s.pods, pod.labels));
}

const rulesOf = (spec: Record<string, unknown>, dir: "ingress" | "egress"): Rule[] =>
  Array.isArray(spec[dir]) ? (spec[dir] as Rule[]) : [];

const peersOf = (r: Rule, dir: "ingress" | "egress"): Peer[] => (dir === "ingress" ? r.from : r.to) ?? [];

const addressable = (p: PolicyPod): p is PolicyPod & { ip: string } => !!p.ip && !p.hostNetwork;

/** An ipBlock as its CIDR and except, or undefined for an IPv6 one (no IPv4 packet matches it). */
function ipv4Block(b: { cidr: string; except?: string[] }): { cidr: string; except?: string[] } | undefined {
  if (!parseCidr(b.cidr)) return undefined;
  const except = (b.except ?? []).filter((e) => parseCidr(e));
  return except.length ? { cidr: b.cidr, except } : { cidr: b.cidr };
}

function inBlock(ip: string, b: { cidr: string; except?: string[] }): boolean {
  const c = parseCidr(b.cidr);
  if (!c || !cidrContains(c, ip)) return false;
  return !(b.except ?? []).some((e) => {
    const x = parseCidr(e);
    return x && cidrContains(x, ip);
  });
}

export function compilePolicy(
  np: KubeObject,
  cluster: PolicyCluster,
): {
  policy: CompiledPolicy;
  warnings: PolicyWarning[];
} {
  const namespace = np.metadata.namespace!;
  const spec = (np.spec ?? {}) as Record<string, unknown>;
  const warnings: PolicyWarning[] = [];
  const types = Array.isArray(spec.policyTypes) ? (spec.policyTypes as string[]) : ["Ingress"];
  const namespaces = cluster.namespaces();
  const nsLabels = new Map(namespaces.map((n) => [n.name, n.labels]));

  const own = cluster.podsIn(namespace);
  const targetSel = fromLabelSelector((spec.podSelector ?? {}) as never);
  const selected = own.filter((p) => matches(targetSel, p.labels));
  for (const p of selected)
    if (p.hostNetwork)
      warnings.push({
        field: "spec.podSelector",
        message: `selects pod ${p.name}, which uses the node's network (hostNetwork): Raven does not enforce policies on it`,
      });
  const targets = selected.filter(addressable);

  // Every pod of the cluster, fetched once if some rule needs it.
  let everyone: PolicyPod[] | undefined;
  const allPods = () => {
    everyone ??= namespaces.flatMap((n) => cluster.podsIn(n.name));
    return everyone;
  };
  const podsOfPeers = (peers: Peer[]): (PolicyPod & { ip: string })[] => {
    const out = new Map<string, PolicyPod & { ip: string }>();
    for (const peer of peers) {
      const s = peerSelectors(peer);
      if (!s.namespaces && !s.pods) continue;
      const inScope = s.namespaces
        ? namespaces.filter((n) => matches(s.namespaces, n.labels)).flatMap((n) => cluster.podsIn(n.name))
        : own;
      for (const p of inScope)
        if (addressable(p) && peerSelects(s, namespace, p, nsLabels.get(p.namespace))) out.set(p.ip, p);
    }
    return [...out.values()];
  };

  const compileRule = (r: Rule, dir: "ingress" | "egress"): CompiledRule => {
    const peers = peersOf(r, dir);
    const rule: CompiledRule = {};
    let peerPods: (PolicyPod & { ip: string })[] | undefined;
    const blocks: { cidr: string; except?: string[] }[] = [];
    if (peers.length) {
      peerPods = podsOfPeers(peers);
      for (const p of peers) {
        const b = p.ipBlock && ipv4Block(p.ipBlock);
        if (b) blocks.push(b);
      }
      rule.peers = { pods: peerPods.map((p) => p.ip).sort(), ...(blocks.length ? { blocks } : {}) };
    }
    const ports = r.ports ?? [];
    if (!ports.length) return rule;
    rule.ports = [];
    const names: { name: string; protocol: PolicyProtocol }[] = [];
    for (const p of ports) {
      const protocol = (p.protocol ?? "TCP") as PolicyProtocol;
      if (typeof p.port === "string") names.push({ name: p.port, protocol });
      else if (typeof p.port === "number")
        rule.ports.push(
          p.endPort !== undefined
            ? { protocol, port: p.port, endPort: p.endPort }
            : { protocol, port: p.port },
        );
      else rule.ports.push({ protocol });
    }
    if (!names.length) return rule;
    // The destination pods that can carry the names: the targets (ingress) or the peers (egress:
    // the selected pods, the pods inside the ipBlocks, or every pod when the rule names no peer).
    const destinations =
      dir === "ingress"
        ? targets
        : !peers.length
          ? allPods().filter(addressable)
          : [
              ...(peerPods ?? []),
              ...(blocks.length
                ? allPods().filter((p) => addressable(p) && blocks.some((b) => inBlock(p.ip, b)))
                : []),
            ];
    const named = new Map<string, { ip: string; protocol: PolicyProtocol; port: number }>();
    for (const d of destinations)
      for (const n of names) {
        const hit = d.namedPorts.find((c) => c.name === n.name && c.protocol === n.protocol);
        if (hit && d.ip)
          named.set(`${d.ip}/${n.protocol}/${hit.port}`, { ip: d.ip, protocol: n.protocol, port: hit.port });
      }
    rule.named = [...named.values()].sort(
      (a, b) => a.ip.localeCompare(b.ip) || a.protocol.localeCompare(b.protocol) || a.port - b.port,
    );
    return rule;
  };

  const isolates = { ingress: types.includes("Ingress"), egress: types.includes("Egress") };
  return {
    policy: {
      policy: { namespace, name: np.metadata.name!, uid: np.metadata.uid! },
      isolates,
      targets: targets
        .map((p) => ({ ip: p.ip, node: p.node ?? "" }))
        .sort((a, b) => a.ip.localeCompare(b.ip)),
      ingress: isolates.ingress ? rulesOf(spec, "ingress").map((r) => compileRule(r, "ingress")) : [],
      egress: isolates.egress ? rulesOf(spec, "egress").map((r) => compileRule(r, "egress")) : [],
    },
    warnings,
  };
}

/**
 * Whether a change of `pod` can change what `np` compiles to: the pod is (or was) one of its
 * targets or peers, or can carry a named port an egress rule resolves. Checked with the pod's old
 * and new state, so a pod leaving a selector counts too.
 */
export function policyConcerns(
  np: KubeObject,
  pod: Pick<PolicyPod, "namespace" | "labels" | "namedPorts">,
  nsLabels: Record<string, string> | undefined,
): boolean {
  const namespace = np.metadata.namespace!;
  const spec = (np.spec ?? {}) as Record<string, unknown>;
  if (
    pod.namespace === namespace &&
    matches(fromLabelSelector((spec.podSelector ?? {}) as never), pod.labels)
  )
    return true;
  for (const dir of ["ingress", "egress"] as const)
    for (const r of rulesOf(spec, dir)) {
      const peers = peersOf(r, dir);
      for (const p of peers) {
        if (peerSelects(peerSelectors(p), namespace, pod, nsLabels)) return true;
        // A pod's address can fall in an ipBlock, which matters only for named egress ports.
        if (p.ipBlock && dir === "egress" && pod.namedPorts.length) return true;
      }
      if (
        dir === "egress" &&
        !peers.length &&
        pod.namedPorts.length &&
        (r.ports ?? []).some((x) => typeof x.port === "string")
      )
        return true;
    }
  return false;
}

/** Whether namespace labels matter to `np` (one of its peers has a namespaceSelector). */
export function policyReadsNamespaces(np: KubeObject): boolean {
  const spec = (np.spec ?? {}) as Record<string, unknown>;
  return (["ingress", "egress"] as const).some((dir) =>
    rulesOf(spec, dir).some((r) =>
      peersOf(r, dir).some((p) => p.namespaceSelector !== undefined && p.namespaceSelector !== null),
    ),
  );
}
