// The arithmetic of Deployment rollouts, as upstream's deployment/util computes it: surge and
// unavailability budgets, how far the new ReplicaSet may grow and the old ones shrink in one
// step, proportional scaling while a rollout is in flight, and the bookkeeping annotations.
// Pure functions over plain objects; deployment.ts does the API calls.

import type { KubeObject } from "../../kube/objects.ts";

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";
const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
const ROLLBACK_TO_ANNOTATION = "deprecated.deployment.rollback.to";

/** Deployment annotations that describe the Deployment itself and are not copied to its ReplicaSets. */
const NOT_COPIED = new Set([
  LAST_APPLIED_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  ROLLBACK_TO_ANNOTATION,
]);

/** Upstream caps the revision-history annotation at this many characters. */
const MAX_REVISION_HISTORY_CHARS = 2000;

// ------------------------------------------------------------------ counts

export const specReplicas = (obj: KubeObject | undefined): number => obj?.spec?.replicas ?? 1;

/** Sum of spec.replicas. */
export const sumSpecReplicas = (rss: KubeObject[]): number => rss.reduce((n, rs) => n + specReplicas(rs), 0);

/** Sum of status.replicas (pods that exist). */
export const sumActualReplicas = (rss: KubeObject[]): number =>
  rss.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);

export const sumReadyReplicas = (rss: KubeObject[]): number =>
  rss.reduce((n, rs) => n + (rs.status?.readyReplicas ?? 0), 0);

export const sumAvailableReplicas = (rss: KubeObject[]): number =>
  rss.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);

/** ReplicaSets that should have pods. */
export const activeReplicaSets = (rss: (KubeObject | undefined)[]): KubeObject[] =>
  rss.filter((rs): rs is KubeObject => rs !== undefined && specReplicas(rs) > 0);

// ------------------------------------------------------------------ ordering

const created = (rs: KubeObject) => Date.parse(rs.metadata.creationTimestamp ?? "") || 0;

/** Oldest first; equal times by name (upstream's ReplicaSetsByCreationTimestamp). */
export function byCreation(a: KubeObject, b: KubeObject): number {
  const d = created(a) - created(b);
  if (d !== 0) return d;
  return (a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1;
}

/** Larger first; equal sizes newest first (for handing out extra replicas). */
export const bySizeNewer = (a: KubeObject, b: KubeObject): number =>
  specReplicas(b) - specReplicas(a) || byCreation(b, a);

/** Larger first; equal sizes oldest first (for taking replicas away). */
export const bySizeOlder = (a: KubeObject, b: KubeObject): number =>
  specReplicas(b) - specReplicas(a) || byCreation(a, b);

export function revisionOf(obj: KubeObject): number {
  const v = Number(obj.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isInteger(v) && v > 0 ? v : 0;
}

export const maxRevision = (rss: KubeObject[]): number =>
  rss.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);

/** Lowest revision first; equal revisions by creation. */
export const byRevision = (a: KubeObject, b: KubeObject): number =>
  revisionOf(a) - revisionOf(b) || byCreation(a, b);

// ------------------------------------------------------------------ budgets

/**
 * An int-or-percent against `total`: percentages round up for surge and down for
 * unavailability (upstream's GetScaledValueFromIntOrPercent).
 */
export function scaledValue(v: number | string | undefined | null, total: number, roundUp: boolean): number {
  if (v == null) return 0;
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v.trim());
  if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage: ${v}`);
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** Surge and unavailability for `desired` replicas; both 0 would deadlock, so unavailability becomes 1. */
export function resolveFenceposts(
  maxSurge: number | string | undefined,
  maxUnavailable: number | string | undefined,
  desired: number,
): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, desired, true);
  let unavailable = scaledValue(maxUnavailable, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export const isRollingUpdate = (d: KubeObject): boolean =>
  (d.spec?.strategy?.type ?? "RollingUpdate") === "RollingUpdate";

function fenceposts(d: KubeObject): { surge: number; unavailable: number } {
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return resolveFenceposts(ru.maxSurge ?? "25%", ru.maxUnavailable ?? "25%", specReplicas(d));
}

/** Pods allowed above spec.replicas during a rollout (0 for Recreate). */
export function maxSurge(d: KubeObject): number {
  return isRollingUpdate(d) ? fenceposts(d).surge : 0;
}

/** Pods allowed to be unavailable during a rollout, at most spec.replicas (0 for Recreate). */
export function maxUnavailable(d: KubeObject): number {
  const replicas = specReplicas(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(fenceposts(d).unavailable, replicas);
}

// ------------------------------------------------------------------ rolling steps

/** The size the new ReplicaSet may grow to now (upstream's NewRSNewReplicas). */
export function newRSNewReplicas(d: KubeObject, allRSs: KubeObject[], newRS: KubeObject): number {
  if (!isRollingUpdate(d)) return specReplicas(d);
  const current = sumSpecReplicas(allRSs);
  const maxTotal = specReplicas(d) + maxSurge(d);
  if (current >= maxTotal) return specReplicas(newRS);
  const up = Math.min(maxTotal - current, specReplicas(d) - specReplicas(newRS));
  return specReplicas(newRS) + up;
}

/**
 * How many old replicas may go now without dropping below spec.replicas - maxUnavailable,
 * counting the new ReplicaSet's unavailable pods as already missing.
 */
export function maxScaledDown(d: KubeObject, allRSs: KubeObject[], newRS: KubeObject): number {
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  return sumSpecReplicas(allRSs) - minAvailable - newUnavailable;
}

export interface ScaleStep {
  rs: KubeObject;
  to: number;
}

/**
 * Old ReplicaSets' unavailable replicas to drop first, oldest ReplicaSet first, at most
 * `limit` in all (upstream's cleanupUnhealthyReplicas): they serve nobody.
 */
export function unhealthyCleanupSteps(oldRSs: KubeObject[], limit: number): ScaleStep[] {
  const steps: ScaleStep[] = [];
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= limit) break;
    const replicas = specReplicas(rs);
    const unhealthy = replicas - (rs.status?.availableReplicas ?? 0);
    if (replicas === 0 || unhealthy <= 0) continue;
    const down = Math.min(limit - total, unhealthy);
    steps.push({ rs, to: replicas - down });
    total += down;
  }
  return steps;
}

/**
 * Old ReplicaSets to shrink, oldest first, by as much as availability above
 * spec.replicas - maxUnavailable allows (upstream's scaleDownOldReplicaSetsForRollingUpdate).
 */
export function oldScaleDownSteps(d: KubeObject, allRSs: KubeObject[], oldRSs: KubeObject[]): ScaleStep[] {
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const available = sumAvailableReplicas(allRSs);
  if (available <= minAvailable) return [];
  const budget = available - minAvailable;
  const steps: ScaleStep[] = [];
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= budget) break;
    const replicas = specReplicas(rs);
    if (replicas === 0) continue;
    const down = Math.min(replicas, budget - total);
    steps.push({ rs, to: replicas - down });
    total += down;
  }
  return steps;
}

// ------------------------------------------------------------------ scaling

/** The one ReplicaSet with replicas, else the new one or the newest old one; undefined when several are active. */
export function findActiveOrLatest(
  newRS: KubeObject | undefined,
  oldRSs: KubeObject[],
): KubeObject | undefined {
  if (!newRS && !oldRSs.length) return undefined;
  const olds = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets([...olds, newRS]);
  if (active.length === 0) return newRS ?? olds[0];
  if (active.length === 1) return active[0];
  return undefined;
}

function annotatedInt(rs: KubeObject, name: string): number | undefined {
  const v = rs.metadata.annotations?.[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

/** The new ReplicaSet has all the replicas the Deployment wants, all available. */
export function isSaturated(d: KubeObject, rs: KubeObject | undefined): boolean {
  if (!rs) return false;
  const desired = annotatedInt(rs, DESIRED_REPLICAS_ANNOTATION);
  const want = specReplicas(d);
  return specReplicas(rs) === want && desired === want && (rs.status?.availableReplicas ?? 0) === want;
}

/** Rounds half away from zero, as upstream's integer.RoundToInt32. */
const roundHalfAway = (x: number): number => (x < 0 ? Math.trunc(x - 0.5) : Math.trunc(x + 0.5));

/** The change a ReplicaSet's share of a resize would make (upstream's getReplicaSetFraction). */
function fraction(rs: KubeObject, d: KubeObject): number {
  if (specReplicas(d) === 0) return -specReplicas(rs);
  const deploymentReplicas = specReplicas(d) + maxSurge(d);
  const annotated = annotatedInt(rs, MAX_REPLICAS_ANNOTATION) ?? d.status?.replicas ?? 0;
  // Upstream would divide by zero here; with no reference size the leftover logic decides.
  if (!annotated) return 0;
  return roundHalfAway((specReplicas(rs) * deploymentReplicas) / annotated) - specReplicas(rs);
}

/**
 * New sizes for the active ReplicaSets when a Deployment is resized mid-rollout (upstream's
 * proportional scaling): each gets a share of the change in proportion to its size, and the
 * rounding leftover goes to the largest. `rss` must be the active ReplicaSets.
 */
export function proportionalSizes(d: KubeObject, rss: KubeObject[]): Map<KubeObject, number> {
  const sizes = new Map<KubeObject, number>();
  const allowed = specReplicas(d) > 0 ? specReplicas(d) + maxSurge(d) : 0;
  const toAdd = allowed - sumSpecReplicas(rss);
  const ordered = [...rss].sort(toAdd > 0 ? bySizeNewer : bySizeOlder);
  let added = 0;
  for (const rs of ordered) {
    let share = 0;
    if (toAdd !== 0 && specReplicas(rs) !== 0 && toAdd !== added) {
      const f = fraction(rs, d);
      share = toAdd > 0 ? Math.min(f, toAdd - added) : Math.max(f, toAdd - added);
    }
    sizes.set(rs, specReplicas(rs) + share);
    added += share;
  }
  if (ordered.length && added !== toAdd) {
    const first = ordered[0];
    sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
  }
  return sizes;
}

// ------------------------------------------------------------------ annotations

/** Sets desired-replicas and max-replicas on `rs` (mutates); answers whether anything changed. */
export function setReplicasAnnotations(rs: KubeObject, desired: number, max: number): boolean {
  rs.metadata.annotations ??= {};
  const a = rs.metadata.annotations;
  const changed =
    a[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || a[MAX_REPLICAS_ANNOTATION] !== String(max);
  a[DESIRED_REPLICAS_ANNOTATION] = String(desired);
  a[MAX_REPLICAS_ANNOTATION] = String(max);
  return changed;
}

/** Copies the Deployment's own annotations to `rs` (mutates); answers whether anything changed. */
export function copyDeploymentAnnotations(d: KubeObject, rs: KubeObject): boolean {
  rs.metadata.annotations ??= {};
  const a = rs.metadata.annotations;
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (NOT_COPIED.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  return changed;
}

/**
 * The annotations of the new ReplicaSet (upstream's SetNewReplicaSetAnnotations, mutating):
 * the Deployment's annotations, the revision raised to `newRevision` (the old one joins the
 * revision history), and for a ReplicaSet being created the replicas annotations.
 */
export function setNewReplicaSetAnnotations(
  d: KubeObject,
  rs: KubeObject,
  newRevision: number,
  exists: boolean,
): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const a = rs.metadata.annotations!;
  const old = a[REVISION_ANNOTATION];
  const oldRevision = old === undefined ? 0 : Number(old);
  if (!Number.isInteger(oldRevision)) return changed; // not ours to fix
  if (oldRevision < newRevision) {
    a[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (old !== undefined) {
      const history = a[REVISION_HISTORY_ANNOTATION] ? `${a[REVISION_HISTORY_ANNOTATION]},${old}` : old;
      const parts = history.split(",");
      while (parts.join(",").length > MAX_REVISION_HISTORY_CHARS && parts.length > 1) parts.shift();
      a[REVISION_HISTORY_ANNOTATION] = parts.join(",");
    }
  }
  if (!exists && setReplicasAnnotations(rs, specReplicas(d), specReplicas(d) + maxSurge(d))) changed = true;
  return changed;
}
