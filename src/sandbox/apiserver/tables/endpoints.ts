// core/v1 endpoints and discovery.k8s.io/v1 endpointslices: addresses listed three at a time.
import type { KubeObject } from "../../../kube/objects.ts";
import { ageColumn, column, nameColumn } from "./columns.ts";
import { age } from "./duration.ts";
import { listWithMore } from "./format.ts";
import type { RowPrinter } from "./printer.ts";

/** IPv6 addresses get brackets, as net.JoinHostPort does. */
const hostPort = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);

/** formatEndpoints: "ip:port" per address and port (bare IPs for port-less subsets); "<none>" without subsets. */
export function endpointsCell(ep: KubeObject): string {
  const subsets: any[] = ep.subsets ?? [];
  if (!subsets.length) return "<none>";
  const all: string[] = [];
  for (const ss of subsets) {
    const addresses: any[] = ss.addresses ?? [];
    const ports: any[] = ss.ports ?? [];
    if (!ports.length) {
      for (const a of addresses) all.push(a.ip); // headless services may publish no ports
    } else {
      for (const p of ports) for (const a of addresses) all.push(hostPort(a.ip, p.port));
    }
  }
  // Upstream prints "" (not "<none>") when subsets exist but hold no ready addresses.
  return listWithMore(all);
}

/** listWithMoreString, which says "<unset>" for an empty list. */
const listOrUnset = (items: string[]) => listWithMore(items) || "<unset>";

/** Port numbers, or the port name when unnumbered, or "*" for "all ports". */
export function slicePortsCell(slice: KubeObject): string {
  const ports: any[] = slice.ports ?? [];
  return listOrUnset(ports.map((p) => (typeof p?.port === "number" ? String(p.port) : (p?.name ?? "*"))));
}

export function sliceEndpointsCell(slice: KubeObject): string {
  const endpoints: any[] = slice.endpoints ?? [];
  return listOrUnset(endpoints.flatMap((e) => e?.addresses ?? []));
}

export const endpointsPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Endpoints", "The set of all endpoints is the union of all subsets."),
    ageColumn(),
  ],
  cells(ep, now) {
    return [ep.metadata.name, endpointsCell(ep), age(ep.metadata.creationTimestamp, now)];
  },
};

export const endpointSlicePrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("AddressType", "addressType specifies the type of address carried by this EndpointSlice."),
    column("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice."),
    column("Endpoints", "endpoints is a list of unique endpoints in this slice."),
    ageColumn(),
  ],
  cells(slice, now) {
    return [
      slice.metadata.name,
      slice.addressType ?? "",
      slicePortsCell(slice),
      sliceEndpointsCell(slice),
      age(slice.metadata.creationTimestamp, now),
    ];
  },
};
