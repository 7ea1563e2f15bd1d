// Allowed values of common built-in string fields. Upstream publishes these as `enum` in its
// OpenAPI (kubectl 1.33 `explain` prints them as an ENUM block), but the client-node models
// drop them, so the most-used ones are listed here. Values are sorted, as upstream sorts them.

const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"];

const ENUMS: Record<string, Record<string, string[]>> = {
  V1PodSpec: {
    restartPolicy: ["Always", "Never", "OnFailure"],
    dnsPolicy: ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
    preemptionPolicy: ["Never", "PreemptLowerPriority"],
  },
  V1Container: {
    imagePullPolicy: ["Always", "IfNotPresent", "Never"],
    terminationMessagePolicy: ["FallbackToLogsOnError", "File"],
  },
  V1ContainerPort: { protocol: PROTOCOLS },
  V1ServicePort: { protocol: PROTOCOLS },
  CoreV1EndpointPort: { protocol: PROTOCOLS },
  DiscoveryV1EndpointPort: { protocol: PROTOCOLS },
  V1ServiceSpec: {
    type: ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    sessionAffinity: ["ClientIP", "None"],
    externalTrafficPolicy: ["Cluster", "Local"],
    internalTrafficPolicy: ["Cluster", "Local"],
    ipFamilyPolicy: ["PreferDualStack", "RequireDualStack", "SingleStack"],
  },
  V1Toleration: { effect: TAINT_EFFECTS, operator: ["Equal", "Exists"] },
  V1Taint: { effect: TAINT_EFFECTS },
  V1PodStatus: { phase: ["Failed", "Pending", "Running", "Succeeded", "Unknown"] },
  V1NamespaceStatus: { phase: ["Active", "Terminating"] },
  V1DeploymentStrategy: { type: ["Recreate", "RollingUpdate"] },
  V1DaemonSetUpdateStrategy: { type: ["OnDelete", "RollingUpdate"] },
  V1JobSpec: { completionMode: ["Indexed", "NonIndexed"] },
};

/** Every (model, field) the table knows, for checking it against the models. */
export function enumEntries(): { model: string; field: string; values: string[] }[] {
  return Object.entries(ENUMS).flatMap(([model, fields]) =>
    Object.entries(fields).map(([field, values]) => ({ model, field, values })),
  );
}

/** The allowed values of a built-in string field, when known. */
export function enumOf(model: string, field: string): string[] | undefined {
  const fields = ENUMS[model];
  return fields && Object.hasOwn(fields, field) ? fields[field] : undefined;
}
