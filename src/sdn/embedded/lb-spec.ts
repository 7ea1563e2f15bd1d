// The LoadBalancer object's desired spec, merged into what is stored so that ids survive:
// a listener keeps its id (and its pool's) while its protocol and port stay, a member keeps
// its id while its address and port stay. Sorted, so the same request always yields the same
// spec and an unchanged Service costs no write. Pure.
import { sameJson } from "../../util/same-json.ts";
import type { LoadBalancerRequest } from "../backend.ts";
import { parseIpv4 } from "../ipam.ts";
import type { ListenerSpec, LoadBalancerSpec, MemberSpec, PoolSpec } from "./types.ts";

const listenerKey = (protocol: string, port: number) => `${protocol}/${port}`;
const memberKey = (address: string, port: number) => `${address}:${port}`;

/** A listener's display name: the Service port's name, or `TCP-80` for an unnamed port. */
export const listenerName = (name: string, protocol: string, port: number) => name || `${protocol}-${port}`;

export function desiredLoadBalancerSpec(
  req: LoadBalancerRequest,
  current: LoadBalancerSpec | undefined,
  newId: () => string,
): LoadBalancerSpec {
  const oldListeners = new Map<string, ListenerSpec>();
  for (const l of current?.listeners ?? []) oldListeners.set(listenerKey(l.protocol, l.protocolPort), l);
  const oldPools = new Map<string, PoolSpec>();
  for (const p of current?.pools ?? []) oldPools.set(p.id, p);

  const listeners: ListenerSpec[] = [];
  const pools: PoolSpec[] = [];
  const seen = new Set<string>();
  for (const l of [...req.listeners].sort(
    (a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port,
  )) {
    const key = listenerKey(l.protocol, l.port);
    if (seen.has(key)) continue;
    seen.add(key);
    const old = oldListeners.get(key);
    const oldPool = old ? oldPools.get(old.defaultPoolId) : undefined;
    const listenerId = old?.id ?? newId();
    const poolId = oldPool?.id ?? newId();
    const name = listenerName(l.name, l.protocol, l.port);
    listeners.push({
      id: listenerId,
      name,
      protocol: l.protocol,
      protocolPort: l.port,
      defaultPoolId: poolId,
    });
    pools.push({
      id: poolId,
      name,
      protocol: l.protocol,
      lbAlgorithm: "ROUND_ROBIN",
      listenerId,
      members: desiredMembers(l.members, oldPool?.members ?? [], newId),
    });
  }
  return {
    displayName: req.name,
    vipAddress: req.vipAddress,
    vipSubnetId: req.vipSubnetId,
    vipPortId: current?.vipPortId || newId(),
    owner: { ...req.owner },
    listeners,
    pools,
  };
}

function desiredMembers(
  wanted: LoadBalancerRequest["listeners"][number]["members"],
  current: MemberSpec[],
  newId: () => string,
): MemberSpec[] {
  const old = new Map(current.map((m) => [memberKey(m.address, m.protocolPort), m]));
  const out = new Map<string, MemberSpec>();
  for (const m of wanted) {
    const key = memberKey(m.address, m.port);
    // An endpoint listed twice (EndpointSlices overlap while they are rewritten) is one member.
    if (out.has(key)) continue;
    out.set(key, {
      id: old.get(key)?.id ?? newId(),
      name: m.name,
      address: m.address,
      protocolPort: m.port,
      ...(m.subnetId ? { subnetId: m.subnetId } : {}),
    });
  }
  return [...out.values()].sort(
    (a, b) => (parseIpv4(a.address) ?? 0) - (parseIpv4(b.address) ?? 0) || a.protocolPort - b.protocolPort,
  );
}

/** Whether two specs mean the same (field order and absent-vs-undefined do not count). */
export function sameLoadBalancerSpec(a: LoadBalancerSpec, b: LoadBalancerSpec): boolean {
  return sameJson(a, b);
}
