// IPv4 address management as pure logic: CIDR arithmetic, allocation pools, picking a free
// address or subnet. Storage (who holds what) lives with the backend; this only decides.

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

/** An octet as written canonically: 0-255 without leading zeros. */
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
/** A canonical dotted-quad IPv4 address (no leading zeros, nothing around it). */
export const IPV4_PATTERN = `^(?:${OCTET}\\.){3}${OCTET}$`;
/** A canonical IPv4 CIDR (address as above, prefix 0-32 without leading zeros). */
export const IPV4_CIDR_PATTERN = `^(?:${OCTET}\\.){3}${OCTET}/(?:3[0-2]|[12]?[0-9])$`;
const IPV4_RE = new RegExp(IPV4_PATTERN);

/**
 * A canonical IPv4 address as an unsigned 32-bit integer; undefined for anything else. Leading
 * zeros are refused, not read: `192.168.0.010` is 192.168.0.8 to inet_aton and 192.168.0.10 to
 * Go, so two components could disagree about which address it names.
 */
export function parseIpv4(ip: string): number | undefined {
  if (!IPV4_RE.test(ip)) return undefined;
  const p = ip.split(".").map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/**
 * Some input's canonical IPv4 address: surrounding blanks and the IPv4-mapped IPv6 form
 * (`::ffff:10.0.0.1`) are unambiguous and taken; anything else that is not canonical (leading
 * zeros, other IPv6, garbage) is an error that says what to write instead.
 */
export function canonicalIpv4(text: string): { ip: string } | { error: string } {
  let s = text.trim();
  const mapped = /^::ffff:(.*)$/i.exec(s);
  if (mapped) s = mapped[1];
  if (parseIpv4(s) !== undefined) return { ip: s };
  const parts = s.split(".");
  if (parts.length === 4 && parts.every((x) => /^[0-9]{1,3}$/.test(x) && Number(x) <= 255))
    return {
      error: `"${text}" has leading zeros, which tools read differently (octal or decimal); write ${parts.map(Number).join(".")}`,
    };
  return { error: `"${text}" is not an IPv4 address` };
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseCidr(text: string): Ipv4Cidr | undefined {
  const m = /^([\d.]+)\/(3[0-2]|[12]?[0-9])$/.exec(text);
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

/** A free address, and when it was last released (undefined: not since this process knows). */
export interface AddressChoice {
  ip: string;
  releasedAt?: number;
}

/**
 * The free address to hand out next: the lowest one never released (as far as `released`
 * knows), else the least recently released one, so an address a pod just gave up goes back
 * out as late as possible (its old connections' packets, and peers' caches of it, die first).
 * `released` maps address -> its release time, in release order (oldest first).
 */
export function chooseFreeIp(
  pools: { start: string; end: string }[],
  used: ReadonlySet<string>,
  gateway: string | null | undefined,
  released: ReadonlyMap<string, { at: number }>,
): AddressChoice | undefined {
  for (const p of pools) {
    const end = parseIpv4(p.end)!;
    for (let n = parseIpv4(p.start)!; n <= end; n++) {
      const ip = formatIpv4(n);
      if (ip !== gateway && !used.has(ip) && !released.has(ip)) return { ip };
    }
  }
  for (const [ip, { at }] of released)
    if (!used.has(ip) && isAssignable(ip, pools, gateway)) return { ip, releasedAt: at };
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

/**
 * The Neutron subnet for a Kubernetes service CIDR (Kuryr's layout): twice its size, so the
 * ClusterIPs keep their half to themselves and the other half holds the router's interface (its
 * last usable address, the gateway) and whatever Neutron allocates on its own (the pools).
 */
export function serviceSubnetLayout(serviceCidr: string): {
  cidr: string;
  gateway: string;
  pools: { start: string; end: string }[];
} {
  const c = parseCidr(serviceCidr);
  if (!c || c.prefix < 1 || c.prefix > 29) throw new Error(`${serviceCidr}: not a service CIDR of /1 to /29`);
  const parent: Ipv4Cidr = { base: (c.base & maskOf(c.prefix - 1)) >>> 0, prefix: c.prefix - 1 };
  const other = parent.base === c.base ? c.base + cidrSize(c) : parent.base;
  const last = other + cidrSize(c) - 1;
  return {
    cidr: formatCidr(parent),
    gateway: formatIpv4(last - 1),
    pools: [{ start: formatIpv4(other + (other === parent.base ? 1 : 0)), end: formatIpv4(last - 2) }],
  };
}

/**
 * The external subnet Raven makes itself (the sandbox's; a real cloud's is its operator's): no
 * gateway, its last usable address kept for the router's gateway, the rest for floating IPs.
 */
export function externalSubnetLayout(cidr: string): {
  cidr: string;
  gateway: null;
  pools: { start: string; end: string }[];
  router: string;
} {
  const { pools } = defaultLayout(cidr);
  const end = parseIpv4(pools[0].end)!;
  return {
    cidr,
    gateway: null,
    pools: [{ start: pools[0].start, end: formatIpv4(end - 1) }],
    router: formatIpv4(end),
  };
}

/** A CIDR minus the CIDRs in `except`, as inclusive ranges of addresses (numbers). */
export function cidrMinus(cidr: string, except: string[] = []): [number, number][] {
  const c = parseCidr(cidr);
  if (!c) return [];
  let parts: [number, number][] = [[c.base, c.base + cidrSize(c) - 1]];
  for (const e of except) {
    const x = parseCidr(e);
    if (!x) continue;
    const [xa, xb] = [x.base, x.base + cidrSize(x) - 1];
    parts = parts.flatMap(([a, z]): [number, number][] => {
      if (xb < a || xa > z) return [[a, z]];
      const keep: [number, number][] = [];
      if (xa > a) keep.push([a, xa - 1]);
      if (xb < z) keep.push([xb + 1, z]);
      return keep;
    });
  }
  return parts;
}

/** Inclusive ranges sorted and merged where they overlap or touch. */
export function mergeRanges(ranges: [number, number][]): [number, number][] {
  const merged: [number, number][] = [];
  for (const r of [...ranges].sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}
