// The annotation contract: every annotation Raven writes or reads, formatted AND parsed here.
// raven-controller writes through the formatters; the virtual nodes, raven-agent and raven-cni
// read through the parsers, which validate (zod) and fail with an AnnotationError naming the
// key and the field. There is no second parser anywhere.
//
// Keys live under a configurable prefix (default raven.io); the "kuryr" naming with prefix
// kuryr.org reproduces the seeds' keys literally (kuryr.org/neutron-port, ...). Values are JSON
// in Neutron's shapes, with a fixed key order so equal states give equal strings.
import { z } from "zod";
import { canonicalIpv4, IPV4_CIDR_PATTERN, IPV4_PATTERN } from "../sdn/ipam.ts";
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
  /** The ports of a pod's attachments to Raven networks, by interface name. */
  attachments: string;
  /**
   * Finalizers earlier versions put on pods, Services and namespaces. Raven no longer adds
   * them (orphan sweeping and owner references clean up after deleted objects); it removes them
   * where it finds them, and `raven controller --uninstall` removes them everywhere.
   */
  legacyFinalizers: { pod: string; service: string; namespace: string };
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
    attachments: `${prefix}/${naming === "kuryr" ? "neutron-attachments" : "attachments"}`,
    legacyFinalizers: {
      pod: `${prefix}/port-cleanup`,
      service: `${prefix}/lb-cleanup`,
      namespace: `${prefix}/network-cleanup`,
    },
  };
}

/** An annotation that is missing or does not hold what its key promises. */
export class AnnotationError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`annotation ${key}: ${message}`);
    this.key = key;
  }
}

// ---- schemas -------------------------------------------------------------------------------

const ipv4 = z.string().regex(new RegExp(IPV4_PATTERN), "not a canonical IPv4 address");
const cidr = z.string().regex(new RegExp(IPV4_CIDR_PATTERN), "not a canonical IPv4 CIDR");
const mac = z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, "not a lower-case MAC address");
const id = z.string().min(1);
const protocol = z.enum(["TCP", "UDP"]);

export const PortAnnotationSchema = z.object({
  id,
  name: z.string(),
  network_id: id,
  mac_address: mac,
  fixed_ips: z.array(z.object({ subnet_id: id, ip_address: ipv4 })).min(1),
  status: z.enum(["ACTIVE", "DOWN", "BUILD"]),
  admin_state_up: z.boolean(),
  device_id: z.string(),
  device_owner: z.string(),
  "binding:host_id": z.string().nullable(),
  tenant_id: z.string(),
});
export type PortAnnotation = z.infer<typeof PortAnnotationSchema>;

export const SubnetAnnotationSchema = z.object({
  id,
  name: z.string(),
  network_id: id,
  cidr,
  gateway_ip: ipv4.nullable(),
  allocation_pools: z.array(z.object({ start: ipv4, end: ipv4 })),
  ip_version: z.literal(4),
  enable_dhcp: z.boolean(),
  host_routes: z.array(z.unknown()),
  dns_nameservers: z.array(z.string()),
  tenant_id: z.string(),
});
export type SubnetAnnotation = z.infer<typeof SubnetAnnotationSchema>;

export const LbVipAnnotationSchema = z.object({
  id,
  name: z.string(),
  address: ipv4,
  subnet_id: id,
  port_id: z.string(),
  protocol: protocol.nullable(),
  protocol_port: z.number().int().nullable(),
  pool_id: z.string().nullable(),
  status: z.string(),
  listeners: z.array(
    z.object({
      id,
      name: z.string(),
      protocol,
      protocol_port: z.number().int().min(1).max(65535),
      pool_id: z.string(),
    }),
  ),
});
export type LbVipAnnotation = z.infer<typeof LbVipAnnotationSchema>;

export const LbPoolAnnotationSchema = z
  .object({
    id,
    name: z.string(),
    protocol,
    lb_method: z.string(),
    subnet_id: id,
    provider: z.string(),
    status: z.string(),
    members: z.array(id),
  })
  .nullable();
export type LbPoolAnnotation = z.infer<typeof LbPoolAnnotationSchema>;

export const FloatingIpAnnotationSchema = z.object({
  id,
  floating_ip_address: ipv4,
  fixed_ip_address: ipv4.nullable(),
  floating_network_id: id,
  port_id: z.string().nullable(),
  status: z.enum(["ACTIVE", "DOWN"]),
});
export type FloatingIpAnnotation = z.infer<typeof FloatingIpAnnotationSchema>;

// ---- formatting (what raven-controller writes) ----------------------------------------------

export function formatPortAnnotation(p: Port): string {
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
  } satisfies PortAnnotation);
}

/** The ports of a pod's Raven-network attachments, by interface (keys sorted). */
export function formatAttachmentsAnnotation(ports: Map<string, Port>): string {
  return JSON.stringify(
    Object.fromEntries(
      [...ports.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([iface, p]) => [iface, JSON.parse(formatPortAnnotation(p))]),
    ),
  );
}

export function formatSubnetAnnotation(s: Subnet): string {
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
  } satisfies SubnetAnnotation);
}

/**
 * The VIP, as the seeds' `neutron-vip` (address, protocol and port of the first listener,
 * its pool), plus every listener for multi-port Services.
 */
export function formatLbVipAnnotation(lb: LoadBalancerState): string {
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
  } satisfies LbVipAnnotation);
}

/** The first listener's pool, as the seeds' `neutron-pool` (with the member ids). */
export function formatLbPoolAnnotation(lb: LoadBalancerState): string {
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
  } satisfies LbPoolAnnotation);
}

export function formatFloatingIpAnnotation(f: FloatingIp): string {
  return JSON.stringify({
    id: f.id,
    floating_ip_address: f.floating_ip_address,
    fixed_ip_address: f.fixed_ip_address,
    floating_network_id: f.floating_network_id,
    port_id: f.port_id,
    status: f.status,
  } satisfies FloatingIpAnnotation);
}

// ---- parsing (what the readers get) -----------------------------------------------------------

function parseJson<S extends z.ZodType>(schema: S, key: string, text: string | undefined): z.infer<S> {
  if (text === undefined) throw new AnnotationError(key, "not set");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AnnotationError(key, `not JSON (${(err as Error).message})`);
  }
  const out = schema.safeParse(value);
  if (!out.success) throw new AnnotationError(key, describeIssues(out.error));
  return out.data;
}

/** `fixed_ips.0.ip_address: not a canonical IPv4 address; ...`: every problem, with its path. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length ? `${i.path.map(String).join(".")}: ${i.message}` : i.message))
    .join("; ");
}

export const AttachmentsAnnotationSchema = z.record(z.string(), PortAnnotationSchema);
export type AttachmentsAnnotation = z.infer<typeof AttachmentsAnnotationSchema>;
export const parseAttachmentsAnnotation = (key: string, text: string | undefined): AttachmentsAnnotation =>
  parseJson(AttachmentsAnnotationSchema, key, text);
export const parsePortAnnotation = (key: string, text: string | undefined): PortAnnotation =>
  parseJson(PortAnnotationSchema, key, text);
export const parseSubnetAnnotation = (key: string, text: string | undefined): SubnetAnnotation =>
  parseJson(SubnetAnnotationSchema, key, text);
export const parseLbVipAnnotation = (key: string, text: string | undefined): LbVipAnnotation =>
  parseJson(LbVipAnnotationSchema, key, text);
export const parseLbPoolAnnotation = (key: string, text: string | undefined): LbPoolAnnotation =>
  parseJson(LbPoolAnnotationSchema, key, text);
export const parseFloatingIpAnnotation = (key: string, text: string | undefined): FloatingIpAnnotation =>
  parseJson(FloatingIpAnnotationSchema, key, text);

/**
 * The static IP a user asked for (`raven.io/ip: 192.168.0.7`), canonical; undefined when the
 * annotation is absent or empty. Blanks and the IPv4-mapped form are taken; leading zeros and
 * anything else are an AnnotationError saying what to write.
 */
export function parseRequestedIp(key: string, text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const c = canonicalIpv4(text);
  if ("error" in c) throw new AnnotationError(key, c.error);
  return c.ip;
}
