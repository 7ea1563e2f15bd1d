// The Job controller's arithmetic (upstream pkg/controller/job): counting a Job's pods, how
// many should be active, when it has failed or completed, the pod-failure backoff, and its
// conditions. Pure functions of the Job, its pods and the time.

import { formatTime, type KubeObject, parseTime } from "../../kube/objects.ts";
import { isPodActive, isPodReady } from "./pod-control.ts";

export const JOB_CONTROLLER_NAME = "kubernetes.io/job-controller";
export const DEFAULT_POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 6 * 60_000;

export const BACKOFF_LIMIT_MESSAGE = "Job has reached the specified backoff limit";
export const DEADLINE_MESSAGE = "Job was active longer than specified deadline";
export const COMPLETIONS_MESSAGE = "Reached expected number of succeeded pods";

export interface JobCondition {
  type: string;
  status: "True" | "False";
  lastProbeTime: string;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export interface JobPodCounts {
  /** Pending or running and not being deleted. */
  active: KubeObject[];
  /** Active pods whose Ready condition is True. */
  ready: number;
  /** Being deleted but not finished yet. */
  terminating: number;
  succeeded: number;
  failed: number;
}

/**
 * Counts a Job's pods. Succeeded and failed never go down: pods already counted in the status
 * may have been deleted since (we count from pods, not with tracking finalizers).
 */
export function countPods(job: KubeObject, pods: readonly KubeObject[]): JobPodCounts {
  const active = pods.filter(isPodActive);
  let succeeded = 0;
  let failed = 0;
  let terminating = 0;
  for (const p of pods) {
    if (p.status?.phase === "Succeeded") succeeded++;
    else if (p.status?.phase === "Failed") failed++;
    else if (p.metadata.deletionTimestamp) terminating++;
  }
  return {
    active,
    ready: active.filter(isPodReady).length,
    terminating,
    succeeded: Math.max(succeeded, job.status?.succeeded ?? 0),
    failed: Math.max(failed, job.status?.failed ?? 0),
  };
}

export function findCondition(job: KubeObject, type: string): JobCondition | undefined {
  return (job.status?.conditions ?? []).find((c: JobCondition) => c.type === type);
}

const conditionTrue = (job: KubeObject, type: string) => findCondition(job, type)?.status === "True";

/** Complete or Failed: nothing more to do for the Job. */
export function isJobFinished(job: KubeObject): boolean {
  return conditionTrue(job, "Complete") || conditionTrue(job, "Failed");
}

export function isSuspended(job: KubeObject): boolean {
  return job.spec?.suspend === true;
}

/**
 * How many pods should be active: parallelism, but never more than the completions still
 * missing. Without completions (a work queue), once any pod succeeded the rest are left to
 * finish and none are added.
 */
export function wantActive(job: KubeObject, succeeded: number, active: number): number {
  const parallelism = job.spec?.parallelism ?? 1;
  const completions = job.spec?.completions;
  if (completions == null) return succeeded > 0 ? active : parallelism;
  return Math.max(0, Math.min(parallelism, completions - succeeded));
}

/** Enough pods succeeded and none is still running. */
export function isComplete(job: KubeObject, succeeded: number, active: number): boolean {
  const completions = job.spec?.completions;
  if (active > 0) return false;
  return completions == null ? succeeded > 0 : succeeded >= completions;
}

/** With restartPolicy OnFailure, container restarts of running pods count against backoffLimit. */
export function pastBackoffLimitOnFailure(job: KubeObject, pods: readonly KubeObject[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== "OnFailure") return false;
  let restarts = 0;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase !== "Running" && phase !== "Pending") continue;
    for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])])
      restarts += s.restartCount ?? 0;
  }
  const limit = job.spec?.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

/** Milliseconds until activeDeadlineSeconds passes (≤ 0: passed; undefined: no deadline running). */
export function deadlineRemainingMs(job: KubeObject, now: number): number | undefined {
  const seconds = job.spec?.activeDeadlineSeconds;
  const start = parseTime(job.status?.startTime);
  if (seconds == null || Number.isNaN(start) || isSuspended(job)) return undefined;
  return start + seconds * 1000 - now;
}

/** Why the Job has failed, if it has (backoff limit before deadline, as upstream checks). */
export function failureOf(
  job: KubeObject,
  pods: readonly KubeObject[],
  failed: number,
  now: number,
): { reason: string; message: string } | undefined {
  if (failed > (job.spec?.backoffLimit ?? 6) || pastBackoffLimitOnFailure(job, pods))
    return { reason: "BackoffLimitExceeded", message: BACKOFF_LIMIT_MESSAGE };
  const left = deadlineRemainingMs(job, now);
  if (left !== undefined && left <= 0) return { reason: "DeadlineExceeded", message: DEADLINE_MESSAGE };
  return undefined;
}

/**
 * When a finished pod finished (upstream's getFinishedTime): when it stopped being ready, else
 * when its last container ended, else its deletion, else its creation.
 */
export function podFinishedTime(pod: KubeObject): number {
  const ready = (pod.status?.conditions ?? []).find((c: any) => c.type === "Ready");
  if (ready?.status === "False") {
    const t = parseTime(ready.lastTransitionTime);
    if (!Number.isNaN(t)) return t;
  }
  let last = Number.NaN;
  for (const s of pod.status?.containerStatuses ?? []) {
    const t = parseTime(s.state?.terminated?.finishedAt);
    if (!Number.isNaN(t) && (Number.isNaN(last) || t > last)) last = t;
  }
  if (!Number.isNaN(last)) return last;
  const deleted = parseTime(pod.metadata.deletionTimestamp);
  if (!Number.isNaN(deleted)) return deleted;
  return parseTime(pod.metadata.creationTimestamp);
}

/**
 * How long to wait before replacing failed pods: `base` doubling with every failure since the
 * last success (capped at `max`), counted from the latest failure.
 */
export function backoffRemainingMs(
  pods: readonly KubeObject[],
  now: number,
  base = DEFAULT_POD_FAILURE_BACKOFF_MS,
  max = MAX_POD_FAILURE_BACKOFF_MS,
): number {
  const finished = pods
    .filter((p) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed")
    .map((p) => ({ failed: p.status.phase === "Failed", at: podFinishedTime(p) }))
    .sort((a, b) => a.at - b.at);
  let failures = 0;
  let lastFailure = Number.NaN;
  for (const f of finished) {
    if (f.failed) {
      failures++;
      lastFailure = f.at;
    } else {
      failures = 0;
    }
  }
  if (failures === 0 || Number.isNaN(lastFailure)) return 0;
  const backoff = Math.min(max, base * 2 ** (failures - 1));
  return Math.max(0, lastFailure + backoff - now);
}

/**
 * Which `n` active pods to remove first: unscheduled before scheduled, pending before
 * running, not ready before ready, then the newest (they have done the least work).
 */
export function podsToRemove(active: readonly KubeObject[], n: number): KubeObject[] {
  if (n <= 0) return [];
  const rank = (p: KubeObject) => [
    p.spec?.nodeName ? 1 : 0,
    p.status?.phase === "Running" ? 1 : 0,
    isPodReady(p) ? 1 : 0,
    -parseTime(p.metadata.creationTimestamp) || 0,
  ];
  return [...active]
    .sort((a, b) => {
      const x = rank(a);
      const y = rank(b);
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
      return 0;
    })
    .slice(0, n);
}

export function newCondition(
  type: string,
  status: "True" | "False",
  reason: string,
  message: string,
  now: number,
): JobCondition {
  const t = formatTime(now);
  return { type, status, lastProbeTime: t, lastTransitionTime: t, reason, message };
}

/**
 * Sets a condition (upstream's ensureJobConditionStatus): replaced when its status, reason or
 * message differ; a False condition is not added where none exists. Answers the new list and
 * whether it changed.
 */
export function ensureCondition(
  conditions: readonly JobCondition[],
  type: string,
  status: "True" | "False",
  reason: string,
  message: string,
  now: number,
): { conditions: JobCondition[]; changed: boolean } {
  const i = conditions.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = conditions[i];
    if (c.status === status && (c.reason ?? "") === reason && (c.message ?? "") === message)
      return { conditions: [...conditions], changed: false };
    const next = [...conditions];
    next[i] = newCondition(type, status, reason, message, now);
    return { conditions: next, changed: true };
  }
  if (status === "False") return { conditions: [...conditions], changed: false };
  return { conditions: [...conditions, newCondition(type, status, reason, message, now)], changed: true };
}
