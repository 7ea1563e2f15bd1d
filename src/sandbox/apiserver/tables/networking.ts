// networking.k8s.io/v1 networkpolicies: the pod selector, as `kubectl get netpol` shows it.
import { ageColumn, column, nameColumn } from "./columns.ts";
import { age } from "./duration.ts";
import { formatLabelSelector } from "./format.ts";
import type { RowPrinter } from "./printer.ts";

export const networkPolicyPrinter: RowPrinter = {
  columns: [
    nameColumn(),
    column(
      "Pod-Selector",
      "podSelector selects the pods to which this NetworkPolicy object applies. The array of rules is applied to any pods selected by this field. An empty selector matches all pods in the policy's namespace. Multiple network policies can select the same set of pods. In this case, the ingress rules for each are combined additively. This field is optional. If it is not specified, it defaults to an empty selector.",
    ),
    ageColumn(),
  ],
  cells(np, now) {
    return [
      np.metadata.name,
      formatLabelSelector(np.spec?.podSelector),
      age(np.metadata.creationTimestamp, now),
    ];
  },
};
