// ClusterIP and NodePort allocation. Each allocated value is an etcd key written in the same
// transaction as the Service (create-if-absent), so two Services can never share one, even
// across concurrent requests or a crash between steps.
import type { Op } from "../etcd/client.ts";
import { type FieldError, invalid } from "./errors.ts";

export const SERVICE_IP_PREFIX = "/registry/ranges/serviceips/";
export const NODE_PORT_PREFIX = "/registry/ranges/servicenodeports/";

export interface Cidr {
  base: number;
  bits: number;
  text: string;
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(text);
  if (!m) throw new Error(`invalid CIDR ${text}`);
  const bits = Number(m[5]);
  const ip = ipToInt(`${m[1]}.${m[2]}.${m[3]}.${m[4]}`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ip & mask) >>> 0, bits, text };
}

export function ipToInt(ip: string): number {
  const p = ip.split(".").map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function cidrContains(c: Cidr, ip: string): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const size = 2 ** (32 - c.bits);
  const n = ipToInt(ip);
  return n >= c.base && n < c.base + size;
}

/** Allocation state derived from the stored Services; reservations bridge in-flight creates. */
export class ServiceAllocator {
  readonly cidr: Cidr;
  readonly nodePortMin: number;
  readonly nodePortMax: number;
  private next = 0;
  private nextPort = 0;

  constructor(serviceCidr: string, nodePorts: [number, number] = [30000, 32767]) {
    this.cidr = parseCidr(serviceCidr);
    this.nodePortMin = nodePorts[0];
    this.nodePortMax = nodePorts[1];
  }

  /**
   * Picks a free ClusterIP given the IPs in use. Network and broadcast addresses are skipped,
   * and the first host address is reserved for the `kubernetes` Service as upstream does.
   */
  pickIp(used: Set<string>): string | undefined {
    const size = 2 ** (32 - this.cidr.bits);
    const first = 2;
    const count = size - 3;
    if (count <= 0) return undefined;
    for (let i = 0; i < count; i++) {
      const off = first + ((this.next + i) % count);
      const ip = intToIp(this.cidr.base + off);
      if (!used.has(ip)) {
        // Rotate through the range like upstream's random start, but deterministically.
        this.next = (off - first + 1) % count;
        return ip;
      }
    }
    return undefined;
  }

  pickNodePort(used: Set<number>): number | undefined {
    const count = this.nodePortMax - this.nodePortMin + 1;
    for (let i = 0; i < count; i++) {
      const p = this.nodePortMin + ((this.nextPort + i) % count);
      if (!used.has(p)) {
        this.nextPort = (p - this.nodePortMin + 1) % count;
        return p;
      }
    }
    return undefined;
  }

  /** Validates a user-requested ClusterIP against the range. */
  checkRequestedIp(ip: string): FieldError | undefined {
    if (!cidrContains(this.cidr, ip))
      return invalid(
        "spec.clusterIPs",
        [ip],
        `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr.text}`,
      );
    return undefined;
  }
}

export interface Allocation {
  ops: Op[];
  /** Keys that must not exist yet (checked atomically by the create/update transaction). */
  mustNotExist: string[];
}

export const ipKey = (ip: string) => SERVICE_IP_PREFIX + ip;
export const portKey = (port: number) => NODE_PORT_PREFIX + port;

export function serviceNeedsNodePorts(svc: any): boolean {
  const t = svc.spec?.type;
  if (t === "NodePort") return true;
  return t === "LoadBalancer" && svc.spec?.allocateLoadBalancerNodePorts !== false;
}

/** The allocation keys a stored Service holds (released when it goes). */
export function heldKeys(svc: any): string[] {
  const keys: string[] = [];
  for (const ip of svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []))
    if (ip && ip !== "None") keys.push(ipKey(ip));
  for (const p of svc.spec?.ports ?? []) if (p.nodePort) keys.push(portKey(p.nodePort));
  return [...new Set(keys)];
}
