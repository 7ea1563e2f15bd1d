// Annotation keys and values. Keys live under a configurable prefix (default raven.io); the
// "kuryr" naming with prefix kuryr.org reproduces the seeds' keys literally
// (kuryr.org/neutron-port, kuryr.org/neutron-subnet, kuryr.org/neutron-vip, ...). Values are
// JSON in Neutron's shapes, with a fixed key order so equal states give equal strings.
import type { FloatingIp, LoadBalancerState, Port, Subnet } from "../sdn/model.ts";

export type AnnotationNaming = "raven" | "kuryr";

export interface AnnotationKeys {
  port: string;
  subnet: string;
  lbVip: string;
  lbPool: string;
  floatingIp: string;
  /** Set by users on a pod to ask for a static IP. */
  requestedIp: string;
  /** Finalizers Raven puts on the objects whose backend state it must clean up. */
  podFinalizer: string;
  serviceFinalizer: string;
  namespaceFinalizer: string;
}

export function annotationKeys(prefix = "raven.io", naming: AnnotationNaming = "raven"): AnnotationKeys {
  const n =
    naming === "kuryr"
      ? {
          port: "neutron-port",
          subnet: "neutron-subnet",
          lbVip: "neutron-vip",
          lbPool: "neutron-pool",
          floatingIp: "neutron-floating-ip",
        }
      : { port: "port", subnet: "subnet", lbVip: "lb-vip", lbPool: "lb-pool", floatingIp: "floating-ip" };
  return {
    port: `${prefix}/${n.port}`,
    subnet: `${prefix}/${n.subnet}`,
    lbVip: `${prefix}/${n.lbVip}`,
    lbPool: `${prefix}/${n.lbPool}`,
    floatingIp: `${prefix}/${n.floatingIp}`,
    requestedIp: `${prefix}/ip`,
    podFinalizer: `${prefix}/port-cleanup`,
    serviceFinalizer: `${prefix}/lb-cleanup`,
    namespaceFinalizer: `${prefix}/network-cleanup`,
  };
}

export function portAnnotation(p: Port): string {
  return JSON.stringify({
    id: p.id,
    name: p.name,
    network_id: p.network_id,
    mac_address: p.mac_address,
    fixed_ips: p.fixed_ips.map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })),
    status: p.status,
    admin_state_up: p.admin_state_up,
    device_id: p.device_id,
    device_owner: p.device_owner,
    "binding:host_id": p["binding:host_id"],
    tenant_id: p.tenant_id,
  });
}

export function subnetAnnotation(s: Subnet): string {
  return JSON.stringify({
    id: s.id,
    name: s.name,
    network_id: s.network_id,
    cidr: s.cidr,
    gateway_ip: s.gateway_ip,
    allocation_pools: s.allocation_pools.map((p) => ({ start: p.start, end: p.end })),
    ip_version: s.ip_version,
    enable_dhcp: s.enable_dhcp,
    host_routes: s.host_routes,
    dns_nameservers: s.dns_nameservers,
    tenant_id: s.tenant_id,
  });
}

/**
 * The VIP, as the seeds' `neutron-vip` (address, protocol and port of the first listener,
 * its pool), plus every listener for multi-port Services.
 */
export function lbVipAnnotation(lb: LoadBalancerState): string {
  const first = lb.listeners[0];
  return JSON.stringify({
    id: lb.loadbalancer.id,
    name: lb.loadbalancer.name,
    address: lb.loadbalancer.vip_address,
    subnet_id: lb.loadbalancer.vip_subnet_id,
    port_id: lb.loadbalancer.vip_port_id,
    protocol: first?.protocol ?? null,
    protocol_port: first?.protocol_port ?? null,
    pool_id: first?.default_pool_id ?? null,
    status: lb.loadbalancer.provisioning_status,
    listeners: lb.listeners.map((l) => ({
      id: l.id,
      name: l.name,
      protocol: l.protocol,
      protocol_port: l.protocol_port,
      pool_id: l.default_pool_id,
    })),
  });
}

/** The first listener's pool, as the seeds' `neutron-pool` (with the member ids). */
export function lbPoolAnnotation(lb: LoadBalancerState): string {
  const pool = lb.pools.find((p) => p.id === lb.listeners[0]?.default_pool_id) ?? lb.pools[0];
  if (!pool) return JSON.stringify(null);
  return JSON.stringify({
    id: pool.id,
    name: pool.name,
    protocol: pool.protocol,
    lb_method: pool.lb_algorithm,
    subnet_id: lb.loadbalancer.vip_subnet_id,
    provider: lb.loadbalancer.provider,
    status: pool.provisioning_status,
    members: pool.members.map((m) => m.id),
  });
}

export function floatingIpAnnotation(f: FloatingIp): string {
  return JSON.stringify({
    id: f.id,
    floating_ip_address: f.floating_ip_address,
    fixed_ip_address: f.fixed_ip_address,
    floating_network_id: f.floating_network_id,
    port_id: f.port_id,
    status: f.status,
  });
}
