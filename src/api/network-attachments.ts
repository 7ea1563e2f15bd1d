// The Network Plumbing Working Group's pod annotations, parsed and formatted here (as
// annotations.ts does Raven's own): the selection a user writes,
// `k8s.v1.cni.cncf.io/networks`, in its comma form (`data`, `other-ns/data`, `data@eth5`) and
// its JSON form (`name`, `namespace`, `interface`, `ips`, `mac`, `default-route`); and the
// status raven-agent writes, `k8s.v1.cni.cncf.io/network-status`. A selection is taken whole or
// not at all: any bad entry is an AnnotationError naming it, and nothing of it is used.
import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";
import { AnnotationError } from "./annotations.ts";

export const NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks";
export const NETWORK_STATUS_ANNOTATION = "k8s.v1.cni.cncf.io/network-status";

/** One attachment a pod asks for. */
export interface AttachmentRequest {
  /** The NetworkAttachmentDefinition's namespace (the pod's unless the entry names one). */
  namespace: string;
  name: string;
  /** The interface in the pod: as asked, else `net` + md5(name)'s first 12 hex digits. */
  interface: string;
  /** Addresses with prefix (CIDR), handed to the plugin as runtimeConfig.ips. */
  ips?: string[];
  /** Handed to the plugin as runtimeConfig.mac. */
  mac?: string;
  /** Gateways to make default routes through this interface. */
  defaultRoute?: string[];
}

/** An attachment's identity: the same network twice needs two interface names. */
export const attachmentKey = (a: Pick<AttachmentRequest, "namespace" | "name" | "interface">) =>
  `${a.namespace}/${a.name}@${a.interface}`;

/** Kactus's (and seed 003's) interface name: `data` -> `net8d777f385d3d`. */
export function defaultInterfaceName(name: string): string {
  return `net${createHash("md5").update(name).digest("hex").slice(0, 12)}`;
}

// DNS-1123: a NetworkAttachmentDefinition's name (subdomain) and a namespace (label).
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

/** Why `name` cannot be a Linux interface name (IFNAMSIZ 16 with the NUL), if it cannot. */
function badInterfaceName(name: string): string | undefined {
  if (name.length === 0 || name.length > 15) return "must be 1 to 15 characters";
  if (name === "." || name === "..") return "must not be . or ..";
  if (/[/:\s]/.test(name)) return "must not contain '/', ':' or blanks";
  return undefined;
}

function isCidr(text: string): boolean {
  const slash = text.indexOf("/");
  if (slash < 0) return false;
  const ip = text.slice(0, slash);
  const len = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len)) return false;
  if (isIPv4(ip)) return Number(len) <= 32;
  return isIPv6(ip) && Number(len) <= 128;
}

const JsonEntry = z
  .object({
    name: z.string(),
    namespace: z.string().optional(),
    interface: z.string().optional(),
    ips: z.array(z.string()).optional(),
    mac: z.string().optional(),
    "default-route": z.array(z.string()).optional(),
  })
  .passthrough();

/**
 * The attachments a pod's selection asks for, in order; [] when there is none. Throws an
 * AnnotationError naming every bad entry (a bad name, IP, MAC or interface name, or two
 * entries on one interface), so a bad change is refused whole.
 */
export function parseNetworkSelection(text: string | undefined, podNamespace: string): AttachmentRequest[] {
  if (text === undefined || text.trim() === "") return [];
  const trimmed = text.trim();
  const raw = trimmed.startsWith("[") ? jsonEntries(trimmed) : commaEntries(trimmed);
  const problems: string[] = [];
  const out: AttachmentRequest[] = [];
  const seen = new Map<string, number>();
  raw.forEach((e, i) => {
    const where = `entry ${i + 1} (${e.name || "no name"})`;
    const namespace = e.namespace ?? podNamespace;
    const iface = e.interface ?? defaultInterfaceName(e.name);
    if (!SUBDOMAIN.test(e.name) || e.name.length > 253)
      problems.push(`${where}: name "${e.name}" is not a valid object name`);
    if (!LABEL.test(namespace) || namespace.length > 63)
      problems.push(`${where}: namespace "${namespace}" is not a valid namespace name`);
    const badIface = badInterfaceName(iface);
    if (badIface) problems.push(`${where}: interface "${iface}" ${badIface}`);
    else if (iface === "eth0") problems.push(`${where}: interface eth0 is the pod's primary interface`);
    for (const ip of e.ips ?? [])
      if (!isCidr(ip))
        problems.push(`${where}: ips entry "${ip}" is not an address with a prefix (10.1.1.5/24)`);
    if (e.mac !== undefined && !MAC.test(e.mac))
      problems.push(`${where}: mac "${e.mac}" is not a MAC address`);
    for (const gw of e.defaultRoute ?? [])
      if (!isIPv4(gw) && !isIPv6(gw))
        problems.push(`${where}: default-route entry "${gw}" is not an IP address`);
    const first = seen.get(iface);
    if (first !== undefined) problems.push(`${where}: interface ${iface} is also entry ${first + 1}'s`);
    else seen.set(iface, i);
    out.push({
      namespace,
      name: e.name,
      interface: iface,
      ...(e.ips?.length ? { ips: e.ips } : {}),
      ...(e.mac ? { mac: e.mac.toLowerCase() } : {}),
      ...(e.defaultRoute?.length ? { defaultRoute: e.defaultRoute } : {}),
    });
  });
  if (problems.length) throw new AnnotationError(NETWORKS_ANNOTATION, problems.join("; "));
  return out;
}

type RawEntry = {
  name: string;
  namespace?: string;
  interface?: string;
  ips?: string[];
  mac?: string;
  defaultRoute?: string[];
};

function jsonEntries(text: string): RawEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AnnotationError(NETWORKS_ANNOTATION, `not JSON (${(err as Error).message})`);
  }
  const list = z.array(JsonEntry).safeParse(value);
  if (!list.success)
    throw new AnnotationError(
      NETWORKS_ANNOTATION,
      list.error.issues.map((i) => `${i.path.map(String).join(".") || "value"}: ${i.message}`).join("; "),
    );
  return list.data.map((e) => ({
    name: e.name,
    namespace: e.namespace,
    interface: e.interface,
    ips: e.ips,
    mac: e.mac,
    defaultRoute: e["default-route"],
  }));
}

/** `data`, `other-ns/data`, `data@eth5`, comma-separated. */
function commaEntries(text: string): RawEntry[] {
  return text.split(",").map((part, i) => {
    const entry = part.trim();
    if (!entry) throw new AnnotationError(NETWORKS_ANNOTATION, `entry ${i + 1} is empty`);
    const at = entry.indexOf("@");
    const ref = at < 0 ? entry : entry.slice(0, at);
    const iface = at < 0 ? undefined : entry.slice(at + 1);
    const slash = ref.indexOf("/");
    return slash < 0
      ? { name: ref, interface: iface }
      : { namespace: ref.slice(0, slash), name: ref.slice(slash + 1), interface: iface };
  });
}

/** One interface in `network-status`, as the NPWG spec has it. */
export interface NetworkStatusEntry {
  /** `<namespace>/<name>` of the attachment, or the cluster network's name for the primary. */
  name: string;
  interface: string;
  ips: string[];
  mac?: string;
  /** True for the pod's primary (cluster) interface only. */
  default: boolean;
}

const StatusSchema = z.array(
  z.object({
    name: z.string(),
    interface: z.string(),
    ips: z.array(z.string()).default([]),
    mac: z.string().optional(),
    default: z.boolean().default(false),
  }),
);

/** The status annotation's value: the primary first, then the attachments in the given order. */
export function formatNetworkStatus(entries: NetworkStatusEntry[]): string {
  return JSON.stringify(
    entries.map((e) => ({
      name: e.name,
      interface: e.interface,
      ips: e.ips,
      ...(e.mac ? { mac: e.mac } : {}),
      default: e.default,
    })),
  );
}

export function parseNetworkStatus(text: string | undefined): NetworkStatusEntry[] {
  if (text === undefined || text.trim() === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AnnotationError(NETWORK_STATUS_ANNOTATION, `not JSON (${(err as Error).message})`);
  }
  const out = StatusSchema.safeParse(value);
  if (!out.success) throw new AnnotationError(NETWORK_STATUS_ANNOTATION, out.error.message);
  return out.data;
}
