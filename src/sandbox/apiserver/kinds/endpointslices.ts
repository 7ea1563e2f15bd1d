// The discovery.k8s.io/v1 EndpointSlice strategy: one address family per slice, 1..100
// addresses per endpoint, uniquely named ports.
import type { KubeObject } from "../../../kube/objects.ts";
import { duplicate, type FieldError, invalid, notSupported, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { objects, strings } from "./json.ts";
import {
  dns1123Label,
  dns1123Subdomain,
  FIELD_IMMUTABLE,
  qualifiedName,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";
import { isValidIPv4, isValidIPv6, nonSpecialIPErrors } from "./names.ts";

const ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;

/** "Too many: 101: must have at most 100 items" */
const tooMany = (field: string, n: number, max: number): FieldError => ({
  type: "FieldValueTooMany",
  field,
  detail: `${n}: must have at most ${max} items`,
});

function defaults(slice: KubeObject): void {
  for (const p of objects(slice.ports)) {
    if (p.name === undefined || p.name === null) p.name = "";
    if (!p.protocol) p.protocol = "TCP";
  }
}

/** A domain name with at least two dot-separated labels (IsFullyQualifiedDomainName). */
function fqdnErrors(name: string, path: string): FieldError[] {
  if (!name) return [required(path, "")];
  const trimmed = name.replace(/\.$/, "");
  const sub = dns1123Subdomain(trimmed);
  if (sub.length) return [invalid(path, trimmed, sub.join(","))];
  if (trimmed.split(".").length < 2)
    return [invalid(path, trimmed, "should be a domain with at least two segments separated by dots")];
  for (const label of trimmed.split(".")) {
    const errs = dns1123Label(label);
    if (errs.length) return [invalid(path, label, errs.join(","))];
  }
  return [];
}

function validateAddress(addr: string, type: string, path: string): FieldError[] {
  if (type === "IPv4") {
    if (!isValidIPv4(addr)) return [invalid(path, addr, "must be a valid IPv4 address")];
    return nonSpecialIPErrors(addr).map((m) => invalid(path, addr, m));
  }
  if (type === "IPv6") {
    if (!isValidIPv6(addr)) return [invalid(path, addr, "must be a valid IPv6 address")];
    return nonSpecialIPErrors(addr).map((m) => invalid(path, addr, m));
  }
  // Unknown address types were already reported; their addresses go unchecked.
  return type === "FQDN" ? fqdnErrors(addr, path) : [];
}

function validateEndpoints(endpoints: unknown, type: string): FieldError[] {
  const all = objects(endpoints);
  const errs: FieldError[] = [];
  if (all.length > MAX_ENDPOINTS) errs.push(tooMany("endpoints", all.length, MAX_ENDPOINTS));
  all.forEach((ep, i) => {
    const p = `endpoints[${i}]`;
    const addrs = strings(ep.addresses);
    if (!addrs.length) errs.push(required(`${p}.addresses`, "must contain at least 1 address"));
    else if (addrs.length > MAX_ADDRESSES) errs.push(tooMany(`${p}.addresses`, addrs.length, MAX_ADDRESSES));
    for (const [j, a] of addrs.entries()) errs.push(...validateAddress(a, type, `${p}.addresses[${j}]`));
    if (ep.nodeName != null)
      for (const m of dns1123Subdomain(ep.nodeName)) errs.push(invalid(`${p}.nodeName`, ep.nodeName, m));
    if (ep.hostname != null)
      for (const m of dns1123Label(ep.hostname)) errs.push(invalid(`${p}.hostname`, ep.hostname, m));
  });
  return errs;
}

function validatePorts(ports: unknown): FieldError[] {
  const all = objects(ports);
  const errs: FieldError[] = [];
  if (all.length > MAX_PORTS) errs.push(tooMany("ports", all.length, MAX_PORTS));
  const names = new Set<string>();
  all.forEach((port, i) => {
    const p = `ports[${i}]`;
    const name = port.name ?? "";
    if (name) for (const m of dns1123Label(name)) errs.push(invalid(`${p}.name`, name, m));
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    else names.add(name);
    if (!port.protocol) errs.push(required(`${p}.protocol`, ""));
    else if (!PROTOCOLS.includes(port.protocol))
      errs.push(notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
    if (port.appProtocol != null)
      for (const m of qualifiedName(port.appProtocol))
        errs.push(invalid(`${p}.appProtocol`, port.appProtocol, m));
  });
  return errs;
}

export const endpointSliceStrategy: Strategy = {
  hasStatus: false,
  tracksGeneration: true,
  defaults,
  validate(slice) {
    const errs = validateObjectMeta(slice.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
    const type = slice.addressType ?? "";
    if (!type) errs.push(required("addressType", ""));
    else if (!ADDRESS_TYPES.includes(type)) errs.push(notSupported("addressType", type, ADDRESS_TYPES));
    errs.push(...validateEndpoints(slice.endpoints, type));
    errs.push(...validatePorts(slice.ports));
    return errs;
  },
  validateUpdate(slice, old) {
    const errs = validateObjectMetaUpdate(slice.metadata, old.metadata);
    if ((slice.addressType ?? "") !== (old.addressType ?? ""))
      errs.push(invalid("addressType", slice.addressType ?? "", FIELD_IMMUTABLE));
    return errs;
  },
};
