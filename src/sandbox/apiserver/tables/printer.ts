// A TablePrinter that may also attach metav1.TableRowConditions to a row (upstream does so for
// finished pods). Anything typed TablePrinter elsewhere still accepts these printers.
import type { KubeObject } from "../../../kube/objects.ts";
import type { TablePrinter } from "../types.ts";

/** metav1.TableRowCondition. */
export interface RowCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
}

export interface RowPrinter extends TablePrinter {
  conditions?(obj: KubeObject): RowCondition[] | undefined;
}
