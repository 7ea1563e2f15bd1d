// The batch/v1 Job strategy: SetDefaults_Job, the generated selector and pod labels tying a
// Job to its pods, ValidateJob, and the fields that freeze once a Job exists.

import { fromLabelSelector, matches } from "../../../kube/labels.ts";
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, invalid, notSupported, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { nonNegative, validateSelectorImmutable } from "./controller-common.ts";
import { goLabelSelector, goStringMap, goStruct, goValue } from "./go-format.ts";
import { isObject, type Json, objects } from "./json.ts";
import {
  selectorCompiles,
  validateLabelSelector,
  validateSelectorMatchesTemplate,
} from "./label-selector.ts";
import {
  dns1123Label,
  dns1123Subdomain,
  FIELD_IMMUTABLE,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";
import { defaultPodTemplate } from "./pod-defaults.ts";
import { validatePodTemplateSpec } from "./pod-spec.ts";
import { canonicalJson } from "./semantic-equal.ts";

export const CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid";
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
export const LEGACY_CONTROLLER_UID_LABEL = "controller-uid";
export const LEGACY_JOB_NAME_LABEL = "job-name";

const MAX_INT32 = 2147483647;
const COMPLETION_MODES = ["NonIndexed", "Indexed"];
const REPLACEMENT_POLICIES = ["Failed", "TerminatingOrFailed"];

function defaults(job: KubeObject): void {
  const spec: Json = job.spec;
  if (!spec || typeof spec !== "object") return;
  // A non-parallel job may leave both unset.
  if (spec.completions == null && spec.parallelism == null) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (spec.parallelism == null) spec.parallelism = 1;
  if (spec.backoffLimit == null) spec.backoffLimit = spec.backoffLimitPerIndex != null ? MAX_INT32 : 6;
  const templateLabels = spec.template?.metadata?.labels;
  if (isObject(templateLabels) && !Object.keys(job.metadata.labels ?? {}).length)
    job.metadata.labels = { ...templateLabels };
  if (!spec.completionMode) spec.completionMode = "NonIndexed";
  if (spec.suspend == null) spec.suspend = false;
  for (const rule of objects(spec.podFailurePolicy?.rules))
    for (const pattern of objects(rule.onPodConditions)) if (!pattern.status) pattern.status = "True";
  if (spec.podReplacementPolicy == null)
    spec.podReplacementPolicy = spec.podFailurePolicy ? "Failed" : "TerminatingOrFailed";
  if (spec.manualSelector == null) spec.manualSelector = false;
  defaultPodTemplate(spec.template);
}

/**
 * Before a Job is stored: unless the user picked the selector (manualSelector), select the
 * Job's own pods by its uid and label the template so its pods carry the uid and Job name.
 * The server sets metadata.uid before calling this.
 */
export function prepareJobForCreate(job: KubeObject): void {
  job.status = {};
  const spec: Json = job.spec;
  if (!spec || typeof spec !== "object") return;
  if (spec.manualSelector == null) spec.manualSelector = false;
  if (spec.manualSelector) return;
  spec.template ??= {};
  if (!isObject(spec.template)) return;
  spec.template.metadata ??= {};
  if (!isObject(spec.template.metadata)) return;
  spec.template.metadata.labels ??= {};
  const labels = spec.template.metadata.labels;
  // A malformed template or selector is left for validation to report.
  if (!isObject(labels)) return;
  const name = job.metadata.name ?? "";
  const uid = job.metadata.uid ?? "";
  // Labels the user set are kept; a conflicting value fails validation instead.
  for (const key of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) labels[key] ??= name;
  for (const key of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) labels[key] ??= uid;
  spec.selector ??= {};
  if (!isObject(spec.selector)) return;
  spec.selector.matchLabels ??= {};
  if (isObject(spec.selector.matchLabels)) spec.selector.matchLabels[CONTROLLER_UID_LABEL] ??= uid;
}

/** ValidateHasLabel: the template must carry `key` with the expected value. */
function hasLabel(labels: Record<string, string> | undefined, key: string, want: string): FieldError[] {
  const path = `spec.template.metadata.labels[${key}]`;
  if (!isObject(labels) || !(key in labels)) return [required(path, `must be '${want}'`)];
  if (labels[key] !== want) return [invalid(path, goValue(goStringMap(labels)), `must be '${want}'`)];
  return [];
}

/** A generated selector must be the one the server generated, matching the generated labels. */
function validateGeneratedSelector(job: KubeObject): FieldError[] {
  const spec: Json = job.spec ?? {};
  if (spec.manualSelector === true || !spec.selector) return [];
  const errs: FieldError[] = [];
  const uid = job.metadata.uid ?? "";
  const name = job.metadata.name ?? "";
  if (!uid) errs.push(required("metadata.uid", ""));
  const labels = spec.template?.metadata?.labels;
  errs.push(...hasLabel(labels, LEGACY_CONTROLLER_UID_LABEL, uid));
  errs.push(...hasLabel(labels, LEGACY_JOB_NAME_LABEL, name));
  errs.push(...hasLabel(labels, CONTROLLER_UID_LABEL, uid));
  errs.push(...hasLabel(labels, JOB_NAME_LABEL, name));
  const expected = {
    [CONTROLLER_UID_LABEL]: uid,
    [JOB_NAME_LABEL]: name,
    [LEGACY_CONTROLLER_UID_LABEL]: uid,
    [LEGACY_JOB_NAME_LABEL]: name,
  };
  if (selectorCompiles(spec.selector) && !matches(fromLabelSelector(spec.selector), expected))
    errs.push(
      invalid("spec.selector", goValue(goLabelSelector(spec.selector)), "`selector` not auto-generated"),
    );
  return errs;
}

function validateSpec(spec: Json): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of [
    "parallelism",
    "completions",
    "activeDeadlineSeconds",
    "backoffLimit",
    "ttlSecondsAfterFinished",
    "backoffLimitPerIndex",
    "maxFailedIndexes",
  ])
    errs.push(...nonNegative(spec[f], `spec.${f}`));
  if (spec.maxFailedIndexes != null && spec.backoffLimitPerIndex == null)
    errs.push(required("spec.backoffLimitPerIndex", "when maxFailedIndexes is specified"));
  if (spec.completionMode != null) {
    if (!COMPLETION_MODES.includes(spec.completionMode))
      errs.push(notSupported("spec.completionMode", spec.completionMode, COMPLETION_MODES));
    if (spec.completionMode === "Indexed" && spec.completions == null)
      errs.push(required("spec.completions", "when completion mode is Indexed"));
  }
  if ((spec.completionMode ?? "NonIndexed") === "NonIndexed") {
    if (spec.backoffLimitPerIndex != null)
      errs.push(
        invalid("spec.backoffLimitPerIndex", spec.backoffLimitPerIndex, "requires indexed completion mode"),
      );
    if (spec.maxFailedIndexes != null)
      errs.push(invalid("spec.maxFailedIndexes", spec.maxFailedIndexes, "requires indexed completion mode"));
  }
  if (spec.podReplacementPolicy != null) {
    if (spec.podFailurePolicy) {
      if (spec.podReplacementPolicy !== "Failed")
        errs.push(notSupported("spec.podReplacementPolicy", spec.podReplacementPolicy, ["Failed"]));
    } else if (!REPLACEMENT_POLICIES.includes(spec.podReplacementPolicy)) {
      errs.push(notSupported("spec.podReplacementPolicy", spec.podReplacementPolicy, REPLACEMENT_POLICIES));
    }
  }
  errs.push(...validatePodTemplateSpec(spec.template, "spec.template"));
  // Run-to-completion pods may not restart forever; Always is what defaulting would pick.
  const restart = spec.template?.spec?.restartPolicy ?? "";
  if (restart === "Always" || restart === "")
    errs.push(required("spec.template.spec.restartPolicy", 'valid values: "OnFailure", "Never"'));
  else if (restart !== "OnFailure" && restart !== "Never")
    errs.push(notSupported("spec.template.spec.restartPolicy", restart, ["OnFailure", "Never"]));
  else if (spec.podFailurePolicy && restart !== "Never")
    errs.push(
      invalid(
        "spec.template.spec.restartPolicy",
        restart,
        'only "Never" is supported when podFailurePolicy is specified',
      ),
    );
  if (!spec.selector) errs.push(required("spec.selector", ""));
  else errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
  if (selectorCompiles(spec.selector))
    errs.push(
      ...validateSelectorMatchesTemplate(
        spec.selector,
        spec.template?.metadata?.labels,
        "spec.template.metadata.labels",
      ),
    );
  return errs;
}

function validate(job: KubeObject): FieldError[] {
  const errs = validateObjectMeta(job.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
  errs.push(...validateGeneratedSelector(job));
  const spec: Json = job.spec && typeof job.spec === "object" ? job.spec : {};
  errs.push(...validateSpec(spec));
  // Indexed pods are named <job>-<index>, which must stay a DNS label.
  if (spec.completionMode === "Indexed" && spec.completions > 0) {
    const longest = `${job.metadata.name}-${spec.completions - 1}`;
    if (dns1123Label(longest).length)
      errs.push(
        invalid(
          "metadata.name",
          job.metadata.name ?? "",
          `will not able to create pod with invalid DNS label: ${longest}`,
        ),
      );
  }
  return errs;
}

function immutable(next: unknown, prev: unknown, path: string, shown: unknown): FieldError[] {
  return canonicalJson(next) === canonicalJson(prev) ? [] : [invalid(path, shown, FIELD_IMMUTABLE)];
}

/** A suspended Job that never started may still retarget its pods (scheduling directives). */
function comparableTemplate(
  template: Json | undefined,
  other: Json | undefined,
  mutableScheduling: boolean,
): Json | undefined {
  if (!mutableScheduling || !template) return template;
  const t = structuredClone(template);
  t.metadata ??= {};
  t.spec ??= {};
  t.metadata.labels = other?.metadata?.labels;
  t.metadata.annotations = other?.metadata?.annotations;
  t.spec.nodeSelector = other?.spec?.nodeSelector;
  t.spec.tolerations = other?.spec?.tolerations;
  t.spec.schedulingGates = other?.spec?.schedulingGates;
  if (t.spec.affinity || other?.spec?.affinity)
    t.spec.affinity = { ...(t.spec.affinity ?? {}), nodeAffinity: other?.spec?.affinity?.nodeAffinity };
  return t;
}

function validateUpdate(job: KubeObject, old: KubeObject): FieldError[] {
  const spec: Json = job.spec ?? {};
  const prev: Json = old.spec ?? {};
  const errs = validateObjectMetaUpdate(job.metadata, old.metadata);
  errs.push(...immutable(spec.completions, prev.completions, "spec.completions", spec.completions ?? null));
  errs.push(...validateSelectorImmutable(spec.selector, prev.selector, "spec.selector"));
  const mutableScheduling = prev.suspend === true && !old.status?.startTime;
  const before = comparableTemplate(prev.template, spec.template, mutableScheduling);
  errs.push(
    ...immutable(
      spec.template,
      before,
      "spec.template",
      goValue(goStruct("core.PodTemplateSpec", spec.template)),
    ),
  );
  for (const f of [
    "completionMode",
    "podFailurePolicy",
    "backoffLimitPerIndex",
    "managedBy",
    "successPolicy",
  ])
    errs.push(
      ...immutable(
        spec[f],
        prev[f],
        `spec.${f}`,
        typeof spec[f] === "object" && spec[f] ? goValue(goStruct(f, spec[f])) : (spec[f] ?? null),
      ),
    );
  return errs;
}

export const jobStrategy: Strategy = {
  hasStatus: true,
  tracksGeneration: true,
  defaults,
  prepareForCreate: prepareJobForCreate,
  validate,
  validateUpdate,
  selectableFields(job) {
    return { "status.successful": String(job.status?.succeeded ?? 0) };
  },
};
