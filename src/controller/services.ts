// Service -> load balancer (+ floating IPs). A Service with a ClusterIP gets a VIP at its
// ClusterIP, one listener and ROUND_ROBIN pool per TCP/UDP port, and one member per ready
// endpoint (from EndpointSlices, whoever writes them: Raven is the cluster's service proxy, so
// Services without a selector, such as `kubernetes`, are load-balanced too). The first spec.externalIPs entry inside the
// external subnet becomes a floating IP on the VIP; type LoadBalancer gets one from the pool
// and status.loadBalancer.ingress. The parts fail independently: a floating IP that cannot be
// had (another Service holds the address, the pool is empty) is an Event on this Service, and
// the load balancer, its annotations and any other part are still written; the sync then
// fails so the missing part is retried. Load balancers and floating IPs of Services deleted
// while no controller ran are removed by orphan sweeping, so no finalizer is needed.

import {
  formatFloatingIpAnnotation,
  formatLbPoolAnnotation,
  formatLbVipAnnotation,
} from "../api/annotations.ts";
import { isObjectGone } from "../kube/errors.ts";
import { type KubeObject, objectKey } from "../kube/objects.ts";
import { SERVICES } from "../kube/resource.ts";
import { type ListenerRequest, SdnError } from "../sdn/backend.ts";
import { canonicalIpv4, cidrContains, type Ipv4Cidr, parseCidr } from "../sdn/ipam.ts";
import type { FloatingIp, LbProtocol, LoadBalancerState } from "../sdn/model.ts";
import { CLUSTER_OWNER, type ControllerDeps, ownerOf } from "./context.ts";
import { GoneUids } from "./gone-uids.ts";
import { type MetadataWant, metadataPatch } from "./meta-patch.ts";
import { OwnWrites } from "./own-writes.ts";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

/** Does Raven give this Service a load balancer? */
export function wantsLoadBalancer(svc: KubeObject): boolean {
  const spec = svc.spec ?? {};
  const type = spec.type ?? "ClusterIP";
  return (
    !svc.metadata.deletionTimestamp &&
    (type === "ClusterIP" || type === "NodePort" || type === "LoadBalancer") &&
    Boolean(spec.clusterIP) &&
    spec.clusterIP !== "None"
  );
}

/** The ready endpoints of one Service port, from the Service's EndpointSlices. */
export function membersFor(
  slices: KubeObject[],
  servicePort: { name?: string; protocol?: string },
  /** The subnet of an endpoint's address; undefined outside every pod network (such as the API server's). */
  subnetOf: (endpoint: any, address: string) => string | undefined,
): ListenerRequest["members"] {
  const out: ListenerRequest["members"] = [];
  const seen = new Set<string>();
  const protocol = servicePort.protocol ?? "TCP";
  for (const slice of slices) {
    if (slice.addressType && slice.addressType !== "IPv4") continue;
    const port = (slice.ports ?? []).find(
      (p: any) => (p.name ?? "") === (servicePort.name ?? "") && (p.protocol ?? "TCP") === protocol,
    );
    if (!port?.port) continue;
    for (const ep of slice.endpoints ?? []) {
      // Per the API, an unset `ready` means ready.
      if (ep.conditions?.ready === false) continue;
      for (const address of ep.addresses ?? []) {
        const id = `${address}:${port.port}`;
        if (seen.has(id)) continue;
        seen.add(id);
        const subnetId = subnetOf(ep, address);
        out.push({
          name: ep.targetRef?.name ?? address,
          address,
          port: port.port,
          ...(subnetId ? { subnetId } : {}),
        });
      }
    }
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
}

export interface IgnoredExternalIp {
  /** `spec.externalIPs[1]` */
  field: string;
  value: string;
  /** "outside" the external subnet, "not-first" inside it, or why the value is no address. */
  why: string;
}

/**
 * The externalIPs entry that becomes a floating IP (the first canonical one inside the external
 * subnet) and why each other entry does not.
 */
export function chooseExternalIp(
  values: unknown[],
  external: Ipv4Cidr,
): { chosen?: string; ignored: IgnoredExternalIp[] } {
  let chosen: string | undefined;
  const ignored: IgnoredExternalIp[] = [];
  values.forEach((raw, i) => {
    const field = `spec.externalIPs[${i}]`;
    const value = String(raw);
    const c = canonicalIpv4(value);
    if ("error" in c) ignored.push({ field, value, why: c.error });
    else if (!cidrContains(external, c.ip)) ignored.push({ field, value, why: "outside" });
    else if (chosen === undefined) chosen = c.ip;
    else ignored.push({ field, value, why: "not-first" });
  });
  return { chosen, ignored };
}

export class ServiceReconciler {
  private readonly d: ControllerDeps;
  private readonly gone = new GoneUids();
  /** The externalIPs last reported as ignored, per Service UID (to report each change once). */
  private readonly reportedIgnored = new Map<string, string>();
  /** Our latest Service writes, so a sync on a cache that has not seen them yet is skipped. */
  private readonly writes = new OwnWrites();
  /** Queues another Service's sync (one whose pool address this one took by name). */
  private readonly requeue: (key: string) => void;

  constructor(deps: ControllerDeps, requeue: (key: string) => void = () => {}) {
    this.d = deps;
    this.requeue = requeue;
  }

  forget(key: string, uid: string): void {
    this.writes.forget(key);
    this.gone.add(key, uid);
  }

  async sync(key: string): Promise<void> {
    const svc = this.d.informers.services.get(key);
    await this.gone.release(key, svc?.metadata.uid, (uid) => this.release(uid));
    if (!svc) return;
    // The cache predates our own last write of this Service: that write's event will queue it
    // again (and the sync then sees the EndpointSlices as they are by then).
    if (this.writes.isStale(key, svc)) return;
    const k = this.d.keys;
    const legacyFinalizer = { name: k.legacyFinalizers.service, present: false };
    if (!wantsLoadBalancer(svc)) {
      await this.release(svc.metadata.uid!);
      await this.clearIngress(svc);
      await this.patch(svc, {
        annotations: { [k.lbVip]: null, [k.lbPool]: null, [k.floatingIp]: null },
        finalizer: legacyFinalizer,
      });
      return;
    }
    // Without the load balancer nothing else can be written: its failure fails the sync.
    const lb = await this.ensureLoadBalancer(svc);
    const failures: unknown[] = [];
    const attempt = async <T>(part: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await part();
      } catch (err) {
        failures.push(err);
        return undefined;
      }
    };
    const externalFip =
      (await attempt(() => this.ensureExternalIpFip(svc, lb))) ??
      // What the backend really holds for it, e.g. the old address while a new one is taken.
      this.d.backend.findFloatingIps(svc.metadata.uid!).find((f) => f.role === "external-ip");
    await attempt(() => this.ensureLoadBalancerIngress(svc, lb, externalFip));
    await this.patch(svc, {
      annotations: {
        [k.lbVip]: formatLbVipAnnotation(lb),
        [k.lbPool]: formatLbPoolAnnotation(lb),
        [k.floatingIp]: externalFip ? formatFloatingIpAnnotation(externalFip) : null,
      },
      finalizer: legacyFinalizer,
    });
    // Retry the parts that failed (their Events say why).
    if (failures.length) throw failures[0];
  }

  private async ensureLoadBalancer(svc: KubeObject): Promise<LoadBalancerState> {
    const serviceNet = this.d.backend.findNetwork(CLUSTER_OWNER.uid, "services");
    if (!serviceNet) throw new Error("the service network does not exist yet");
    const slices = this.d.informers.endpointSlices
      .byIndex("service", `${svc.metadata.namespace}/${svc.metadata.name}`)
      .filter((s) => s.metadata.namespace === svc.metadata.namespace);
    const podNet = this.d.backend.findNetwork(
      this.d.informers.namespaces.get(svc.metadata.namespace!)?.metadata.uid ?? "",
      "pods",
    );
    const podCidr = podNet && parseCidr(podNet.subnet.cidr);
    const subnetOf = (ep: any, address: string) => {
      const uid = ep.targetRef?.uid;
      const port = uid ? this.d.backend.findPorts(uid)[0] : undefined;
      if (port) return port.fixed_ips[0]?.subnet_id;
      return podCidr && cidrContains(podCidr, address) ? podNet.subnet.id : undefined;
    };
    const listeners: ListenerRequest[] = [];
    for (const p of svc.spec.ports ?? []) {
      const protocol = (p.protocol ?? "TCP") as string;
      if (protocol !== "TCP" && protocol !== "UDP") {
        this.d.recorder.event(
          svc,
          "Warning",
          "UnsupportedProtocol",
          `port ${p.name || p.port}: protocol ${protocol} is not supported by the load balancer; only TCP and UDP`,
        );
        continue;
      }
      // Named like the seeds' pools: after the Service (and the port, when it has a name).
      const name = p.name ? `${svc.metadata.name}-${p.name}` : svc.metadata.name!;
      listeners.push({
        name,
        protocol: protocol as LbProtocol,
        port: p.port,
        members: membersFor(slices, p, subnetOf),
      });
    }
    const lb = await this.d.backend.ensureLoadBalancer({
      owner: ownerOf("Service", svc),
      name: svc.metadata.name!,
      vipAddress: svc.spec.clusterIP,
      vipSubnetId: serviceNet.subnet.id,
      listeners,
    });
    this.d.metrics.backendOps.inc({ op: "ensureLoadBalancer", result: "ok" });
    return lb;
  }

  /** The first externalIPs entry inside the external subnet gets a floating IP; the rest are reported. */
  private async ensureExternalIpFip(svc: KubeObject, lb: LoadBalancerState): Promise<FloatingIp | undefined> {
    const external = parseCidr(this.d.config.externalCidr)!;
    const { chosen, ignored } = chooseExternalIp(svc.spec.externalIPs ?? [], external);
    const report = ignored.map((i) => `${i.field}=${i.value}: ${i.why}`).join("\n");
    if (this.reportedIgnored.get(svc.metadata.uid!) !== report) {
      this.reportedIgnored.set(svc.metadata.uid!, report);
      for (const i of ignored) {
        const why =
          i.why === "outside"
            ? `it is outside the external subnet ${this.d.config.externalCidr}`
            : i.why === "not-first"
              ? `only the first externalIPs entry inside ${this.d.config.externalCidr} (${chosen}) becomes a floating IP`
              : i.why;
        this.d.recorder.event(svc, "Warning", "ExternalIPIgnored", `${i.field} ${i.value} ignored: ${why}`);
      }
    }
    const current = this.d.backend.findFloatingIps(svc.metadata.uid!).filter((f) => f.role === "external-ip");
    if (!chosen) {
      for (const f of current) await this.d.backend.deleteFloatingIp(f.id);
      return undefined;
    }
    // Only one floating IP fits on the VIP: the external IP takes the place of a pool pick.
    if (this.d.backend.oneFloatingIpPerFixedIp)
      for (const f of this.d.backend.findFloatingIps(svc.metadata.uid!))
        if (f.role === "load-balancer") await this.d.backend.deleteFloatingIp(f.id);
    const ensure = () =>
      this.d.backend.ensureFloatingIp({
        owner: ownerOf("Service", svc),
        role: "external-ip",
        address: chosen,
        fixedIpAddress: lb.loadbalancer.vip_address,
        loadBalancerId: lb.loadbalancer.id,
        vipPortId: lb.loadbalancer.vip_port_id,
      });
    try {
      try {
        return await ensure();
      } catch (err) {
        // A holder that no longer wants the address (gone from the cache, or listing another
        // one) would release it on its own sync, or the orphan sweep would; this Service need
        // not wait for either. A pool pick yields to a request by name.
        if (
          !(err instanceof SdnError && err.reason === "IpInUse") ||
          !(await this.releaseStale(chosen, external))
        )
          throw err;
        return await ensure();
      }
    } catch (err) {
      if (err instanceof SdnError && err.reason === "IpInUse")
        this.d.recorder.event(
          svc,
          "Warning",
          "ExternalIPInUse",
          `external IP ${chosen} is already a floating IP of another Service; will retry`,
        );
      throw err;
    }
  }

  /**
   * Frees the floating IP at `address` for a Service that lists it by name, when its holder
   * does not: the holder is gone from the cache or being deleted, lists another first external
   * IP, or holds it only as a type LoadBalancer pool pick (an explicit request wins over a pick;
   * the holder is queued to pick another). True if it freed it.
   */
  private async releaseStale(address: string, external: Ipv4Cidr): Promise<boolean> {
    const held = this.d.backend.inventory().floatingIps.find((f) => f.object.floating_ip_address === address);
    if (held?.owner.kind !== "Service" || held.object.id === undefined) return false;
    const holderKey = `${held.owner.namespace}/${held.owner.name}`;
    const holder = this.d.informers.services.get(holderKey);
    const live = holder?.metadata.uid === held.owner.uid && !holder.metadata.deletionTimestamp;
    const role = this.d.backend.findFloatingIps(held.owner.uid).find((f) => f.id === held.object.id)?.role;
    const wanted =
      role === "external-ip"
        ? chooseExternalIp(holder?.spec?.externalIPs ?? [], external).chosen === address
        : role !== "load-balancer";
    if (live && wanted) return false;
    this.d.log.info(
      { address, holder: holderKey, role },
      live
        ? "taking a pool address back for the Service that lists it"
        : "releasing a floating IP its Service no longer wants",
    );
    await this.d.backend.deleteFloatingIp(held.object.id);
    if (live) this.requeue(holderKey);
    return true;
  }

  /** Every external address some Service other than `svc` lists in spec.externalIPs. */
  private externalIpsOfOthers(svc: KubeObject): Set<string> {
    const out = new Set<string>();
    for (const other of this.d.informers.services.list()) {
      if (other.metadata.uid === svc.metadata.uid) continue;
      for (const ip of other.spec?.externalIPs ?? []) {
        const c = canonicalIpv4(String(ip));
        if ("ip" in c) out.add(c.ip);
      }
    }
    return out;
  }

  /** type LoadBalancer: a floating IP from the pool, published in status.loadBalancer.ingress. */
  private async ensureLoadBalancerIngress(
    svc: KubeObject,
    lb: LoadBalancerState,
    externalFip: FloatingIp | undefined,
  ): Promise<void> {
    const current = this.d.backend
      .findFloatingIps(svc.metadata.uid!)
      .filter((f) => f.role === "load-balancer");
    const shared = this.d.backend.oneFloatingIpPerFixedIp && externalFip;
    if (svc.spec.type !== "LoadBalancer" || shared) {
      for (const f of current) await this.d.backend.deleteFloatingIp(f.id);
      if (svc.spec.type !== "LoadBalancer") await this.clearIngress(svc);
    }
    if (svc.spec.type !== "LoadBalancer") return;
    let fip: FloatingIp;
    if (shared) {
      fip = externalFip;
      if (svc.status?.loadBalancer?.ingress?.[0]?.ip !== fip.floating_ip_address)
        this.d.recorder.event(
          svc,
          "Normal",
          "IngressIsExternalIP",
          `${this.d.backend.name} allows one floating IP per fixed IP: the external IP ${fip.floating_ip_address} is the load balancer's ingress`,
        );
    } else
      try {
        fip = await this.d.backend.ensureFloatingIp({
          owner: ownerOf("Service", svc),
          role: "load-balancer",
          // A new pick must not take an address another Service asks for by name.
          avoid: current.length ? undefined : this.externalIpsOfOthers(svc),
          fixedIpAddress: lb.loadbalancer.vip_address,
          loadBalancerId: lb.loadbalancer.id,
          vipPortId: lb.loadbalancer.vip_port_id,
        });
      } catch (err) {
        if (err instanceof SdnError && err.reason === "PoolExhausted")
          this.d.recorder.event(
            svc,
            "Warning",
            "FloatingIPPoolExhausted",
            `no free address left in ${this.d.config.externalCidr}; will retry`,
          );
        throw err;
      }
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    if (ingress.length === 1 && ingress[0].ip === fip.floating_ip_address) return;
    await this.writeIngress(svc, [{ ip: fip.floating_ip_address, ipMode: "VIP" }]);
  }

  private async clearIngress(svc: KubeObject): Promise<void> {
    if (!svc.status?.loadBalancer?.ingress?.length) return;
    await this.writeIngress(svc, []);
  }

  private async writeIngress(svc: KubeObject, ingress: unknown[]): Promise<void> {
    try {
      const out = await this.d.client.patch(
        SERVICES,
        svc.metadata.namespace!,
        svc.metadata.name!,
        "merge",
        // The uid is a precondition, as in metadataPatch.
        { metadata: { uid: svc.metadata.uid }, status: { loadBalancer: { ingress } } },
        { subresource: "status" },
      );
      this.writes.record(objectKey(svc), out);
    } catch (err) {
      if (!isObjectGone(err)) throw err;
    }
  }

  /** Removes everything the backend holds for a Service UID (never its pods or their ports). */
  private async release(uid: string): Promise<void> {
    this.reportedIgnored.delete(uid);
    for (const f of this.d.backend.findFloatingIps(uid)) await this.d.backend.deleteFloatingIp(f.id);
    const lb = this.d.backend.findLoadBalancer(uid);
    if (lb) {
      await this.d.backend.deleteLoadBalancer(lb.loadbalancer.id);
      this.d.metrics.backendOps.inc({ op: "deleteLoadBalancer", result: "ok" });
    }
    // Ports the Service itself owns: a VIP port whose load balancer was never made (Neutron).
    for (const p of this.d.backend.findPorts(uid)) await this.d.backend.deletePort(p.id);
  }

  private async patch(svc: KubeObject, want: MetadataWant): Promise<void> {
    const body = metadataPatch(svc, want);
    if (!body) return;
    try {
      const out = await this.d.client.patch(
        SERVICES,
        svc.metadata.namespace!,
        svc.metadata.name!,
        "strategic",
        body,
      );
      this.writes.record(objectKey(svc), out);
    } catch (err) {
      if (!isObjectGone(err)) throw err;
    }
  }
}
