// The core/v1 Endpoints strategy: subsets with valid, non-special addresses and named ports.
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, invalid, notSupported, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { type Json, objects } from "./json.ts";
import {
  dns1123Label,
  dns1123Subdomain,
  qualifiedName,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";
import { IP_ERROR, isValidIP, isValidPortNum, nonSpecialIPErrors } from "./names.ts";

const PROTOCOLS = ["SCTP", "TCP", "UDP"];

function defaults(ep: KubeObject): void {
  for (const ss of objects(ep.subsets))
    for (const p of objects(ss.ports)) if (!p.protocol) p.protocol = "TCP";
}

function validateAddress(a: Json, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const ip = a.ip ?? "";
  if (!isValidIP(ip)) errs.push(invalid(`${path}.ip`, ip, IP_ERROR));
  if (a.hostname)
    for (const m of dns1123Label(a.hostname)) errs.push(invalid(`${path}.hostname`, a.hostname, m));
  if (a.nodeName != null)
    for (const m of dns1123Subdomain(a.nodeName)) errs.push(invalid(`${path}.nodeName`, a.nodeName, m));
  for (const m of nonSpecialIPErrors(ip)) errs.push(invalid(`${path}.ip`, ip, m));
  return errs;
}

/** A named port of an Endpoints subset or an EndpointSlice-like list (names required when several). */
export function validateEndpointPort(p: Json, requireName: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (requireName && !p.name) errs.push(required(`${path}.name`, ""));
  else if (p.name) for (const m of dns1123Label(p.name)) errs.push(invalid(`${path}.name`, p.name, m));
  for (const m of isValidPortNum(p.port)) errs.push(invalid(`${path}.port`, p.port ?? 0, m));
  if (!p.protocol) errs.push(required(`${path}.protocol`, ""));
  else if (!PROTOCOLS.includes(p.protocol))
    errs.push(notSupported(`${path}.protocol`, p.protocol, PROTOCOLS));
  if (p.appProtocol != null)
    for (const m of qualifiedName(p.appProtocol)) errs.push(invalid(`${path}.appProtocol`, p.appProtocol, m));
  return errs;
}

function validateSubsets(subsets: unknown): FieldError[] {
  const errs: FieldError[] = [];
  objects(subsets).forEach((ss, i) => {
    const p = `subsets[${i}]`;
    // A headless service's endpoints may have no ports, but every subset needs an address.
    if (!objects(ss.addresses).length && !objects(ss.notReadyAddresses).length)
      errs.push(required(p, "must specify `addresses` or `notReadyAddresses`"));
    for (const [j, a] of objects(ss.addresses).entries())
      errs.push(...validateAddress(a, `${p}.addresses[${j}]`));
    for (const [j, a] of objects(ss.notReadyAddresses).entries())
      errs.push(...validateAddress(a, `${p}.notReadyAddresses[${j}]`));
    const ports = objects(ss.ports);
    for (const [j, port] of ports.entries())
      errs.push(...validateEndpointPort(port, ports.length > 1, `${p}.ports[${j}]`));
  });
  return errs;
}

export const endpointsStrategy: Strategy = {
  hasStatus: false,
  tracksGeneration: false,
  defaults,
  validate(ep) {
    const errs = validateObjectMeta(ep.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
    errs.push(...validateSubsets(ep.subsets));
    return errs;
  },
  validateUpdate(ep, old) {
    return validateObjectMetaUpdate(ep.metadata, old.metadata);
  },
};
