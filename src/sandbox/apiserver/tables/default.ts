// The apiserver's default table convertor (rest.NewDefaultTableConvertor), used for resources without
// a printer of their own, CustomResourceDefinitions included: NAME and CREATED AT as an RFC 3339 date.
import { formatTime, parseTime } from "../../../kube/objects.ts";
import { createdAtColumn, nameColumn } from "./columns.ts";
import type { RowPrinter } from "./printer.ts";

/** What Go prints for a zero metav1.Time formatted as RFC 3339. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

/** creationTimestamp re-rendered in UTC with second precision (creationTimestamp.UTC().Format(time.RFC3339)). */
export function createdAt(timestamp: unknown): string {
  const t = parseTime(timestamp);
  return Number.isNaN(t) ? ZERO_TIME : formatTime(t);
}

export const defaultPrinter: RowPrinter = {
  columns: [nameColumn(), createdAtColumn()],
  cells(obj) {
    return [obj.metadata.name, createdAt(obj.metadata.creationTimestamp)];
  },
};
