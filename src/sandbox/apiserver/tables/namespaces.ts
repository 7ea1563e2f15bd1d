// `kubectl get namespaces`: NAME STATUS AGE.

import { ageColumn, column, nameColumn } from "./columns.ts";
import { age } from "./duration.ts";
import type { RowPrinter } from "./printer.ts";

export const namespacePrinter: RowPrinter = {
  columns: [nameColumn(), column("Status", "The status of the namespace"), ageColumn()],
  cells(ns, now) {
    // status.phase is "Active" or "Terminating"; printed as stored.
    return [ns.metadata.name, ns.status?.phase ?? "", age(ns.metadata.creationTimestamp, now)];
  },
};
