// IPv4 address management as pure logic: CIDR arithmetic, allocation pools, picking a free
// address or subnet. Storage (who holds what) lives with the backend; this only decides.

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

export function parseIpv4(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseCidr(text: string): Ipv4Cidr | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const ip = parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  return { base: (ip & maskOf(prefix)) >>> 0, prefix };
}

export const formatCidr = (c: Ipv4Cidr) => `${formatIpv4(c.base)}/${c.prefix}`;

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export const cidrSize = (c: Ipv4Cidr) => 2 ** (32 - c.prefix);

export function cidrContains(c: Ipv4Cidr, ip: string): boolean {
  const n = parseIpv4(ip);
  return n !== undefined && n >= c.base && n < c.base + cidrSize(c);
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.base < b.base + cidrSize(b) && b.base < a.base + cidrSize(a);
}

/** Neutron's defaults: gateway = first host; pool = the rest without network and broadcast. */
export function defaultLayout(cidr: string): { gateway: string; pools: { start: string; end: string }[] } {
  const c = parseCidr(cidr);
  if (!c || c.prefix > 30) throw new Error(`subnet ${cidr} is too small (need at least a /30)`);
  const first = c.base + 1;
  const last = c.base + cidrSize(c) - 2;
  return { gateway: formatIpv4(first), pools: [{ start: formatIpv4(first + 1), end: formatIpv4(last) }] };
}

/** Is `ip` one the subnet may hand out (in a pool; never network, broadcast or gateway)? */
export function isAssignable(
  ip: string,
  pools: { start: string; end: string }[],
  gateway?: string | null,
): boolean {
  const n = parseIpv4(ip);
  if (n === undefined || ip === gateway) return false;
  return pools.some((p) => n >= parseIpv4(p.start)! && n <= parseIpv4(p.end)!);
}

/**
 * The lowest free address of the pools (deterministic, like Neutron's non-random IPAM and
 * the seeds' 192.168.0.2, .3, ...), skipping `used`; undefined when the pools are exhausted.
 */
export function firstFreeIp(
  pools: { start: string; end: string }[],
  used: ReadonlySet<string>,
  gateway?: string | null,
): string | undefined {
  for (const p of pools) {
    const end = parseIpv4(p.end)!;
    for (let n = parseIpv4(p.start)!; n <= end; n++) {
      const ip = formatIpv4(n);
      if (ip !== gateway && !used.has(ip)) return ip;
    }
  }
  return undefined;
}

/** Addresses the pools can hand out in total. */
export function poolCapacity(pools: { start: string; end: string }[], gateway?: string | null): number {
  let n = 0;
  for (const p of pools) n += parseIpv4(p.end)! - parseIpv4(p.start)! + 1;
  if (gateway && isAssignable(gateway, pools)) n--;
  return n;
}

/**
 * The first `prefix`-sized block of `pool` that overlaps none of `taken` (subnet carving for
 * namespace networks); undefined when the pool is full.
 */
export function firstFreeSubnet(pool: string, prefix: number, taken: string[]): string | undefined {
  const p = parseCidr(pool);
  if (!p || prefix < p.prefix) return undefined;
  const used = taken.map(parseCidr).filter((c): c is Ipv4Cidr => c !== undefined);
  const step = 2 ** (32 - prefix);
  for (let base = p.base; base < p.base + cidrSize(p); base += step) {
    const cand = { base, prefix };
    if (!used.some((u) => cidrsOverlap(u, cand))) return formatCidr(cand);
  }
  return undefined;
}

/** `192.168.0.5` -> `192-168-0-5`: an address as a Kubernetes object name. */
export const ipToName = (ip: string) => ip.replace(/\./g, "-");

/** `192.168.1.0/24` -> `192-168-1-0-24`. */
export const cidrToName = (cidr: string) => cidr.replace(/[./]/g, "-");

/** Neutron-style MAC (fa:16:3e prefix) derived from the address, so it is unique wherever the IP is. */
export function macForIp(ip: string): string {
  const n = parseIpv4(ip)!;
  const b = [(n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((x) => x.toString(16).padStart(2, "0"));
  return `fa:16:3e:${b.join(":")}`;
}
