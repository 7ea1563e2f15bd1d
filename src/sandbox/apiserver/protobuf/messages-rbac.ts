// protobuf field numbers from k8s.io/api rbac/v1/generated.proto (k8s 1.33, as compiled into kubectl 1.33.1).
// Role, ClusterRole, RoleBinding, ClusterRoleBinding (`create role` etc.).
// `pointer`: a Go pointer field (a zero on the wire is a value); `required`: no omitempty (JSON prints zero).
import type { MessageTable } from "./schema.ts";
import { field, list, required } from "./schema.ts";

export const RBAC_MESSAGES: MessageTable = {
  AggregationRule: {
    1: list("clusterRoleSelectors", "LabelSelector"),
  },
  ClusterRole: {
    1: field("metadata", "ObjectMeta"),
    2: list("rules", "PolicyRule"),
    3: field("aggregationRule", "AggregationRule"),
  },
  ClusterRoleBinding: {
    1: field("metadata", "ObjectMeta"),
    2: list("subjects", "Subject"),
    3: field("roleRef", "RoleRef"),
  },
  PolicyRule: {
    1: list("verbs", "string"),
    2: list("apiGroups", "string"),
    3: list("resources", "string"),
    4: list("resourceNames", "string"),
    5: list("nonResourceURLs", "string"),
  },
  Role: {
    1: field("metadata", "ObjectMeta"),
    2: list("rules", "PolicyRule"),
  },
  RoleBinding: {
    1: field("metadata", "ObjectMeta"),
    2: list("subjects", "Subject"),
    3: field("roleRef", "RoleRef"),
  },
  RoleRef: {
    1: required("apiGroup", "string"),
    2: required("kind", "string"),
    3: required("name", "string"),
  },
  Subject: {
    1: required("kind", "string"),
    2: field("apiGroup", "string"),
    3: required("name", "string"),
    4: field("namespace", "string"),
  },
};
