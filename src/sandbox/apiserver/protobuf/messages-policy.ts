// protobuf field numbers from k8s.io/api policy/v1/generated.proto (k8s 1.33, as compiled into kubectl 1.33.1).
// PodDisruptionBudget (`create poddisruptionbudget`) and Eviction (pods/eviction; kubectl 1.33 sends that
// one as JSON, but other typed clients may not). `status` is left out: a create ignores it.
// `pointer`: a Go pointer field (a zero on the wire is a value); `required`: no omitempty (JSON prints zero).
import type { MessageTable } from "./schema.ts";
import { field, pointer } from "./schema.ts";

export const POLICY_MESSAGES: MessageTable = {
  Eviction: {
    1: field("metadata", "ObjectMeta"),
    2: field("deleteOptions", "DeleteOptions"),
  },
  PodDisruptionBudget: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "PodDisruptionBudgetSpec"),
  },
  PodDisruptionBudgetSpec: {
    1: pointer("minAvailable", "IntOrString"),
    2: field("selector", "LabelSelector"),
    3: pointer("maxUnavailable", "IntOrString"),
    4: pointer("unhealthyPodEvictionPolicy", "string"),
  },
};
