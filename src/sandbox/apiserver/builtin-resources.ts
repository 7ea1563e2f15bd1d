// The built-in resources the sandbox serves: names, scope, subresources and model, as a
// real 1.33 API server advertises them in discovery.

export interface BuiltinResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: string[];
  model: string;
  /** Verbs when not the standard eight (e.g. bindings only support create). */
  verbs?: string[];
}

export const STANDARD_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

export const BUILTIN_RESOURCES: BuiltinResource[] = [
  {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    singular: "namespace",
    namespaced: false,
    shortNames: ["ns"],
    subresources: ["status", "finalize"],
    model: "V1Namespace",
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
  },
  {
    group: "",
    version: "v1",
    kind: "Pod",
    plural: "pods",
    singular: "pod",
    namespaced: true,
    shortNames: ["po"],
    categories: ["all"],
    subresources: ["status", "binding", "log", "exec", "attach", "portforward", "eviction"],
    model: "V1Pod",
  },
  {
    group: "",
    version: "v1",
    kind: "Service",
    plural: "services",
    singular: "service",
    namespaced: true,
    shortNames: ["svc"],
    categories: ["all"],
    subresources: ["status"],
    model: "V1Service",
  },
  {
    group: "",
    version: "v1",
    kind: "Endpoints",
    plural: "endpoints",
    singular: "endpoints",
    namespaced: true,
    shortNames: ["ep"],
    model: "V1Endpoints",
  },
  {
    group: "",
    version: "v1",
    kind: "Node",
    plural: "nodes",
    singular: "node",
    namespaced: false,
    shortNames: ["no"],
    subresources: ["status"],
    model: "V1Node",
  },
  {
    group: "",
    version: "v1",
    kind: "Event",
    plural: "events",
    singular: "event",
    namespaced: true,
    shortNames: ["ev"],
    model: "CoreV1Event",
  },
  {
    group: "",
    version: "v1",
    kind: "ConfigMap",
    plural: "configmaps",
    singular: "configmap",
    namespaced: true,
    shortNames: ["cm"],
    model: "V1ConfigMap",
  },
  {
    group: "",
    version: "v1",
    kind: "Secret",
    plural: "secrets",
    singular: "secret",
    namespaced: true,
    model: "V1Secret",
  },
  {
    group: "",
    version: "v1",
    kind: "ServiceAccount",
    plural: "serviceaccounts",
    singular: "serviceaccount",
    namespaced: true,
    shortNames: ["sa"],
    model: "V1ServiceAccount",
  },
  {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    singular: "deployment",
    namespaced: true,
    shortNames: ["deploy"],
    categories: ["all"],
    subresources: ["status", "scale"],
    model: "V1Deployment",
  },
  {
    group: "apps",
    version: "v1",
    kind: "ReplicaSet",
    plural: "replicasets",
    singular: "replicaset",
    namespaced: true,
    shortNames: ["rs"],
    categories: ["all"],
    subresources: ["status", "scale"],
    model: "V1ReplicaSet",
  },
  {
    group: "apps",
    version: "v1",
    kind: "DaemonSet",
    plural: "daemonsets",
    singular: "daemonset",
    namespaced: true,
    shortNames: ["ds"],
    categories: ["all"],
    subresources: ["status"],
    model: "V1DaemonSet",
  },
  {
    group: "batch",
    version: "v1",
    kind: "Job",
    plural: "jobs",
    singular: "job",
    namespaced: true,
    categories: ["all"],
    subresources: ["status"],
    model: "V1Job",
  },
  {
    group: "discovery.k8s.io",
    version: "v1",
    kind: "EndpointSlice",
    plural: "endpointslices",
    singular: "endpointslice",
    namespaced: true,
    model: "V1EndpointSlice",
  },
  {
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    plural: "leases",
    singular: "lease",
    namespaced: true,
    model: "V1Lease",
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    singular: "customresourcedefinition",
    namespaced: false,
    shortNames: ["crd", "crds"],
    categories: ["api-extensions"],
    subresources: ["status"],
    model: "V1CustomResourceDefinition",
  },
];

/** Preferred order of groups in discovery, as a real server lists them. */
export const GROUP_ORDER = [
  "",
  "apps",
  "batch",
  "coordination.k8s.io",
  "discovery.k8s.io",
  "apiextensions.k8s.io",
];
