// protobuf field numbers from k8s.io/api networking/v1/generated.proto (k8s 1.33, as compiled into kubectl 1.33.1).
// Ingress (`create ingress`). `status` is left out: a create ignores it.
// `pointer`: a Go pointer field (a zero on the wire is a value); `required`: no omitempty (JSON prints zero).
import type { MessageTable } from "./schema.ts";
import { embedded, field, list, pointer, required } from "./schema.ts";

export const NETWORKING_MESSAGES: MessageTable = {
  HTTPIngressPath: {
    1: field("path", "string"),
    3: pointer("pathType", "string"),
    2: field("backend", "IngressBackend"),
  },
  HTTPIngressRuleValue: {
    1: list("paths", "HTTPIngressPath"),
  },
  Ingress: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "IngressSpec"),
  },
  IngressBackend: {
    4: field("service", "IngressServiceBackend"),
    3: field("resource", "TypedLocalObjectReference"),
  },
  IngressRule: {
    1: field("host", "string"),
    2: embedded("IngressRuleValue"),
  },
  IngressRuleValue: {
    1: field("http", "HTTPIngressRuleValue"),
  },
  IngressServiceBackend: {
    1: required("name", "string"),
    2: field("port", "ServiceBackendPort"),
  },
  IngressSpec: {
    4: pointer("ingressClassName", "string"),
    1: field("defaultBackend", "IngressBackend"),
    2: list("tls", "IngressTLS"),
    3: list("rules", "IngressRule"),
  },
  IngressTLS: {
    1: list("hosts", "string"),
    2: field("secretName", "string"),
  },
  ServiceBackendPort: {
    1: field("name", "string"),
    2: field("number", "int32"),
  },
};
