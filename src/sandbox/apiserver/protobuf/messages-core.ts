// protobuf field numbers from k8s.io/api core/v1/generated.proto (k8s 1.33, as compiled into kubectl 1.33.1).
// The core/v1 kinds kubectl's typed generators create (ResourceQuota: `create quota`).
// `status` is left out: a create ignores it.
// `pointer`: a Go pointer field (a zero on the wire is a value); `required`: no omitempty (JSON prints zero).
import type { MessageTable } from "./schema.ts";
import { field, list, map, pointer, required } from "./schema.ts";

export const CORE_MESSAGES: MessageTable = {
  ClientIPConfig: {
    1: pointer("timeoutSeconds", "int32"),
  },
  ConfigMap: {
    1: field("metadata", "ObjectMeta"),
    4: pointer("immutable", "bool"),
    2: map("data", "string"),
    3: map("binaryData", "bytes"),
  },
  LocalObjectReference: {
    1: field("name", "string"),
  },
  Namespace: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "NamespaceSpec"),
  },
  NamespaceSpec: {
    1: list("finalizers", "string"),
  },
  ObjectReference: {
    1: field("kind", "string"),
    2: field("namespace", "string"),
    3: field("name", "string"),
    4: field("uid", "string"),
    5: field("apiVersion", "string"),
    6: field("resourceVersion", "string"),
    7: field("fieldPath", "string"),
  },
  Pod: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "PodSpec"),
  },
  ResourceQuota: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "ResourceQuotaSpec"),
  },
  ResourceQuotaSpec: {
    1: map("hard", "Quantity"),
    2: list("scopes", "string"),
    3: field("scopeSelector", "ScopeSelector"),
  },
  ScopeSelector: {
    1: list("matchExpressions", "ScopedResourceSelectorRequirement"),
  },
  ScopedResourceSelectorRequirement: {
    1: required("scopeName", "string"),
    2: required("operator", "string"),
    3: list("values", "string"),
  },
  Secret: {
    1: field("metadata", "ObjectMeta"),
    5: pointer("immutable", "bool"),
    2: map("data", "bytes"),
    4: map("stringData", "string"),
    3: field("type", "string"),
  },
  Service: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "ServiceSpec"),
  },
  ServiceAccount: {
    1: field("metadata", "ObjectMeta"),
    2: list("secrets", "ObjectReference"),
    3: list("imagePullSecrets", "LocalObjectReference"),
    4: pointer("automountServiceAccountToken", "bool"),
  },
  ServicePort: {
    1: field("name", "string"),
    2: field("protocol", "string"),
    6: pointer("appProtocol", "string"),
    3: required("port", "int32"),
    4: field("targetPort", "IntOrString"),
    5: field("nodePort", "int32"),
  },
  ServiceSpec: {
    1: list("ports", "ServicePort"),
    2: map("selector", "string"),
    3: field("clusterIP", "string"),
    18: list("clusterIPs", "string"),
    4: field("type", "string"),
    5: list("externalIPs", "string"),
    7: field("sessionAffinity", "string"),
    8: field("loadBalancerIP", "string"),
    9: list("loadBalancerSourceRanges", "string"),
    10: field("externalName", "string"),
    11: field("externalTrafficPolicy", "string"),
    12: field("healthCheckNodePort", "int32"),
    13: field("publishNotReadyAddresses", "bool"),
    14: field("sessionAffinityConfig", "SessionAffinityConfig"),
    19: list("ipFamilies", "string"),
    17: pointer("ipFamilyPolicy", "string"),
    20: pointer("allocateLoadBalancerNodePorts", "bool"),
    21: pointer("loadBalancerClass", "string"),
    22: pointer("internalTrafficPolicy", "string"),
    23: pointer("trafficDistribution", "string"),
  },
  SessionAffinityConfig: {
    1: field("clientIP", "ClientIPConfig"),
  },
};
