// The networking.k8s.io/v1 NetworkPolicy strategy, as upstream's: defaults (protocol TCP; policyTypes
// Ingress, plus Egress when egress rules are given), and validation of selectors, ports (a number
// or a named port; endPort only with a numeric port, never below it), peers (a selector or an
// ipBlock, never an ipBlock with another) and ipBlock CIDRs with their except (strict subsets).
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, forbidden, invalid, notSupported, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { isObject, objects, strings } from "./json.ts";
import { validateLabelSelector } from "./label-selector.ts";
import { dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { CIDR_ERROR, isValidCIDR, isValidPortName, isValidPortNum, parseIPv4, parseIPv6 } from "./names.ts";

const PROTOCOLS = ["TCP", "UDP", "SCTP"];
const POLICY_TYPES = ["Ingress", "Egress"];

function defaults(np: KubeObject): void {
  np.spec ??= {};
  const spec = np.spec;
  // A malformed spec is validation's to refuse.
  if (!isObject(spec)) return;
  spec.podSelector ??= {};
  for (const rule of [...objects(spec.ingress), ...objects(spec.egress)])
    for (const p of objects(rule.ports))
      if (p.protocol === undefined || p.protocol === null) p.protocol = "TCP";
  if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0)
    spec.policyTypes = Array.isArray(spec.egress) && spec.egress.length ? ["Ingress", "Egress"] : ["Ingress"];
}

function validatePort(p: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (p.protocol !== undefined && p.protocol !== null && !PROTOCOLS.includes(p.protocol))
    errs.push(notSupported(`${path}.protocol`, p.protocol, PROTOCOLS));
  const hasEnd = p.endPort !== undefined && p.endPort !== null;
  if (p.port !== undefined && p.port !== null) {
    if (typeof p.port === "number") {
      for (const msg of isValidPortNum(p.port)) errs.push(invalid(`${path}.port`, p.port, msg));
      if (hasEnd) {
        if (p.endPort < p.port)
          errs.push(invalid(`${path}.endPort`, p.endPort, "must be greater than or equal to `port`"));
        for (const msg of isValidPortNum(p.endPort)) errs.push(invalid(`${path}.endPort`, p.endPort, msg));
      }
    } else {
      if (hasEnd)
        errs.push(invalid(`${path}.endPort`, p.endPort, "may not be specified when `port` is non-numeric"));
      for (const msg of isValidPortName(String(p.port))) errs.push(invalid(`${path}.port`, p.port, msg));
    }
  } else if (hasEnd)
    errs.push(invalid(`${path}.endPort`, p.endPort, "may not be specified when `port` is not specified"));
  return errs;
}

/** An address and prefix length as a bit string, for subset checks. */
function cidrBits(cidr: string): { bits: string; len: number } | undefined {
  const [ip, len] = cidr.split("/");
  const parts = parseIPv4(ip) ?? parseIPv6(ip);
  if (!parts) return undefined;
  const width = parseIPv4(ip) ? 8 : 16;
  return { bits: parts.map((n) => n.toString(2).padStart(width, "0")).join(""), len: Number(len) };
}

function validateIpBlock(b: any, path: string): FieldError[] {
  if (!b.cidr) return [required(`${path}.cidr`, "")];
  if (!isValidCIDR(b.cidr)) return [invalid(`${path}.cidr`, b.cidr, CIDR_ERROR)];
  const errs: FieldError[] = [];
  const outer = cidrBits(b.cidr)!;
  strings(b.except).forEach((e, i) => {
    const ep = `${path}.except[${i}]`;
    if (!isValidCIDR(e)) {
      errs.push(invalid(ep, e, CIDR_ERROR));
      return;
    }
    const inner = cidrBits(e)!;
    const inside =
      inner.bits.length === outer.bits.length &&
      inner.bits.slice(0, outer.len) === outer.bits.slice(0, outer.len);
    if (!inside || outer.len >= inner.len) errs.push(invalid(ep, e, "must be a strict subset of `cidr`"));
  });
  return errs;
}

function validatePeer(peer: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let n = 0;
  if (peer.podSelector) {
    n++;
    errs.push(...validateLabelSelector(peer.podSelector, `${path}.podSelector`));
  }
  if (peer.namespaceSelector) {
    n++;
    errs.push(...validateLabelSelector(peer.namespaceSelector, `${path}.namespaceSelector`));
  }
  if (peer.ipBlock) {
    n++;
    errs.push(...validateIpBlock(peer.ipBlock, `${path}.ipBlock`));
  }
  if (n === 0) errs.push(required(path, "must specify a peer"));
  else if (n > 1 && peer.ipBlock) errs.push(forbidden(path, "may not specify both ipBlock and another peer"));
  return errs;
}

function validateSpec(spec: any): FieldError[] {
  const errs = validateLabelSelector(spec?.podSelector, "spec.podSelector");
  const rules = [
    ...objects(spec?.ingress).map((r, i) => ({ r, path: `spec.ingress[${i}]`, peers: "from" })),
    ...objects(spec?.egress).map((r, i) => ({ r, path: `spec.egress[${i}]`, peers: "to" })),
  ];
  for (const { r, path, peers } of rules) {
    for (const [j, p] of objects(r.ports).entries()) errs.push(...validatePort(p, `${path}.ports[${j}]`));
    for (const [j, p] of objects(r[peers]).entries()) errs.push(...validatePeer(p, `${path}.${peers}[${j}]`));
  }
  const types = strings(spec?.policyTypes);
  if (types.length > POLICY_TYPES.length)
    errs.push(invalid("spec.policyTypes", types, "may not specify more than two policyTypes"));
  else
    types.forEach((t, i) => {
      if (!POLICY_TYPES.includes(t)) errs.push(notSupported(`spec.policyTypes[${i}]`, t, POLICY_TYPES));
    });
  return errs;
}

export const networkPolicyStrategy: Strategy = {
  hasStatus: false,
  tracksGeneration: true,
  defaults,
  validate(np) {
    return [
      ...validateObjectMeta(np.metadata, { namespaced: true, nameValidator: dns1123Subdomain }),
      ...validateSpec(np.spec),
    ];
  },
  validateUpdate(np, old) {
    return [...validateObjectMetaUpdate(np.metadata, old.metadata), ...validateSpec(np.spec)];
  },
};
