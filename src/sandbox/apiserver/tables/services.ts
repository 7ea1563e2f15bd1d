// `kubectl get services`: NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE [SELECTOR].
import type { KubeObject } from "../../../kube/objects.ts";
import { ageColumn, column, nameColumn } from "./columns.ts";
import { age } from "./duration.ts";
import { formatLabels } from "./format.ts";
import type { RowPrinter } from "./printer.ts";

/** Load-balancer ingress IPs (or hostnames), de-duplicated and sorted like sets.String.List(). */
function ingressAddresses(svc: KubeObject): string[] {
  const out = new Set<string>();
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (ing?.ip) out.add(ing.ip);
    else if (ing?.hostname) out.add(ing.hostname);
  }
  return [...out].sort();
}

/**
 * getServiceExternalIP. The server always prints wide, so ingress lists are never clipped to 16 characters
 * (the clipping only exists for client-side printing).
 */
export function externalIP(svc: KubeObject): string {
  const spec = svc.spec ?? {};
  const externalIPs: string[] = spec.externalIPs ?? [];
  switch (spec.type) {
    case "ClusterIP":
    case "NodePort":
      return externalIPs.length ? externalIPs.join(",") : "<none>";
    case "LoadBalancer": {
      const all = [...ingressAddresses(svc), ...externalIPs];
      return all.length ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return spec.externalName ?? "";
    default:
      return "<unknown>";
  }
}

/** "80/TCP", or "80:30080/TCP" when a node port is allocated; comma-joined. */
export function portsCell(ports: any[] | undefined): string {
  const text = (ports ?? [])
    .map((p) => {
      const proto = p.protocol ?? "TCP";
      return p.nodePort > 0 ? `${p.port}:${p.nodePort}/${proto}` : `${p.port}/${proto}`;
    })
    .join(",");
  return text || "<none>";
}

export const servicePrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Type", "type determines how the Service is exposed."),
    column("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
    column(
      "External-IP",
      "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    ),
    column("Port(s)", "The list of ports that are exposed by this service."),
    ageColumn(),
    column("Selector", "Route service traffic to pods with label keys and values matching this selector.", {
      wide: true,
    }),
  ],
  cells(svc, now) {
    const spec = svc.spec ?? {};
    // clusterIPs[0] is what upstream prints; clusterIP covers objects without the plural field.
    const clusterIP = spec.clusterIPs?.[0] || spec.clusterIP || "<none>";
    return [
      svc.metadata.name,
      spec.type ?? "",
      clusterIP,
      externalIP(svc),
      portsCell(spec.ports),
      age(svc.metadata.creationTimestamp, now),
      formatLabels(spec.selector),
    ];
  },
};
