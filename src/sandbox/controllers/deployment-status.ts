// A Deployment's status as upstream computes it: counts summed over its ReplicaSets, the
// Available condition, and the Progressing condition that `kubectl rollout status` and the
// progress deadline are read from.

import { formatTime, type KubeObject } from "../../kube/objects.ts";
import {
  maxUnavailable,
  specReplicas,
  sumActualReplicas,
  sumAvailableReplicas,
  sumReadyReplicas,
  sumSpecReplicas,
} from "./deployment-rollout.ts";
import { type Condition, getCondition, removeCondition, setCondition } from "./workload-status.ts";

// Condition reasons (upstream's deployment/util constants).
export const NEW_RS_CREATED = "NewReplicaSetCreated";
export const FOUND_NEW_RS = "FoundNewReplicaSet";
export const RS_UPDATED = "ReplicaSetUpdated";
export const NEW_RS_AVAILABLE = "NewReplicaSetAvailable";
export const TIMED_OUT = "ProgressDeadlineExceeded";
export const FAILED_RS_CREATE = "ReplicaSetCreateError";
export const PAUSED = "DeploymentPaused";
export const RESUMED = "DeploymentResumed";
export const MIN_AVAILABLE = "MinimumReplicasAvailable";
export const MIN_UNAVAILABLE = "MinimumReplicasUnavailable";

/** progressDeadlineSeconds set and not "infinite" (MaxInt32). */
export function hasProgressDeadline(d: KubeObject): boolean {
  const s = d.spec?.progressDeadlineSeconds;
  return typeof s === "number" && s !== 2147483647;
}

export function deploymentCondition(
  type: string,
  status: string,
  reason: string,
  message: string,
  now: number,
): Condition {
  const t = formatTime(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** Counts and the Available condition (upstream's calculateStatus); other conditions are carried over. */
export function calculateStatus(
  allRSs: KubeObject[],
  newRS: KubeObject | undefined,
  d: KubeObject,
  now: number,
): any {
  const available = sumAvailableReplicas(allRSs);
  const unavailable = Math.max(0, sumSpecReplicas(allRSs) - available);
  const counts: Record<string, number> = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: sumActualReplicas(allRSs),
    updatedReplicas: newRS ? sumActualReplicas([newRS]) : 0,
    readyReplicas: sumReadyReplicas(allRSs),
    availableReplicas: available,
    unavailableReplicas: unavailable,
  };
  // Zero counts are left out, as upstream's omitempty does.
  const status: any = Object.fromEntries(Object.entries(counts).filter(([, v]) => v !== 0));
  if (d.status?.collisionCount != null) status.collisionCount = d.status.collisionCount;
  const cond =
    available >= specReplicas(d) - maxUnavailable(d)
      ? deploymentCondition("Available", "True", MIN_AVAILABLE, "Deployment has minimum availability.", now)
      : deploymentCondition(
          "Available",
          "False",
          MIN_UNAVAILABLE,
          "Deployment does not have minimum availability.",
          now,
        );
  status.conditions = setCondition(structuredClone(d.status?.conditions ?? []), cond);
  return status;
}

/** Every replica updated, existing and available, and the latest spec observed. */
export function deploymentComplete(d: KubeObject, status: any): boolean {
  const want = specReplicas(d);
  return (
    (status.updatedReplicas ?? 0) === want &&
    (status.replicas ?? 0) === want &&
    (status.availableReplicas ?? 0) === want &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** The rollout moved since the last status: more updated, ready or available pods, or fewer old ones. */
export function deploymentProgressing(d: KubeObject, status: any): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (status.replicas ?? 0) - (status.updatedReplicas ?? 0);
  return (
    (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (status.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** The Progressing condition was last updated longer than progressDeadlineSeconds ago. */
export function deploymentTimedOut(d: KubeObject, status: any, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getCondition(status.conditions, "Progressing");
  if (!cond) return false;
  if (cond.reason === NEW_RS_AVAILABLE) return false;
  if (cond.reason === TIMED_OUT) return true;
  const from = Date.parse(cond.lastUpdateTime ?? "");
  return !Number.isNaN(from) && from + d.spec.progressDeadlineSeconds * 1000 < now;
}

/**
 * The status at the end of a rollout step (upstream's syncRolloutStatus): calculateStatus plus
 * the Progressing condition and the new ReplicaSet's failures.
 */
export function rolloutStatus(
  allRSs: KubeObject[],
  newRS: KubeObject | undefined,
  d: KubeObject,
  now: number,
): any {
  const status = calculateStatus(allRSs, newRS, d, now);
  if (!hasProgressDeadline(d)) status.conditions = removeCondition(status.conditions, "Progressing");
  const current = getCondition(d.status?.conditions, "Progressing");
  const complete = status.replicas === status.updatedReplicas && current?.reason === NEW_RS_AVAILABLE;
  if (hasProgressDeadline(d) && !complete) {
    const subject = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
    if (deploymentComplete(d, status)) {
      status.conditions = setCondition(
        status.conditions,
        deploymentCondition(
          "Progressing",
          "True",
          NEW_RS_AVAILABLE,
          `${subject} has successfully progressed.`,
          now,
        ),
      );
    } else if (deploymentProgressing(d, status)) {
      // Progress refreshes lastUpdateTime (the deadline counts from it) but keeps the transition time.
      const cond = deploymentCondition("Progressing", "True", RS_UPDATED, `${subject} is progressing.`, now);
      if (current?.status === "True") cond.lastTransitionTime = current.lastTransitionTime;
      status.conditions = [...removeCondition(status.conditions, "Progressing"), cond];
    } else if (deploymentTimedOut(d, status, now)) {
      status.conditions = setCondition(
        status.conditions,
        deploymentCondition("Progressing", "False", TIMED_OUT, `${subject} has timed out progressing.`, now),
      );
    }
  }
  const failure = replicaFailure(allRSs, newRS);
  status.conditions = failure
    ? setCondition(status.conditions, failure)
    : removeCondition(status.conditions, "ReplicaFailure");
  if (!status.conditions.length) delete status.conditions;
  return status;
}

/** The first ReplicaFailure condition among the ReplicaSets (the new one first), as a Deployment condition. */
function replicaFailure(allRSs: KubeObject[], newRS: KubeObject | undefined): Condition | undefined {
  const ordered = newRS ? [newRS, ...allRSs.filter((rs) => rs !== newRS)] : allRSs;
  for (const rs of ordered) {
    const c = getCondition(rs.status?.conditions, "ReplicaFailure");
    if (c)
      return {
        type: "ReplicaFailure",
        status: c.status,
        lastUpdateTime: c.lastTransitionTime,
        lastTransitionTime: c.lastTransitionTime,
        reason: c.reason,
        message: c.message,
      };
  }
  return undefined;
}

/**
 * When to look at a rollout again so it is marked timed out on time (ms from now), or
 * undefined when there is no deadline to watch (upstream's requeueStuckDeployment).
 */
export function stuckRecheckInMs(d: KubeObject, status: any, now: number): number | undefined {
  const cond = getCondition(status.conditions, "Progressing");
  if (!hasProgressDeadline(d) || !cond) return undefined;
  if (deploymentComplete(d, status) || cond.reason === TIMED_OUT) return undefined;
  const from = Date.parse(cond.lastUpdateTime ?? "");
  if (Number.isNaN(from)) return undefined;
  const after = from + d.spec.progressDeadlineSeconds * 1000 - now;
  return after < 1000 ? 1000 : after + 1000;
}
