// How Raven marks what it owns in OpenStack, so that only its own objects are ever adopted or
// swept: the description, written in the create itself (Neutron takes no tags in a POST, and a
// crash between the create and the tag would leave an object no sweep could claim), says
// `raven cluster=<id> kind=<Kind> uid=<owner uid> ns=<namespace> purpose=<...>`; the tag
// `raven-cluster=<id>`, added right after, lets lists filter on the server. The owner's name is
// the object's own name (a port is named after its pod), or `name=` for objects without one.
import type { FloatingIpRole, NetworkPurpose, Owner } from "../model.ts";

export const clusterTag = (clusterId: string) => `raven-cluster=${clusterId}`;

/** What an object's description says beyond its owner. */
export interface Marks {
  purpose?: NetworkPurpose;
  role?: FloatingIpRole;
  /** A pooled port waiting for a pod (no owner yet). */
  pooled?: boolean;
  /** The owner's name, where the object's own name is not it (floating IPs, networks). */
  name?: string;
  /** A NetworkPolicy's security group: the directions its rules are for. */
  isolates?: ("ingress" | "egress")[];
}

export interface Ownership extends Marks {
  clusterId: string;
  owner: Owner;
}

const KINDS = new Set<Owner["kind"]>(["Namespace", "Pod", "Service", "Cluster", "NetworkPolicy"]);
const SAFE = /^[A-Za-z0-9._:/-]*$/;

/** The description of an object owned by `owner` (Neutron and Octavia keep up to 255 characters). */
export function describe(clusterId: string, owner: Owner, marks: Marks = {}): string {
  const fields: [string, string | undefined][] = [
    ["cluster", clusterId],
    ["kind", owner.kind],
    ["uid", owner.uid],
    ["ns", owner.namespace],
    ["purpose", marks.purpose],
    ["role", marks.role],
    ["pooled", marks.pooled ? "true" : undefined],
    ["name", marks.name],
    ["isolates", marks.isolates?.join("/")],
  ];
  for (const [k, v] of fields)
    if (v !== undefined && !SAFE.test(v))
      throw new Error(`ownership ${k} "${v}" has characters a description must not`);
  const text = `raven ${fields
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")}`;
  if (text.length > 255) throw new Error(`ownership description is ${text.length} characters (max 255)`);
  return text;
}

/** The ownership an object's description states, if it is Raven's; `name` is the owner's name. */
export function ownershipOf(description: string | undefined, name: string): Ownership | undefined {
  if (!description?.startsWith("raven ")) return undefined;
  const f = new Map<string, string>();
  for (const part of description.slice(6).split(" ")) {
    const i = part.indexOf("=");
    if (i > 0) f.set(part.slice(0, i), part.slice(i + 1));
  }
  const kind = f.get("kind") as Owner["kind"] | undefined;
  const clusterId = f.get("cluster");
  const uid = f.get("uid");
  if (!clusterId || !kind || !KINDS.has(kind) || !uid) return undefined;
  const purpose = f.get("purpose") as NetworkPurpose | undefined;
  const role = f.get("role") as FloatingIpRole | undefined;
  const isolates = f
    .get("isolates")
    ?.split("/")
    .filter((d): d is "ingress" | "egress" => d === "ingress" || d === "egress");
  return {
    clusterId,
    owner: { kind, namespace: f.get("ns") ?? "", name: f.get("name") ?? name, uid },
    ...(purpose ? { purpose } : {}),
    ...(role ? { role } : {}),
    ...(f.get("pooled") === "true" ? { pooled: true } : {}),
    ...(isolates ? { isolates } : {}),
  };
}
