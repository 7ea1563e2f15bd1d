// `kubectl get nodes`: NAME STATUS ROLES AGE VERSION [INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME].
import type { KubeObject } from "../../../kube/objects.ts";
import { ageColumn, column, nameColumn } from "./columns.ts";
import { age } from "./duration.ts";
import type { RowPrinter } from "./printer.ts";

const ROLE_PREFIX = "node-role.kubernetes.io/";
const LEGACY_ROLE_LABEL = "kubernetes.io/role";

/** "Ready", "NotReady" or "Unknown" from the Ready condition, plus ",SchedulingDisabled" when cordoned. */
export function nodeStatus(node: KubeObject): string {
  const ready = (node.status?.conditions ?? []).findLast((c: any) => c?.type === "Ready");
  const status = [ready ? (ready.status === "True" ? "Ready" : "NotReady") : "Unknown"];
  if (node.spec?.unschedulable) status.push("SchedulingDisabled");
  return status.join(",");
}

/** Roles from `node-role.kubernetes.io/<role>` label keys and the legacy `kubernetes.io/role=<role>` label, sorted. */
export function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX)) {
      const role = k.slice(ROLE_PREFIX.length);
      if (role) roles.add(role);
    } else if (k === LEGACY_ROLE_LABEL && v) {
      roles.add(v);
    }
  }
  return roles.size ? [...roles].sort().join(",") : "<none>";
}

const address = (node: KubeObject, type: string): string =>
  (node.status?.addresses ?? []).find((a: any) => a?.type === type)?.address ?? "<none>";

export const nodePrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Status", "The status of the node"),
    column("Roles", "The roles of the node"),
    ageColumn(),
    column("Version", "Kubelet Version reported by the node."),
    column("Internal-IP", "List of addresses reachable to the node.", { wide: true }),
    column("External-IP", "List of addresses reachable to the node.", { wide: true }),
    column(
      "OS-Image",
      "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
      {
        wide: true,
      },
    ),
    column(
      "Kernel-Version",
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      {
        wide: true,
      },
    ),
    column(
      "Container-Runtime",
      "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
      {
        wide: true,
      },
    ),
  ],
  cells(node, now) {
    const info = node.status?.nodeInfo ?? {};
    return [
      node.metadata.name,
      nodeStatus(node),
      nodeRoles(node),
      age(node.metadata.creationTimestamp, now),
      info.kubeletVersion ?? "",
      address(node, "InternalIP"),
      address(node, "ExternalIP"),
      info.osImage || "<unknown>",
      info.kernelVersion || "<unknown>",
      info.containerRuntimeVersion || "<unknown>",
    ];
  },
};
