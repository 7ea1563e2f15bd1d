// Server-side printing for `kubectl get`: which printer serves which resource, plus the Table builder.
import type { TablePrinter } from "../types.ts";
import { daemonSetPrinter, deploymentPrinter, replicaSetPrinter } from "./apps.ts";
import { configMapPrinter, secretPrinter, serviceAccountPrinter } from "./config.ts";
import { defaultPrinter } from "./default.ts";
import { endpointSlicePrinter, endpointsPrinter } from "./endpoints.ts";
import { eventPrinter } from "./events.ts";
import { jobPrinter } from "./jobs.ts";
import { leasePrinter } from "./leases.ts";
import { namespacePrinter } from "./namespaces.ts";
import { networkPolicyPrinter } from "./networking.ts";
import { nodePrinter } from "./nodes.ts";
import { podPrinter } from "./pods.ts";
import { bindingPrinter } from "./rbac.ts";
import { servicePrinter } from "./services.ts";

export { crdPrinter, type PrinterColumn } from "./crd.ts";
export { age, humanDuration } from "./duration.ts";
export { buildTable, type IncludeObject, type Table, type TableOptions, type TableRow } from "./table.ts";

/** Printers by "group/resource" (core group is ""). CRDs themselves use the default convertor upstream. */
const PRINTERS: Record<string, TablePrinter> = {
  "/pods": podPrinter,
  "/services": servicePrinter,
  "/endpoints": endpointsPrinter,
  "/nodes": nodePrinter,
  "/namespaces": namespacePrinter,
  "/events": eventPrinter,
  "/configmaps": configMapPrinter,
  "/secrets": secretPrinter,
  "/serviceaccounts": serviceAccountPrinter,
  "apps/deployments": deploymentPrinter,
  "apps/replicasets": replicaSetPrinter,
  "apps/daemonsets": daemonSetPrinter,
  "batch/jobs": jobPrinter,
  "discovery.k8s.io/endpointslices": endpointSlicePrinter,
  "networking.k8s.io/networkpolicies": networkPolicyPrinter,
  "coordination.k8s.io/leases": leasePrinter,
  "rbac.authorization.k8s.io/rolebindings": bindingPrinter,
  "rbac.authorization.k8s.io/clusterrolebindings": bindingPrinter,
};

/** The printer for a built-in resource; the default convertor (NAME, CREATED AT) for anything else. */
export function printerFor(group: string, resource: string): TablePrinter {
  return PRINTERS[`${group}/${resource}`] ?? defaultPrinter;
}
