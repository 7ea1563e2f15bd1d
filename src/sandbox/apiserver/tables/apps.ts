// apps/v1 workloads: deployments, replicasets and daemonsets.

import { ageColumn, column, nameColumn, templateColumns } from "./columns.ts";
import { age } from "./duration.ts";
import { containerCells, formatLabelSelector, formatLabels, int, selectorText } from "./format.ts";
import type { RowPrinter } from "./printer.ts";

// spec.replicas is defaulted to 1 on write; the fallback only matters for hand-made objects.
const desiredReplicas = (spec: any): number => (typeof spec?.replicas === "number" ? spec.replicas : 1);

export const deploymentPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Ready", "Number of the pod with ready state"),
    column(
      "Up-to-date",
      "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    column(
      "Available",
      "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    ageColumn(),
    ...templateColumns(
      "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
    ),
  ],
  cells(d, now) {
    const spec = d.spec ?? {};
    const status = d.status ?? {};
    const [names, images] = containerCells(spec.template?.spec);
    // Unlike the other workloads, upstream prints the raw selector string here ("" rather than "<none>").
    const selector = selectorText(spec.selector) ?? "<invalid>";
    return [
      d.metadata.name,
      `${int(status.readyReplicas)}/${desiredReplicas(spec)}`,
      int(status.updatedReplicas),
      int(status.availableReplicas),
      age(d.metadata.creationTimestamp, now),
      names,
      images,
      selector,
    ];
  },
};

export const replicaSetPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Desired", "Replicas is the number of desired pods.", { type: "integer" }),
    column("Current", "Replicas is the most recently observed number of non-terminated pods.", {
      type: "integer",
    }),
    column("Ready", "The number of non-terminated pods targeted by this ReplicaSet with a Ready Condition.", {
      type: "integer",
    }),
    ageColumn(),
    ...templateColumns("Selector is a label query over pods that should match the replica count."),
  ],
  cells(rs, now) {
    const spec = rs.spec ?? {};
    const status = rs.status ?? {};
    const [names, images] = containerCells(spec.template?.spec);
    return [
      rs.metadata.name,
      desiredReplicas(spec),
      int(status.replicas),
      int(status.readyReplicas),
      age(rs.metadata.creationTimestamp, now),
      names,
      images,
      formatLabelSelector(spec.selector),
    ];
  },
};

export const daemonSetPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Desired", "The total number of nodes that should be running the daemon pod.", {
      type: "integer",
    }),
    column(
      "Current",
      "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
      {
        type: "integer",
      },
    ),
    column(
      "Ready",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
      {
        type: "integer",
      },
    ),
    column("Up-to-date", "The total number of nodes that are running updated daemon pod", {
      type: "integer",
    }),
    column(
      "Available",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
      {
        type: "integer",
      },
    ),
    column("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
    ageColumn(),
    ...templateColumns("A label query over pods that are managed by the daemon set."),
  ],
  cells(ds, now) {
    const spec = ds.spec ?? {};
    const status = ds.status ?? {};
    const [names, images] = containerCells(spec.template?.spec);
    return [
      ds.metadata.name,
      int(status.desiredNumberScheduled),
      int(status.currentNumberScheduled),
      int(status.numberReady),
      int(status.updatedNumberScheduled),
      int(status.numberAvailable),
      formatLabels(spec.template?.spec?.nodeSelector),
      age(ds.metadata.creationTimestamp, now),
      names,
      images,
      formatLabelSelector(spec.selector),
    ];
  },
};
