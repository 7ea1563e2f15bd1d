// protobuf field numbers from k8s.io/apimachinery pkg/apis/meta/v1/generated.proto (k8s 1.33, as compiled into kubectl 1.33.1).
// ObjectMeta and its parts, LabelSelector, and DeleteOptions (the body of a typed client's DELETE).
// `pointer`: a Go pointer field (a zero on the wire is a value); `required`: no omitempty (JSON prints zero).
import type { MessageTable } from "./schema.ts";
import { field, list, map, pointer, required } from "./schema.ts";

export const META_MESSAGES: MessageTable = {
  DeleteOptions: {
    1: pointer("gracePeriodSeconds", "int64"),
    2: field("preconditions", "Preconditions"),
    3: pointer("orphanDependents", "bool"),
    4: pointer("propagationPolicy", "string"),
    5: list("dryRun", "string"),
    6: pointer("ignoreStoreReadErrorWithClusterBreakingPotential", "bool"),
  },
  LabelSelector: {
    1: map("matchLabels", "string"),
    2: list("matchExpressions", "LabelSelectorRequirement"),
  },
  LabelSelectorRequirement: {
    1: required("key", "string"),
    2: required("operator", "string"),
    3: list("values", "string"),
  },
  ManagedFieldsEntry: {
    1: field("manager", "string"),
    2: field("operation", "string"),
    3: field("apiVersion", "string"),
    4: pointer("time", "Time"),
    6: field("fieldsType", "string"),
    7: pointer("fieldsV1", "FieldsV1"),
    8: field("subresource", "string"),
  },
  ObjectMeta: {
    1: field("name", "string"),
    2: field("generateName", "string"),
    3: field("namespace", "string"),
    4: field("selfLink", "string"),
    5: field("uid", "string"),
    6: field("resourceVersion", "string"),
    7: field("generation", "int64"),
    8: field("creationTimestamp", "Time"),
    9: pointer("deletionTimestamp", "Time"),
    10: pointer("deletionGracePeriodSeconds", "int64"),
    11: map("labels", "string"),
    12: map("annotations", "string"),
    13: list("ownerReferences", "OwnerReference"),
    14: list("finalizers", "string"),
    17: list("managedFields", "ManagedFieldsEntry"),
  },
  OwnerReference: {
    5: required("apiVersion", "string"),
    1: required("kind", "string"),
    3: required("name", "string"),
    4: required("uid", "string"),
    6: pointer("controller", "bool"),
    7: pointer("blockOwnerDeletion", "bool"),
  },
  Preconditions: {
    1: pointer("uid", "string"),
    2: pointer("resourceVersion", "string"),
  },
};
