// protobuf field numbers from k8s.io/api batch/v1/generated.proto (k8s 1.33, as compiled into kubectl 1.33.1).
// Job and CronJob. `status` is left out: a create ignores it.
// `pointer`: a Go pointer field (a zero on the wire is a value); `required`: no omitempty (JSON prints zero).
import type { MessageTable } from "./schema.ts";
import { field, list, pointer, required } from "./schema.ts";

export const BATCH_MESSAGES: MessageTable = {
  CronJob: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "CronJobSpec"),
  },
  CronJobSpec: {
    1: required("schedule", "string"),
    8: pointer("timeZone", "string"),
    2: pointer("startingDeadlineSeconds", "int64"),
    3: field("concurrencyPolicy", "string"),
    4: pointer("suspend", "bool"),
    5: field("jobTemplate", "JobTemplateSpec"),
    6: pointer("successfulJobsHistoryLimit", "int32"),
    7: pointer("failedJobsHistoryLimit", "int32"),
  },
  Job: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "JobSpec"),
  },
  JobSpec: {
    1: pointer("parallelism", "int32"),
    2: pointer("completions", "int32"),
    3: pointer("activeDeadlineSeconds", "int64"),
    11: field("podFailurePolicy", "PodFailurePolicy"),
    16: field("successPolicy", "SuccessPolicy"),
    7: pointer("backoffLimit", "int32"),
    12: pointer("backoffLimitPerIndex", "int32"),
    13: pointer("maxFailedIndexes", "int32"),
    4: field("selector", "LabelSelector"),
    5: pointer("manualSelector", "bool"),
    6: field("template", "PodTemplateSpec"),
    8: pointer("ttlSecondsAfterFinished", "int32"),
    9: pointer("completionMode", "string"),
    10: pointer("suspend", "bool"),
    14: pointer("podReplacementPolicy", "string"),
    15: pointer("managedBy", "string"),
  },
  JobTemplateSpec: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "JobSpec"),
  },
  PodFailurePolicy: {
    1: list("rules", "PodFailurePolicyRule"),
  },
  PodFailurePolicyOnExitCodesRequirement: {
    1: pointer("containerName", "string"),
    2: required("operator", "string"),
    3: list("values", "int32"),
  },
  PodFailurePolicyOnPodConditionsPattern: {
    1: required("type", "string"),
    2: required("status", "string"),
  },
  PodFailurePolicyRule: {
    1: required("action", "string"),
    2: field("onExitCodes", "PodFailurePolicyOnExitCodesRequirement"),
    3: list("onPodConditions", "PodFailurePolicyOnPodConditionsPattern"),
  },
  SuccessPolicy: {
    1: list("rules", "SuccessPolicyRule"),
  },
  SuccessPolicyRule: {
    1: pointer("succeededIndexes", "string"),
    2: pointer("succeededCount", "int32"),
  },
};
