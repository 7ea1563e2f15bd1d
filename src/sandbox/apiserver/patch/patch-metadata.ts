// Strategic-merge-patch metadata of the built-in types: which list fields merge (and by which
// key) instead of being replaced, and which fields clear sibling keys via `$retainKeys`.
//
// Facts from the `patchStrategy` / `patchMergeKey` struct tags in upstream k8s.io/api
// (core/v1, apps/v1, batch/v1, autoscaling/v2, policy/v1, admissionregistration/v1), k8s.io/apimachinery
// (meta/v1 ObjectMeta) and kube-aggregator (apiregistration/v1), as published in the OpenAPI
// spec as `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`. Keys are the
// @kubernetes/client-node model names the schema module uses.
//
// Fields absent here have no strategy, so a patch replaces them whole. Notable ones that are
// often assumed to merge but do not: PodSpec.tolerations, NodeSpec.taints,
// ServiceSpec.externalIPs, Container.resizePolicy / envFrom / args, EndpointSubset.addresses /
// ports, EndpointSlice.endpoints, CustomResourceDefinitionStatus.conditions.

export type PatchStrategy = "merge" | "replace" | "retainKeys" | "merge,retainKeys";

export interface PatchMeta {
  strategy: PatchStrategy;
  /** The field identifying an item of a merged list of objects; absent for primitive lists. */
  mergeKey?: string;
}

const mergeBy = (mergeKey: string): PatchMeta => ({ strategy: "merge", mergeKey });
const mergeRetainingKeysBy = (mergeKey: string): PatchMeta => ({ strategy: "merge,retainKeys", mergeKey });
const MERGE_PRIMITIVES: PatchMeta = { strategy: "merge" };
const RETAIN_KEYS: PatchMeta = { strategy: "retainKeys" };
const CONDITIONS_BY_TYPE = { conditions: mergeBy("type") };

// Container and EphemeralContainer (EphemeralContainerCommon) carry the same tags.
const CONTAINER_LISTS = {
  ports: mergeBy("containerPort"),
  env: mergeBy("name"),
  volumeMounts: mergeBy("mountPath"),
  volumeDevices: mergeBy("devicePath"),
};

const TABLE: Record<string, Record<string, PatchMeta>> = {
  // meta/v1
  V1ObjectMeta: { ownerReferences: mergeBy("uid"), finalizers: MERGE_PRIMITIVES },

  // core/v1
  V1PodSpec: {
    volumes: mergeRetainingKeysBy("name"),
    initContainers: mergeBy("name"),
    containers: mergeBy("name"),
    ephemeralContainers: mergeBy("name"),
    imagePullSecrets: mergeBy("name"),
    hostAliases: mergeBy("ip"),
    topologySpreadConstraints: mergeBy("topologyKey"),
    schedulingGates: mergeBy("name"),
    resourceClaims: mergeRetainingKeysBy("name"),
  },
  V1Container: CONTAINER_LISTS,
  V1EphemeralContainer: CONTAINER_LISTS,
  V1PodStatus: {
    conditions: mergeBy("type"),
    podIPs: mergeBy("ip"),
    hostIPs: mergeBy("ip"),
    resourceClaimStatuses: mergeRetainingKeysBy("name"),
  },
  V1ContainerStatus: { allocatedResourcesStatus: mergeBy("name") },
  V1NodeSpec: { podCIDRs: MERGE_PRIMITIVES },
  V1NodeStatus: { conditions: mergeBy("type"), addresses: mergeBy("type") },
  V1ServiceSpec: { ports: mergeBy("port") },
  V1ServiceStatus: CONDITIONS_BY_TYPE,
  V1ServiceAccount: { secrets: mergeBy("name") },
  V1NamespaceStatus: CONDITIONS_BY_TYPE,
  V1PersistentVolumeClaimStatus: CONDITIONS_BY_TYPE,
  V1ReplicationControllerStatus: CONDITIONS_BY_TYPE,
  V1ComponentStatus: CONDITIONS_BY_TYPE,

  // apps/v1
  V1DeploymentSpec: { strategy: RETAIN_KEYS },
  V1DeploymentStatus: CONDITIONS_BY_TYPE,
  V1ReplicaSetStatus: CONDITIONS_BY_TYPE,
  V1DaemonSetStatus: CONDITIONS_BY_TYPE,
  V1StatefulSetStatus: CONDITIONS_BY_TYPE,

  // batch/v1, autoscaling/v2, policy/v1, admissionregistration/v1, apiregistration/v1
  V1JobStatus: CONDITIONS_BY_TYPE,
  V2HorizontalPodAutoscalerStatus: CONDITIONS_BY_TYPE,
  V1PodDisruptionBudgetStatus: CONDITIONS_BY_TYPE,
  V1ValidatingWebhookConfiguration: { webhooks: mergeBy("name") },
  V1MutatingWebhookConfiguration: { webhooks: mergeBy("name") },
  V1APIServiceStatus: CONDITIONS_BY_TYPE,
};

/** The patch metadata of `field` in `model`, or undefined when the field has no strategy. */
export function patchMetaFor(model: string, field: string): PatchMeta | undefined {
  const fields = TABLE[model];
  return fields && Object.hasOwn(fields, field) ? fields[field] : undefined;
}

/** Whether a list field merges (by key or as a set) rather than being replaced. */
export function mergesList(meta: PatchMeta | undefined): boolean {
  return meta?.strategy === "merge" || meta?.strategy === "merge,retainKeys";
}

/** Every (model, field) the table knows, for checking it against the schema. */
export function patchMetaEntries(): Array<{ model: string; field: string; meta: PatchMeta }> {
  return Object.entries(TABLE).flatMap(([model, fields]) =>
    Object.entries(fields).map(([field, meta]) => ({ model, field, meta })),
  );
}
