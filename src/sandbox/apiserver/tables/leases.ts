// coordination.k8s.io leases: NAME HOLDER AGE.

import { ageColumn, column, nameColumn } from "./columns.ts";
import { age } from "./duration.ts";
import type { RowPrinter } from "./printer.ts";

export const leasePrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column("Holder", "holderIdentity contains the identity of the holder of a current lease."),
    ageColumn(),
  ],
  cells(lease, now) {
    // An unheld lease prints an empty holder, not "<none>".
    return [
      lease.metadata.name,
      lease.spec?.holderIdentity ?? "",
      age(lease.metadata.creationTimestamp, now),
    ];
  },
};
