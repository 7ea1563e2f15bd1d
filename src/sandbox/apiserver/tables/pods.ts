// `kubectl get pods`: NAME READY STATUS RESTARTS AGE [IP NODE NOMINATED NODE READINESS GATES].
import type { KubeObject } from "../../../kube/objects.ts";
import { ageColumn, column, nameColumn } from "./columns.ts";
import { age, humanDuration } from "./duration.ts";
import { summarizePod } from "./pod-status.ts";
import type { RowCondition, RowPrinter } from "./printer.ts";

/** "3" or, once a container has restarted, "3 (5m ago)". */
function restartsCell(restarts: number, lastRestart: number, now: number): string {
  if (restarts === 0 || Number.isNaN(lastRestart)) return String(restarts);
  return `${restarts} (${humanDuration(now - lastRestart)} ago)`;
}

/** "x/y": how many of the pod's readiness gates have a True condition; "<none>" without gates. */
function readinessGatesCell(pod: KubeObject): string {
  const gates: any[] = pod.spec?.readinessGates ?? [];
  if (!gates.length) return "<none>";
  const conditions: any[] = pod.status?.conditions ?? [];
  const met = gates.filter(
    (g) => conditions.find((c) => c?.type === g.conditionType)?.status === "True",
  ).length;
  return `${met}/${gates.length}`;
}

export const podPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "The aggregate status of the containers in this pod."),
    column(
      "Restarts",
      "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    ageColumn(),
    column(
      "IP",
      "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
      {
        wide: true,
      },
    ),
    column("Node", "NodeName indicates in which node this pod is scheduled.", { wide: true }),
    column("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.", {
      wide: true,
    }),
    column("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", {
      wide: true,
    }),
  ],
  cells(pod, now) {
    const s = summarizePod(pod);
    const status = pod.status ?? {};
    // podIPs is authoritative; podIP covers objects written before podIPs was filled in.
    const ip = status.podIPs?.[0]?.ip || status.podIP || "<none>";
    return [
      pod.metadata.name,
      `${s.ready}/${s.total}`,
      s.reason,
      restartsCell(s.restarts, s.lastRestart, now),
      age(pod.metadata.creationTimestamp, now),
      ip,
      pod.spec?.nodeName || "<none>",
      status.nominatedNodeName || "<none>",
      readinessGatesCell(pod),
    ];
  },
  conditions(pod): RowCondition[] | undefined {
    // Upstream marks finished pods' rows "Completed" (kubectl can use it to filter them).
    switch (pod.status?.phase) {
      case "Succeeded":
        return [
          {
            type: "Completed",
            status: "True",
            reason: "Succeeded",
            message: "The pod has completed successfully.",
          },
        ];
      case "Failed":
        return [{ type: "Completed", status: "True", reason: "Failed", message: "The pod failed." }];
      default:
        return undefined;
    }
  },
};
