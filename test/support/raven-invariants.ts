// What a converged Raven looks like, checked from the API alone: one snapshot of the cluster
// (namespaces, pods, Services, EndpointSlices) and of the embedded backend's raven.io objects,
// and the list of every way the two disagree. Empty when Raven has converged.
import type { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { ENDPOINTSLICES, NAMESPACES, PODS, SERVICES } from "../../src/kube/resource.ts";
import { FLOATINGIPS, LOADBALANCERS, NETWORKS, PORTS, SUBNETS } from "../../src/sdn/embedded/resources.ts";
import { cidrContains, parseCidr } from "../../src/sdn/ipam.ts";

export const KEYS = {
  port: "raven.io/port",
  lbVip: "raven.io/lb-vip",
  floatingIp: "raven.io/floating-ip",
  // Finalizers earlier versions added; Raven now removes them wherever it finds them.
  podFinalizer: "raven.io/port-cleanup",
  serviceFinalizer: "raven.io/lb-cleanup",
  namespaceFinalizer: "raven.io/network-cleanup",
};

export interface Snapshot {
  namespaces: KubeObject[];
  pods: KubeObject[];
  services: KubeObject[];
  slices: KubeObject[];
  ports: KubeObject[];
  loadBalancers: KubeObject[];
  floatingIps: KubeObject[];
  networks: KubeObject[];
  subnets: KubeObject[];
}

export async function snapshot(client: KubeClient): Promise<Snapshot> {
  const list = async (res: Parameters<KubeClient["list"]>[0]) => (await client.list(res)).items;
  const [namespaces, pods, services, slices, ports, loadBalancers, floatingIps, networks, subnets] =
    await Promise.all([
      list(NAMESPACES),
      list(PODS),
      list(SERVICES),
      list(ENDPOINTSLICES),
      list(PORTS),
      list(LOADBALANCERS),
      list(FLOATINGIPS),
      list(NETWORKS),
      list(SUBNETS),
    ]);
  return { namespaces, pods, services, slices, ports, loadBalancers, floatingIps, networks, subnets };
}

/** A pod Raven gives a port: scheduled, not hostNetwork, not finished, not being deleted. */
export function wantsPort(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return (
    Boolean(pod.spec?.nodeName) &&
    !pod.spec?.hostNetwork &&
    !pod.metadata.deletionTimestamp &&
    phase !== "Succeeded" &&
    phase !== "Failed"
  );
}

/** A Service Raven gives a load balancer: a ClusterIP (with or without a selector), not being deleted. */
export function wantsLoadBalancer(svc: KubeObject): boolean {
  const type = svc.spec?.type ?? "ClusterIP";
  return (
    !svc.metadata.deletionTimestamp &&
    ["ClusterIP", "NodePort", "LoadBalancer"].includes(type) &&
    Boolean(svc.spec?.clusterIP) &&
    svc.spec.clusterIP !== "None"
  );
}

const key = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
const hasFinalizer = (o: KubeObject, f: string) => (o.metadata.finalizers ?? []).includes(f);

function groupBy<T>(items: T[], by: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    const k = by(i);
    m.set(k, [...(m.get(k) ?? []), i]);
  }
  return m;
}

/** `have` lists exactly the distinct entries of `want`, each once. */
function sameMembers(want: string[], have: string[]): boolean {
  const w = [...new Set(want)].sort();
  return have.length === w.length && JSON.stringify([...have].sort()) === JSON.stringify(w);
}

function parseJson(text: string | undefined): any {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `address:port` of the ready endpoints of one Service port, from the Service's EndpointSlices. */
function readyEndpoints(sp: any, slices: KubeObject[]): string[] {
  const out: string[] = [];
  for (const s of slices) {
    if ((s as any).addressType !== "IPv4") continue;
    const port = ((s as any).ports ?? []).find(
      (p: any) => (p.name ?? "") === (sp.name ?? "") && (p.protocol ?? "TCP") === (sp.protocol ?? "TCP"),
    );
    if (!port?.port) continue;
    for (const ep of (s as any).endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      for (const a of ep.addresses ?? []) out.push(`${a}:${port.port}`);
    }
  }
  return out;
}

/** Every disagreement between the cluster and the backend (empty: converged). */
export function violations(
  s: Snapshot,
  opts: { externalCidr?: string; oneFloatingIpPerFixedIp?: boolean } = {},
): string[] {
  const externalCidr = opts.externalCidr ?? "172.16.0.0/24";
  const v: string[] = [];
  const external = parseCidr(externalCidr)!;

  // Namespaces: each has exactly one complete network; none of a deleted namespace remains.
  const liveNs = new Map(s.namespaces.map((n) => [n.metadata.uid!, n]));
  const networksByUid = new Map(s.networks.map((n) => [n.metadata.uid!, n]));
  const subnetOfNs = new Map<string, KubeObject>();
  for (const ns of s.namespaces) {
    const name = ns.metadata.name!;
    if (ns.metadata.deletionTimestamp) {
      v.push(`namespace ${name} stuck terminating (finalizers ${JSON.stringify(ns.metadata.finalizers)})`);
      continue;
    }
    if (hasFinalizer(ns, KEYS.namespaceFinalizer))
      v.push(`namespace ${name} carries Raven's legacy finalizer`);
    const nets = s.networks.filter(
      (n) =>
        n.spec.purpose === "pods" && n.spec.owner?.uid === ns.metadata.uid && !n.metadata.deletionTimestamp,
    );
    if (nets.length !== 1) {
      v.push(`namespace ${name} has ${nets.length} pod networks`);
      continue;
    }
    const subnet = s.subnets.find(
      (x) => x.spec.networkId === nets[0].metadata.uid && x.spec.cidr === nets[0].spec.cidr,
    );
    if (!subnet)
      v.push(`namespace ${name}: network ${nets[0].metadata.name} has no subnet ${nets[0].spec.cidr}`);
    else subnetOfNs.set(name, subnet);
  }
  for (const n of s.networks) {
    const o = n.spec.owner;
    if (o?.kind === "Cluster") continue;
    if (!liveNs.has(o?.uid))
      v.push(`network ${n.metadata.name} of a deleted namespace (uid ${o?.uid}) remains`);
  }
  for (const sn of s.subnets)
    if (!networksByUid.has(sn.spec.networkId))
      v.push(`subnet ${sn.metadata.name} of a deleted network ${sn.spec.networkName}`);

  // Pods and ports.
  const podsByUid = new Map(s.pods.map((p) => [p.metadata.uid!, p]));
  const portsByOwner = groupBy(s.ports, (p) => p.spec.owner?.uid ?? "");
  for (const pod of s.pods) {
    const k = key(pod);
    const mine = portsByOwner.get(pod.metadata.uid!) ?? [];
    if (pod.metadata.deletionTimestamp) {
      v.push(`pod ${k} stuck terminating (finalizers ${JSON.stringify(pod.metadata.finalizers)})`);
      continue;
    }
    if (!wantsPort(pod)) {
      if (mine.length) v.push(`pod ${k} (${pod.status?.phase}, no port wanted) has ${mine.length} port(s)`);
      if (hasFinalizer(pod, KEYS.podFinalizer)) v.push(`pod ${k} (no port wanted) keeps Raven's finalizer`);
      if (pod.metadata.annotations?.[KEYS.port])
        v.push(`pod ${k} (no port wanted) keeps its port annotation`);
      continue;
    }
    if (mine.length !== 1) {
      v.push(`pod ${k} has ${mine.length} ports`);
      continue;
    }
    const port = mine[0];
    const ip: string = port.spec.ipAddress;
    const subnet = subnetOfNs.get(pod.metadata.namespace!);
    if (port.metadata.namespace !== pod.metadata.namespace)
      v.push(`port ${key(port)} of pod ${k} is in another namespace`);
    if (!subnet) v.push(`pod ${k}: its namespace has no subnet`);
    else {
      if (!cidrContains(parseCidr(subnet.spec.cidr)!, ip))
        v.push(`pod ${k}: port IP ${ip} is outside its namespace's subnet ${subnet.spec.cidr}`);
      if (port.spec.subnetId !== subnet.metadata.uid)
        v.push(`pod ${k}: port ${key(port)} is on subnet ${port.spec.subnetId}, not its namespace's`);
    }
    const ann = parseJson(pod.metadata.annotations?.[KEYS.port]);
    if (!ann) v.push(`pod ${k} has no port annotation`);
    else if (ann.id !== port.metadata.uid || ann.fixed_ips?.[0]?.ip_address !== ip)
      v.push(
        `pod ${k}: annotation names port ${ann.id} ${ann.fixed_ips?.[0]?.ip_address}, its port is ${port.metadata.uid} ${ip}`,
      );
    if (hasFinalizer(pod, KEYS.podFinalizer)) v.push(`pod ${k} carries Raven's legacy finalizer`);
    if (pod.status?.podIP !== ip) v.push(`pod ${k}: pod IP ${pod.status?.podIP}, port IP ${ip}`);
  }
  for (const port of s.ports) {
    const owner = podsByUid.get(port.spec.owner?.uid);
    if (!owner)
      v.push(
        `port ${key(port)} (${port.spec.ipAddress}) of a pod that does not exist (${port.spec.owner?.name})`,
      );
    else if (!wantsPort(owner)) v.push(`port ${key(port)} of pod ${key(owner)} that wants none`);
  }
  for (const [ip, ports] of groupBy(s.ports, (p) => p.spec.ipAddress))
    if (ports.length > 1) v.push(`IP ${ip} is held by ${ports.length} ports: ${ports.map(key).join(", ")}`);
  for (const [ip, pods] of groupBy(s.pods.filter(wantsPort), (p) => p.status?.podIP ?? ""))
    if (ip && pods.length > 1) v.push(`pod IP ${ip} is used by ${pods.map(key).join(", ")}`);

  // Services, load balancers and floating IPs.
  const svcByUid = new Map(s.services.map((x) => [x.metadata.uid!, x]));
  const lbsByOwner = groupBy(s.loadBalancers, (l) => l.spec.owner?.uid ?? "");
  const fipsByOwner = groupBy(s.floatingIps, (f) => f.spec.owner?.uid ?? "");
  const portIps = new Map(s.ports.map((p) => [`${p.metadata.namespace}/${p.spec.ipAddress}`, p]));
  for (const svc of s.services) {
    const k = key(svc);
    const lbs = lbsByOwner.get(svc.metadata.uid!) ?? [];
    const fips = fipsByOwner.get(svc.metadata.uid!) ?? [];
    const ingress: any[] = svc.status?.loadBalancer?.ingress ?? [];
    if (svc.metadata.deletionTimestamp) {
      v.push(`service ${k} stuck terminating (finalizers ${JSON.stringify(svc.metadata.finalizers)})`);
      continue;
    }
    if (!wantsLoadBalancer(svc)) {
      if (lbs.length) v.push(`service ${k} (no load balancer wanted) has ${lbs.length}`);
      if (fips.length) v.push(`service ${k} (no load balancer wanted) has ${fips.length} floating IP(s)`);
      if (hasFinalizer(svc, KEYS.serviceFinalizer))
        v.push(`service ${k} (no load balancer wanted) keeps the finalizer`);
      continue;
    }
    const clusterIP: string = svc.spec.clusterIP;
    if (hasFinalizer(svc, KEYS.serviceFinalizer)) v.push(`service ${k} carries Raven's legacy finalizer`);
    if (lbs.length !== 1) v.push(`service ${k} has ${lbs.length} load balancers`);
    const lb = lbs[0];
    if (lb) {
      if (lb.spec.vipAddress !== clusterIP)
        v.push(`service ${k}: VIP ${lb.spec.vipAddress} is not ClusterIP ${clusterIP}`);
      if (key(lb) !== k) v.push(`service ${k}: its load balancer is ${key(lb)}`);
      const mySlices = s.slices.filter(
        (x) =>
          x.metadata.namespace === svc.metadata.namespace &&
          x.metadata.labels?.["kubernetes.io/service-name"] === svc.metadata.name,
      );
      const svcPorts = (svc.spec.ports ?? []).filter((p: any) =>
        ["TCP", "UDP"].includes(p.protocol ?? "TCP"),
      );
      if ((lb.spec.listeners ?? []).length !== svcPorts.length)
        v.push(`service ${k}: ${lb.spec.listeners?.length} listeners for ${svcPorts.length} ports`);
      for (const sp of svcPorts) {
        const listener = (lb.spec.listeners ?? []).find(
          (l: any) => l.protocolPort === sp.port && l.protocol === (sp.protocol ?? "TCP"),
        );
        const pool = listener && (lb.spec.pools ?? []).find((p: any) => p.id === listener.defaultPoolId);
        if (!pool) {
          v.push(`service ${k}: no listener and pool for ${sp.protocol ?? "TCP"}/${sp.port}`);
          continue;
        }
        const want = readyEndpoints(sp, mySlices);
        const have = (pool.members ?? []).map((m: any) => `${m.address}:${m.protocolPort}`);
        if (!sameMembers(want, have))
          v.push(`service ${k} ${sp.port}: members [${have.sort()}], ready endpoints [${want.sort()}]`);
        for (const m of pool.members ?? [])
          if (!portIps.has(`${svc.metadata.namespace}/${m.address}`))
            v.push(`service ${k}: member ${m.address} is no pod's port`);
      }
      const vip = parseJson(svc.metadata.annotations?.[KEYS.lbVip]);
      if (vip?.address !== clusterIP || vip?.id !== lb.metadata.uid)
        v.push(
          `service ${k}: lb-vip annotation ${vip?.address}/${vip?.id}, load balancer ${clusterIP}/${lb.metadata.uid}`,
        );
    }
    // spec.externalIPs[first inside the external subnet] -> one "external-ip" floating IP.
    const chosen = ((svc.spec.externalIPs ?? []) as string[]).find((ip) => cidrContains(external, ip));
    const ext = fips.filter((f) => f.spec.role === "external-ip");
    if (chosen) {
      if (ext.length !== 1 || ext[0].spec.floatingIPAddress !== chosen)
        v.push(
          `service ${k}: external IP ${chosen}, floating IPs [${ext.map((f) => f.spec.floatingIPAddress)}]`,
        );
      else if (ext[0].spec.fixedIPAddress !== clusterIP)
        v.push(`service ${k}: floating IP ${chosen} points at ${ext[0].spec.fixedIPAddress}`);
      const ann = parseJson(svc.metadata.annotations?.[KEYS.floatingIp]);
      if (ann?.floating_ip_address !== chosen)
        v.push(`service ${k}: floating-ip annotation ${ann?.floating_ip_address}, external IP ${chosen}`);
    } else {
      if (ext.length)
        v.push(`service ${k}: no external IP, floating IPs [${ext.map((f) => f.spec.floatingIPAddress)}]`);
      if (svc.metadata.annotations?.[KEYS.floatingIp]) v.push(`service ${k}: a stale floating-ip annotation`);
    }
    // type LoadBalancer -> one "load-balancer" floating IP, published as the ingress.
    const lbFips = fips.filter((f) => f.spec.role === "load-balancer");
    if (svc.spec.type === "LoadBalancer" && chosen && opts.oneFloatingIpPerFixedIp) {
      // One floating IP per VIP (Neutron): the external IP's is the ingress too.
      if (lbFips.length) v.push(`service ${k}: a pool floating IP beside its external IP ${chosen}`);
      if (ingress.length !== 1 || ingress[0].ip !== chosen)
        v.push(`service ${k}: ingress ${JSON.stringify(ingress)}, external IP ${chosen}`);
    } else if (svc.spec.type === "LoadBalancer") {
      if (lbFips.length !== 1)
        v.push(`service ${k} (LoadBalancer) has ${lbFips.length} ingress floating IPs`);
      else {
        const ip = lbFips[0].spec.floatingIPAddress;
        if (lbFips[0].spec.fixedIPAddress !== clusterIP)
          v.push(`service ${k}: ingress floating IP ${ip} points elsewhere`);
        if (ingress.length !== 1 || ingress[0].ip !== ip)
          v.push(`service ${k}: ingress ${JSON.stringify(ingress)}, floating IP ${ip}`);
      }
    } else {
      if (lbFips.length) v.push(`service ${k} (${svc.spec.type}) has ${lbFips.length} ingress floating IPs`);
      if (ingress.length)
        v.push(`service ${k} (${svc.spec.type}) still shows ingress ${JSON.stringify(ingress)}`);
    }
  }
  for (const lb of s.loadBalancers) {
    const owner = svcByUid.get(lb.spec.owner?.uid);
    if (!owner)
      v.push(`load balancer ${key(lb)} of a Service that does not exist (uid ${lb.spec.owner?.uid})`);
    else if (!wantsLoadBalancer(owner))
      v.push(`load balancer ${key(lb)} of Service ${key(owner)} that wants none`);
  }
  for (const f of s.floatingIps) {
    const owner = svcByUid.get(f.spec.owner?.uid);
    if (!owner)
      v.push(
        `floating IP ${f.spec.floatingIPAddress} (${f.spec.role}) of a Service that does not exist (${f.spec.owner?.namespace}/${f.spec.owner?.name})`,
      );
  }
  return v;
}

/** Counts for the CI log. */
export function describe(s: Snapshot): string {
  const pods = s.pods.filter(wantsPort).length;
  return `${s.namespaces.length} namespaces, ${s.pods.length} pods (${pods} with ports), ${s.ports.length} ports, ${s.services.length} services, ${s.loadBalancers.length} load balancers, ${s.floatingIps.length} floating IPs, ${s.networks.length} networks`;
}
