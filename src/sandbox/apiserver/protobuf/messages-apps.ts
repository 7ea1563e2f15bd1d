// protobuf field numbers from k8s.io/api apps/v1/generated.proto (k8s 1.33, as compiled into kubectl 1.33.1).
// Deployment, ReplicaSet, DaemonSet. `status` is left out: a create ignores it.
// `pointer`: a Go pointer field (a zero on the wire is a value); `required`: no omitempty (JSON prints zero).
import type { MessageTable } from "./schema.ts";
import { field, pointer } from "./schema.ts";

export const APPS_MESSAGES: MessageTable = {
  DaemonSet: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "DaemonSetSpec"),
  },
  DaemonSetSpec: {
    1: field("selector", "LabelSelector"),
    2: field("template", "PodTemplateSpec"),
    3: field("updateStrategy", "DaemonSetUpdateStrategy"),
    4: field("minReadySeconds", "int32"),
    6: pointer("revisionHistoryLimit", "int32"),
  },
  DaemonSetUpdateStrategy: {
    1: field("type", "string"),
    2: field("rollingUpdate", "RollingUpdateDaemonSet"),
  },
  Deployment: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "DeploymentSpec"),
  },
  DeploymentSpec: {
    1: pointer("replicas", "int32"),
    2: field("selector", "LabelSelector"),
    3: field("template", "PodTemplateSpec"),
    4: field("strategy", "DeploymentStrategy"),
    5: field("minReadySeconds", "int32"),
    6: pointer("revisionHistoryLimit", "int32"),
    7: field("paused", "bool"),
    9: pointer("progressDeadlineSeconds", "int32"),
  },
  DeploymentStrategy: {
    1: field("type", "string"),
    2: field("rollingUpdate", "RollingUpdateDeployment"),
  },
  ReplicaSet: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "ReplicaSetSpec"),
  },
  ReplicaSetSpec: {
    1: pointer("replicas", "int32"),
    4: field("minReadySeconds", "int32"),
    2: field("selector", "LabelSelector"),
    3: field("template", "PodTemplateSpec"),
  },
  RollingUpdateDaemonSet: {
    1: pointer("maxUnavailable", "IntOrString"),
    2: pointer("maxSurge", "IntOrString"),
  },
  RollingUpdateDeployment: {
    1: pointer("maxUnavailable", "IntOrString"),
    2: pointer("maxSurge", "IntOrString"),
  },
};
