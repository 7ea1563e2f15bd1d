// Service -> load balancer (+ floating IPs). A Service with a selector and a ClusterIP gets a
// VIP at its ClusterIP, one listener and ROUND_ROBIN pool per TCP/UDP port, and one member
// per ready endpoint (from EndpointSlices). The first spec.externalIPs entry inside the
// external subnet becomes a floating IP on the VIP; type LoadBalancer gets one from the pool
// and status.loadBalancer.ingress.

import { isObjectGone } from "../kube/errors.ts";
import { type KubeObject, objectKey } from "../kube/objects.ts";
import { SERVICES } from "../kube/resource.ts";
import { type ListenerRequest, SdnError } from "../sdn/backend.ts";
import { cidrContains, parseCidr } from "../sdn/ipam.ts";
import type { FloatingIp, LbProtocol, LoadBalancerState } from "../sdn/model.ts";
import { floatingIpAnnotation, lbPoolAnnotation, lbVipAnnotation } from "./annotations.ts";
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
    spec.clusterIP !== "None" &&
    Object.keys(spec.selector ?? {}).length > 0
  );
}

/** The ready endpoints of one Service port, from the Service's EndpointSlices. */
export function membersFor(
  slices: KubeObject[],
  servicePort: { name?: string; protocol?: string },
  subnetOf: (endpoint: any) => string | undefined,
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
      const subnetId = subnetOf(ep);
      if (!subnetId) continue;
      for (const address of ep.addresses ?? []) {
        const id = `${address}:${port.port}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push({ name: ep.targetRef?.name ?? address, address, port: port.port, subnetId });
      }
    }
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
}

export class ServiceReconciler {
  private readonly d: ControllerDeps;
  private readonly gone = new GoneUids();
  /** The externalIPs last reported as ignored, per Service UID (to report each change once). */
  private readonly reportedIgnored = new Map<string, string>();
  /** Our latest Service writes, so a sync on a cache that has not seen them yet is skipped. */
  private readonly writes = new OwnWrites();

  constructor(deps: ControllerDeps) {
    this.d = deps;
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
    if (!wantsLoadBalancer(svc)) {
      await this.release(svc.metadata.uid!);
      await this.clearIngress(svc);
      await this.patch(svc, {
        annotations: { [k.lbVip]: null, [k.lbPool]: null, [k.floatingIp]: null },
        finalizer: { name: k.serviceFinalizer, present: false },
      });
      return;
    }
    // The finalizer goes on before anything is created for the Service.
    await this.patch(svc, { finalizer: { name: k.serviceFinalizer, present: true } });
    const lb = await this.ensureLoadBalancer(svc);
    const externalFip = await this.ensureExternalIpFip(svc, lb);
    await this.ensureLoadBalancerIngress(svc, lb);
    await this.patch(svc, {
      annotations: {
        [k.lbVip]: lbVipAnnotation(lb),
        [k.lbPool]: lbPoolAnnotation(lb),
        [k.floatingIp]: externalFip ? floatingIpAnnotation(externalFip) : null,
      },
    });
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
    const subnetOf = (ep: any) => {
      const uid = ep.targetRef?.uid;
      const port = uid ? this.d.backend.findPorts(uid)[0] : undefined;
      return port?.fixed_ips[0]?.subnet_id ?? podNet?.subnet.id;
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
    const ips: string[] = svc.spec.externalIPs ?? [];
    const chosen = ips.find((ip) => cidrContains(external, ip));
    const ignored = ips.filter((ip) => ip !== chosen);
    if (this.reportedIgnored.get(svc.metadata.uid!) !== ignored.join(",")) {
      this.reportedIgnored.set(svc.metadata.uid!, ignored.join(","));
      for (const ip of ignored) {
        const why = cidrContains(external, ip)
          ? `only the first externalIPs entry inside ${this.d.config.externalCidr} (${chosen}) becomes a floating IP`
          : `it is outside the external subnet ${this.d.config.externalCidr}`;
        this.d.recorder.event(svc, "Warning", "ExternalIPIgnored", `external IP ${ip} ignored: ${why}`);
      }
    }
    const current = this.d.backend.findFloatingIps(svc.metadata.uid!).filter((f) => f.role === "external-ip");
    if (!chosen) {
      for (const f of current) await this.d.backend.deleteFloatingIp(f.id);
      return undefined;
    }
    try {
      return await this.d.backend.ensureFloatingIp({
        owner: ownerOf("Service", svc),
        role: "external-ip",
        address: chosen,
        fixedIpAddress: lb.loadbalancer.vip_address,
        loadBalancerId: lb.loadbalancer.id,
        vipPortId: lb.loadbalancer.vip_port_id,
      });
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

  /** type LoadBalancer: a floating IP from the pool, published in status.loadBalancer.ingress. */
  private async ensureLoadBalancerIngress(svc: KubeObject, lb: LoadBalancerState): Promise<void> {
    const current = this.d.backend
      .findFloatingIps(svc.metadata.uid!)
      .filter((f) => f.role === "load-balancer");
    if (svc.spec.type !== "LoadBalancer") {
      for (const f of current) await this.d.backend.deleteFloatingIp(f.id);
      await this.clearIngress(svc);
      return;
    }
    let fip: FloatingIp;
    try {
      fip = await this.d.backend.ensureFloatingIp({
        owner: ownerOf("Service", svc),
        role: "load-balancer",
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
