// The subsets of a legacy core/v1 Endpoints object (upstream's endpoints controller and
// RepackSubsets): one address per pod and port, then regrouped so that addresses sharing the
// same ports (with the same readiness) share a subset, everything sorted.

import type { KubeObject } from "../../kube/objects.ts";
import {
  addressTypesForService,
  findPort,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from "./endpoint-compute.ts";
import { isPodReady } from "./pod-control.ts";

export const MAX_ENDPOINTS_ADDRESSES = 1000;
export const OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity";

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind: string; namespace?: string; name?: string; uid?: string; resourceVersion?: string };
}

export interface EndpointsPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface Subset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointsPort[];
}

/**
 * The address a pod gets in a Service's Endpoints: its IP of the Service's (first) family, or
 * undefined when it has none.
 */
export function endpointAddress(svc: KubeObject, pod: KubeObject): EndpointAddress | undefined {
  const family = addressTypesForService(svc)[0];
  const ips: string[] = (pod.status?.podIPs ?? []).map((p: any) => p?.ip).filter(Boolean);
  if (!ips.length && pod.status?.podIP) ips.push(pod.status.podIP);
  const ip = ips.find((a) => a.includes(":") === (family === "IPv6"));
  if (!ip) return undefined;
  const addr: EndpointAddress = { ip };
  if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec.hostname;
  if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
  addr.targetRef = {
    kind: "Pod",
    namespace: pod.metadata.namespace,
    name: pod.metadata.name,
    uid: pod.metadata.uid,
  };
  return addr;
}

/** One subset per (pod, resolved port), before repacking; as upstream's addEndpointSubset. */
export function rawSubsets(svc: KubeObject, pods: readonly KubeObject[]): Subset[] {
  const publishNotReady = Boolean(svc.spec?.publishNotReadyAddresses);
  const servicePorts: any[] = svc.spec?.ports ?? [];
  const headless = svc.spec?.clusterIP === "None";
  const out: Subset[] = [];
  const add = (pod: KubeObject, addr: EndpointAddress, port?: EndpointsPort) => {
    const ready = publishNotReady || isPodReady(pod);
    out.push({ [ready ? "addresses" : "notReadyAddresses"]: [addr], ports: port ? [port] : [] });
  };
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const addr = endpointAddress(svc, pod);
    if (!addr) continue;
    // A headless Service may publish bare addresses, without ports.
    if (!servicePorts.length) {
      if (headless) add(pod, addr);
      continue;
    }
    for (const sp of servicePorts) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      const ep: EndpointsPort = { port, protocol: sp.protocol ?? "TCP" };
      if (sp.name) ep.name = sp.name;
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      add(pod, addr, ep);
    }
  }
  return out;
}

const addressId = (a: EndpointAddress) => `${a.ip}\u0000${a.targetRef?.uid ?? ""}`;
const portId = (p: EndpointsPort) => JSON.stringify([p.name ?? "", p.port, p.protocol, p.appProtocol ?? ""]);

/** Byte order of IPs, then target UIDs (upstream's LessEndpointAddress). */
function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const ua = a.targetRef?.uid ?? "";
  const ub = b.targetRef?.uid ?? "";
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

function comparePorts(a: EndpointsPort, b: EndpointsPort): number {
  const x = portId(a);
  const y = portId(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Regroups subsets so that each holds the addresses offering exactly the same ports with the
 * same readiness (an address not ready on one port stays not ready there), sorted throughout.
 */
export function repackSubsets(subsets: readonly Subset[]): Subset[] {
  const addrs = new Map<string, EndpointAddress>();
  // port id → (address id → ready); a port of -1 stands for "no ports".
  const byPort = new Map<string, { port?: EndpointsPort; ready: Map<string, boolean> }>();
  const note = (addr: EndpointAddress, port: EndpointsPort | undefined, ready: boolean) => {
    const id = addressId(addr);
    if (!addrs.has(id)) addrs.set(id, addr);
    const pid = port ? portId(port) : "-1";
    let entry = byPort.get(pid);
    if (!entry) {
      entry = { port, ready: new Map() };
      byPort.set(pid, entry);
    }
    // Not ready wins over ready for the same address and port.
    if (entry.ready.get(id) !== false) entry.ready.set(id, ready);
  };
  for (const ss of subsets) {
    const ports: (EndpointsPort | undefined)[] = ss.ports?.length ? ss.ports : [undefined];
    for (const port of ports) {
      for (const a of ss.addresses ?? []) note(a, port, true);
      for (const a of ss.notReadyAddresses ?? []) note(a, port, false);
    }
  }
  // Ports offered by the same addresses (with the same readiness) share a subset.
  const groups = new Map<string, { ready: Map<string, boolean>; ports: EndpointsPort[] }>();
  for (const { port, ready } of byPort.values()) {
    const key = JSON.stringify([...ready.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let g = groups.get(key);
    if (!g) {
      g = { ready, ports: [] };
      groups.set(key, g);
    }
    if (port) g.ports.push(port);
  }
  const out: Subset[] = [];
  for (const g of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [id, ok] of g.ready) (ok ? ready : notReady).push(addrs.get(id)!);
    const ss: Subset = {};
    if (ready.length) ss.addresses = ready.sort(compareAddresses);
    if (notReady.length) ss.notReadyAddresses = notReady.sort(compareAddresses);
    if (g.ports.length) ss.ports = g.ports.sort(comparePorts);
    out.push(ss);
  }
  // Upstream orders subsets by a hash; any stable order serves, this one reads naturally.
  const sortKey = (ss: Subset) =>
    JSON.stringify([ss.ports ?? [], ss.addresses?.[0]?.ip ?? "", ss.notReadyAddresses?.[0]?.ip ?? ""]);
  return out.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
}

/** The Endpoints subsets of a Service over the pods its selector matches. */
export function buildSubsets(svc: KubeObject, pods: readonly KubeObject[]): Subset[] {
  return repackSubsets(rawSubsets(svc, pods));
}

export function countAddresses(subsets: readonly Subset[]): number {
  let n = 0;
  for (const ss of subsets) n += (ss.addresses?.length ?? 0) + (ss.notReadyAddresses?.length ?? 0);
  return n;
}

/**
 * Caps the addresses at `max` (upstream's truncateEndpoints): not-ready addresses go first;
 * what remains is shared among subsets in proportion to their size. Answers a new list, or
 * undefined when nothing had to go.
 */
export function truncateSubsets(
  subsets: readonly Subset[],
  max = MAX_ENDPOINTS_ADDRESSES,
): Subset[] | undefined {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const ss of subsets) {
    totalReady += ss.addresses?.length ?? 0;
    totalNotReady += ss.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= max) return undefined;
  const truncateReady = totalReady > max;
  const budget = truncateReady ? max : max - totalReady;
  const total = truncateReady ? totalReady : totalNotReady;
  let left = budget;
  return subsets.map((ss) => {
    const list = (truncateReady ? ss.addresses : ss.notReadyAddresses) ?? [];
    const share = Math.min(left, Math.ceil((list.length / total) * budget));
    const kept = list.slice(0, share);
    left -= kept.length;
    const out: Subset = { ...ss };
    // Truncating ready addresses drops every not-ready one.
    if (truncateReady) delete out.notReadyAddresses;
    const field = truncateReady ? "addresses" : "notReadyAddresses";
    if (kept.length) out[field] = kept;
    else delete out[field];
    return out;
  });
}
