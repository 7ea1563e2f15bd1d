// protobuf field numbers from k8s.io/api scheduling/v1/generated.proto (k8s 1.33, as compiled into kubectl 1.33.1).
// PriorityClass (`create priorityclass`).
// `pointer`: a Go pointer field (a zero on the wire is a value); `required`: no omitempty (JSON prints zero).
import type { MessageTable } from "./schema.ts";
import { field, pointer, required } from "./schema.ts";

export const SCHEDULING_MESSAGES: MessageTable = {
  PriorityClass: {
    1: field("metadata", "ObjectMeta"),
    2: required("value", "int32"),
    3: field("globalDefault", "bool"),
    4: field("description", "string"),
    5: pointer("preemptionPolicy", "string"),
  },
};
