// The Deployment controller: rolls a Deployment's pod template out through ReplicaSets. The
// ReplicaSet whose template equals the Deployment's is the new one (created when missing,
// named after the template hash); the others are old. RollingUpdate grows the new one and
// shrinks the old ones within maxSurge/maxUnavailable; Recreate empties the old ones first.
// A resize without a template change is plain (or proportional) scaling. Status last.

import { type Clock, systemClock } from "../../kube/clock.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../kube/errors.ts";
import type { EventRecorder } from "../../kube/events.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import { fromLabelSelector, matches, type Requirement } from "../../kube/labels.ts";
import { controllerOf, type KubeObject, type OwnerReference, objectKey } from "../../kube/objects.ts";
import { DEPLOYMENTS, PODS, REPLICASETS } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";
import {
  activeReplicaSets,
  byCreation,
  byRevision,
  DESIRED_REPLICAS_ANNOTATION,
  findActiveOrLatest,
  isSaturated,
  maxRevision,
  maxScaledDown,
  maxSurge,
  newRSNewReplicas,
  oldScaleDownSteps,
  proportionalSizes,
  REVISION_ANNOTATION,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  specReplicas,
  sumActualReplicas,
  sumSpecReplicas,
  unhealthyCleanupSteps,
} from "./deployment-rollout.ts";
import {
  calculateStatus,
  deploymentComplete,
  deploymentCondition,
  FAILED_RS_CREATE,
  FOUND_NEW_RS,
  hasProgressDeadline,
  NEW_RS_CREATED,
  PAUSED,
  RESUMED,
  rolloutStatus,
  stuckRecheckInMs,
} from "./deployment-status.ts";
import {
  CONTROLLER_INDEX,
  checkOwnerFresh,
  claimCandidates,
  ensureControllerIndex,
  executeClaims,
  planClaims,
} from "./owner-claims.ts";
import { controllerRefTo, errorMessage } from "./pod-control.ts";
import { computeTemplateHash, POD_TEMPLATE_HASH_LABEL, templatesEqualIgnoringHash } from "./template-hash.ts";
import { getCondition, sameStatus, setCondition } from "./workload-status.ts";

export const DEPLOYMENT_COMPONENT = "deployment-controller";

export interface DeploymentControllerOptions {
  /** Parallel syncs (upstream's --concurrent-deployment-syncs). Default 5. */
  workers?: number;
  clock?: Clock;
}

/**
 * The working state of one sync: a private copy of the Deployment (its status is built up in
 * memory and written once, at the end) and private copies of its ReplicaSets.
 */
interface SyncState {
  d: KubeObject;
  /** Status as stored, to decide whether the final write is needed. */
  storedStatus: any;
  rsList: KubeObject[];
}

/** The new ReplicaSet (oldest whose template matches the Deployment's) and the rest. */
export function splitReplicaSets(
  d: KubeObject,
  rsList: KubeObject[],
): { newRS?: KubeObject; oldRSs: KubeObject[] } {
  const newRS = [...rsList]
    .sort(byCreation)
    .find((rs) => templatesEqualIgnoringHash(rs.spec?.template, d.spec?.template));
  return { newRS, oldRSs: rsList.filter((rs) => rs !== newRS) };
}

/** A resize rather than a rollout: an active ReplicaSet was sized for another spec.replicas. */
export function isScalingEvent(d: KubeObject, rsList: KubeObject[]): boolean {
  for (const rs of activeReplicaSets(rsList)) {
    const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
    if (desired === undefined || !/^-?\d+$/.test(desired)) continue;
    if (Number(desired) !== specReplicas(d)) return true;
  }
  return false;
}

export class DeploymentController implements Controller {
  readonly name = "deployment-controller";
  private readonly queue = new WorkQueue();
  private readonly workers: number;
  private readonly clock: Clock;
  private deployments!: SharedInformer;
  private replicaSets!: SharedInformer;
  private pods!: SharedInformer;
  private ctx!: ControllerContext;
  private recorder!: EventRecorder;

  constructor(opts: DeploymentControllerOptions = {}) {
    this.workers = opts.workers ?? 5;
    this.clock = opts.clock ?? systemClock;
  }

  setup(ctx: ControllerContext): void {
    this.ctx = ctx;
    // Also drops delayed keys (expectation and deadline timers) when stopped before run().
    ctx.signal.addEventListener("abort", () => this.queue.shutDown(), { once: true });
    this.recorder = ctx.recorder(DEPLOYMENT_COMPONENT);
    this.deployments = ctx.informers.informerFor(DEPLOYMENTS);
    this.replicaSets = ctx.informers.informerFor(REPLICASETS);
    this.pods = ctx.informers.informerFor(PODS);
    ensureControllerIndex(this.replicaSets);
    ensureControllerIndex(this.pods);
    const enqueue = (d: KubeObject) => this.queue.add(objectKey(d));
    this.deployments.addEventHandler({ onAdd: enqueue, onUpdate: (_o, d) => enqueue(d), onDelete: enqueue });
    this.replicaSets.addEventHandler({
      onAdd: (rs) => this.replicaSetChanged(undefined, rs),
      onUpdate: (old, rs) => this.replicaSetChanged(old, rs),
      onDelete: (rs) => {
        const d = this.resolve(rs.metadata.namespace, controllerOf(rs));
        if (d) enqueue(d);
      },
    });
    // Recreate waits for the old pods to be gone; their deletions are what it waits for.
    this.pods.addEventHandler({
      onDelete: (pod) => {
        const ref = controllerOf(pod);
        if (ref?.kind !== "ReplicaSet") return;
        const rs = this.replicaSets.get(`${pod.metadata.namespace}/${ref.name}`);
        if (rs?.metadata.uid !== ref.uid) return;
        const d = this.resolve(rs.metadata.namespace, controllerOf(rs));
        if (d && d.spec?.strategy?.type === "Recreate") enqueue(d);
      },
    });
  }

  run(ctx: ControllerContext): Promise<void> {
    this.ctx = ctx;
    return runQueue(ctx, this.name, this.queue, this.workers, (key) => this.syncDeployment(key));
  }

  // ------------------------------------------------------------ event handlers: keys only

  private resolve(namespace: string | undefined, ref: OwnerReference | undefined): KubeObject | undefined {
    if (ref?.kind !== "Deployment") return undefined;
    const d = this.deployments.get(`${namespace}/${ref.name}`);
    return d?.metadata.uid === ref.uid ? d : undefined;
  }

  private replicaSetChanged(old: KubeObject | undefined, rs: KubeObject): void {
    if (old && old.metadata.resourceVersion === rs.metadata.resourceVersion) return; // a resync
    const ref = controllerOf(rs);
    const oldRef = old && controllerOf(old);
    if (oldRef && oldRef.uid !== ref?.uid) {
      const previous = this.resolve(old.metadata.namespace, oldRef);
      if (previous) this.queue.add(objectKey(previous));
    }
    if (ref) {
      const d = this.resolve(rs.metadata.namespace, ref);
      if (d) this.queue.add(objectKey(d));
      return;
    }
    // An orphan: every Deployment that might adopt it.
    const labelsChanged = !old || JSON.stringify(old.metadata.labels) !== JSON.stringify(rs.metadata.labels);
    if (!labelsChanged && !oldRef) return;
    for (const d of this.deployments.byIndex("namespace", rs.metadata.namespace ?? "")) {
      try {
        if (matches(fromLabelSelector(d.spec?.selector), rs.metadata.labels)) this.queue.add(objectKey(d));
      } catch {
        // an invalid selector adopts nothing
      }
    }
  }

  // ------------------------------------------------------------ sync

  /** Moves one Deployment (by key) one step towards its spec; idempotent. */
  async syncDeployment(key: string): Promise<void> {
    const cached = this.deployments.get(key);
    if (!cached) return; // deleted: the garbage collector removes its ReplicaSets
    let selector: Requirement[] | null;
    try {
      selector = fromLabelSelector(cached.spec?.selector);
    } catch (err) {
      this.ctx.log.warn({ key, err: String(err) }, "deployment has an invalid selector; ignoring it");
      return;
    }
    const claimed = await this.claimReplicaSets(cached, selector);
    const s: SyncState = {
      d: structuredClone(cached),
      storedStatus: cached.status ?? {},
      rsList: claimed.map((rs) => structuredClone(rs)),
    };
    if (s.d.metadata.deletionTimestamp) return this.syncStatusOnly(s);
    this.checkPausedConditions(s);
    if (s.d.spec?.paused || isScalingEvent(s.d, s.rsList)) return this.syncScaling(s);
    if (s.d.spec?.strategy?.type === "Recreate") return this.rolloutRecreate(s);
    return this.rolloutRolling(s);
  }

  private async claimReplicaSets(d: KubeObject, selector: Requirement[] | null): Promise<KubeObject[]> {
    const plan = planClaims(d, selector, claimCandidates(this.replicaSets, d));
    return executeClaims(
      this.ctx.client,
      REPLICASETS,
      plan,
      controllerRefTo(d, "apps/v1", "Deployment"),
      () => checkOwnerFresh(this.ctx.client, DEPLOYMENTS, d),
    );
  }

  /** Marks a pause or resume on the Progressing condition (in memory; written with the status). */
  private checkPausedConditions(s: SyncState): void {
    const { d } = s;
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status?.conditions, "Progressing");
    if (cond?.reason === "ProgressDeadlineExceeded") return; // a timed-out rollout stays so
    const paused = Boolean(d.spec?.paused);
    const now = this.clock.now();
    let next: ReturnType<typeof deploymentCondition> | undefined;
    if (paused && cond?.reason !== PAUSED)
      next = deploymentCondition("Progressing", "Unknown", PAUSED, "Deployment is paused", now);
    else if (!paused && cond?.reason === PAUSED)
      next = deploymentCondition("Progressing", "Unknown", RESUMED, "Deployment is resumed", now);
    if (next) d.status = { ...d.status, conditions: setCondition(d.status?.conditions, next) };
  }

  // ------------------------------------------------------------ the new ReplicaSet

  /**
   * The new ReplicaSet, brought up to date (revision, annotations, minReadySeconds), or created
   * when `create` and missing. Also syncs the Deployment's revision annotation.
   */
  private async getNewReplicaSet(s: SyncState, create: boolean): Promise<KubeObject | undefined> {
    const { d } = s;
    const { newRS: existing, oldRSs } = splitReplicaSets(d, s.rsList);
    const newRevision = maxRevision(oldRSs) + 1;
    const now = this.clock.now();
    if (existing) {
      let rs = existing;
      const copy = structuredClone(existing);
      const annotationsChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const minReady = d.spec?.minReadySeconds ?? 0;
      if (annotationsChanged || (copy.spec.minReadySeconds ?? 0) !== minReady) {
        copy.spec.minReadySeconds = minReady;
        rs = await this.ctx.client.update(REPLICASETS, copy);
        this.replace(s, existing, rs);
      }
      await this.setDeploymentRevision(s, rs.metadata.annotations?.[REVISION_ANNOTATION]);
      if (hasProgressDeadline(d) && !getCondition(d.status?.conditions, "Progressing")) {
        const cond = deploymentCondition(
          "Progressing",
          "True",
          FOUND_NEW_RS,
          `Found new replica set "${rs.metadata.name}"`,
          now,
        );
        d.status = { ...d.status, conditions: setCondition(d.status?.conditions, cond) };
      }
      return rs;
    }
    if (!create) return undefined;

    const hash = computeTemplateHash(d.spec.template, d.status?.collisionCount);
    const template = structuredClone(d.spec.template);
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    const selector = structuredClone(d.spec.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    const newRS: KubeObject = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        ownerReferences: [controllerRefTo(d, "apps/v1", "Deployment")],
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    newRS.spec.replicas = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    setNewReplicaSetAnnotations(d, newRS, newRevision, false);

    let created: KubeObject;
    let alreadyExists = false;
    try {
      created = await this.ctx.client.create(REPLICASETS, newRS);
    } catch (err) {
      if (isAlreadyExists(err)) {
        created = await this.existingNamesake(s, newRS, err);
        alreadyExists = true;
      } else {
        const msg = `Failed to create new replica set "${newRS.metadata.name}": ${errorMessage(err)}`;
        if (hasProgressDeadline(d)) {
          const cond = deploymentCondition("Progressing", "False", FAILED_RS_CREATE, msg, now);
          d.status = { ...d.status, conditions: setCondition(d.status?.conditions, cond) };
          await this.writeStatus(s, d.status).catch(() => {});
        }
        this.recorder.event(d, "Warning", FAILED_RS_CREATE, msg);
        throw err;
      }
    }
    s.rsList.push(created);
    if (!alreadyExists && specReplicas(created) > 0)
      this.recorder.event(
        d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled up replica set ${created.metadata.name} to ${specReplicas(created)}`,
      );
    await this.setDeploymentRevision(s, String(newRevision));
    if (!alreadyExists && hasProgressDeadline(d)) {
      const cond = deploymentCondition(
        "Progressing",
        "True",
        NEW_RS_CREATED,
        `Created new replica set "${created.metadata.name}"`,
        now,
      );
      d.status = { ...d.status, conditions: setCondition(d.status?.conditions, cond) };
    }
    return created;
  }

  /**
   * A ReplicaSet of the new one's name already exists. If it is ours with our template, the
   * cache just has not caught up: use it. Otherwise the hash collided with a foreign
   * ReplicaSet: bump status.collisionCount (which changes the hash) and retry.
   */
  private async existingNamesake(s: SyncState, newRS: KubeObject, err: unknown): Promise<KubeObject> {
    const { d } = s;
    const rs = await this.ctx.client.get(REPLICASETS, d.metadata.namespace!, newRS.metadata.name!);
    if (
      controllerOf(rs)?.uid === d.metadata.uid &&
      templatesEqualIgnoringHash(rs.spec?.template, d.spec.template)
    )
      return rs;
    const count = (d.status?.collisionCount ?? 0) + 1;
    await this.writeStatus(s, { ...s.storedStatus, collisionCount: count });
    this.ctx.log.info(
      { deployment: objectKey(d), collisionCount: count },
      "pod-template-hash collision; retrying",
    );
    throw err;
  }

  /** The Deployment's revision annotation follows its new ReplicaSet's (a metadata write). */
  private async setDeploymentRevision(s: SyncState, revision: string | undefined): Promise<void> {
    const { d } = s;
    if (revision === undefined || d.metadata.annotations?.[REVISION_ANNOTATION] === revision) return;
    const updated = await this.ctx.client.patch(
      DEPLOYMENTS,
      d.metadata.namespace!,
      d.metadata.name!,
      "merge",
      {
        metadata: { annotations: { [REVISION_ANNOTATION]: revision } },
      },
    );
    d.metadata.annotations = { ...(d.metadata.annotations ?? {}), [REVISION_ANNOTATION]: revision };
    // Only the version moves on: the spec this sync works from stays the one it read.
    d.metadata.resourceVersion = updated.metadata.resourceVersion;
  }

  private newAndOld(
    s: SyncState,
    newRS: KubeObject | undefined,
  ): { oldRSs: KubeObject[]; allRSs: KubeObject[] } {
    const oldRSs = s.rsList.filter((rs) => rs !== newRS);
    return { oldRSs, allRSs: newRS ? [...oldRSs, newRS] : oldRSs };
  }

  private replace(s: SyncState, old: KubeObject, updated: KubeObject): void {
    const i = s.rsList.indexOf(old);
    if (i >= 0) s.rsList[i] = updated;
  }

  // ------------------------------------------------------------ scaling ReplicaSets

  /** Sets a ReplicaSet's size (and replicas annotations); records ScalingReplicaSet. Answers the updated ReplicaSet. */
  private async scaleReplicaSet(
    s: SyncState,
    rs: KubeObject,
    to: number,
  ): Promise<{ scaled: boolean; rs: KubeObject }> {
    const { d } = s;
    const from = specReplicas(rs);
    const copy = structuredClone(rs);
    const annotationsChanged = setReplicasAnnotations(copy, specReplicas(d), specReplicas(d) + maxSurge(d));
    if (from === to && !annotationsChanged) return { scaled: false, rs };
    copy.spec.replicas = to;
    const updated = await this.ctx.client.update(REPLICASETS, copy);
    this.replace(s, rs, updated);
    if (from !== to)
      this.recorder.event(
        d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled ${from < to ? "up" : "down"} replica set ${rs.metadata.name} to ${to} from ${from}`,
      );
    return { scaled: from !== to, rs: updated };
  }

  /**
   * Resizes without rolling out (upstream's scale): the only active ReplicaSet takes
   * spec.replicas; with several active mid-rollout, the change is shared proportionally.
   */
  private async scale(s: SyncState, newRS: KubeObject | undefined, oldRSs: KubeObject[]): Promise<void> {
    const { d } = s;
    const target = findActiveOrLatest(newRS, oldRSs);
    if (target) {
      if (specReplicas(target) !== specReplicas(d) || this.needsReplicasAnnotations(d, target))
        await this.scaleReplicaSet(s, target, specReplicas(d));
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of activeReplicaSets(oldRSs)) await this.scaleReplicaSet(s, old, 0);
      return;
    }
    if (d.spec?.strategy?.type === "Recreate") return; // upstream scales proportionally only for RollingUpdate
    const sizes = proportionalSizes(d, activeReplicaSets([...oldRSs, newRS]));
    for (const [rs, size] of sizes) await this.scaleReplicaSet(s, rs, size);
  }

  private needsReplicasAnnotations(d: KubeObject, rs: KubeObject): boolean {
    return setReplicasAnnotations(structuredClone(rs), specReplicas(d), specReplicas(d) + maxSurge(d));
  }

  // ------------------------------------------------------------ strategies

  /** Paused or resized: scale, prune history when paused, write status. */
  private async syncScaling(s: SyncState): Promise<void> {
    const newRS = await this.getNewReplicaSet(s, false);
    const { oldRSs } = this.newAndOld(s, newRS);
    await this.scale(s, newRS, oldRSs);
    const after = this.newAndOld(s, this.current(s, newRS));
    if (s.d.spec?.paused) await this.cleanupHistory(s, after.oldRSs);
    await this.writeStatus(s, calculateStatus(after.allRSs, this.current(s, newRS), s.d, this.clock.now()));
  }

  /** A Deployment being deleted only gets its status refreshed. */
  private async syncStatusOnly(s: SyncState): Promise<void> {
    const newRS = await this.getNewReplicaSet(s, false);
    const { allRSs } = this.newAndOld(s, newRS);
    await this.writeStatus(s, calculateStatus(allRSs, newRS, s.d, this.clock.now()));
  }

  /** `rs` as it is in the state now (it may have been replaced by an updated copy). */
  private current(s: SyncState, rs: KubeObject | undefined): KubeObject | undefined {
    if (!rs) return undefined;
    return s.rsList.find((x) => x.metadata.uid === rs.metadata.uid) ?? rs;
  }

  private async rolloutRolling(s: SyncState): Promise<void> {
    const { d } = s;
    let newRS = (await this.getNewReplicaSet(s, true))!;
    // Grow the new ReplicaSet as far as maxSurge allows.
    if (specReplicas(newRS) !== specReplicas(d)) {
      const to =
        specReplicas(newRS) > specReplicas(d) ? specReplicas(d) : newRSNewReplicas(d, s.rsList, newRS);
      const r = await this.scaleReplicaSet(s, newRS, to);
      newRS = r.rs;
      if (r.scaled) return this.syncRolloutStatus(s, newRS);
    }
    // Shrink the old ones as far as maxUnavailable allows, unhealthy replicas first.
    if (await this.reconcileOldReplicaSets(s, newRS))
      return this.syncRolloutStatus(s, this.current(s, newRS));
    if (deploymentComplete(d, d.status ?? {})) await this.cleanupHistory(s, this.newAndOld(s, newRS).oldRSs);
    return this.syncRolloutStatus(s, newRS);
  }

  private async reconcileOldReplicaSets(s: SyncState, newRS: KubeObject): Promise<boolean> {
    const { d } = s;
    const { oldRSs, allRSs } = this.newAndOld(s, newRS);
    let activeOld = activeReplicaSets(oldRSs);
    if (sumSpecReplicas(activeOld) === 0) return false;
    const budget = maxScaledDown(d, allRSs, newRS);
    if (budget <= 0) return false;
    let changed = 0;
    for (const step of unhealthyCleanupSteps(activeOld, budget)) {
      const r = await this.scaleReplicaSet(s, step.rs, step.to);
      changed += specReplicas(step.rs) - step.to;
      activeOld = activeOld.map((rs) => (rs === step.rs ? r.rs : rs));
    }
    // As upstream: availability counted over the new and the (still) active old ReplicaSets
    // only; one just scaled to zero may not have updated its status yet.
    for (const step of oldScaleDownSteps(d, [...activeOld, newRS], activeOld)) {
      await this.scaleReplicaSet(s, step.rs, step.to);
      changed += specReplicas(step.rs) - step.to;
    }
    return changed > 0;
  }

  private async rolloutRecreate(s: SyncState): Promise<void> {
    const { d } = s;
    let newRS = await this.getNewReplicaSet(s, false);
    const { oldRSs } = this.newAndOld(s, newRS);
    // First the old ReplicaSets go to zero…
    let scaledDown = false;
    for (const rs of activeReplicaSets(oldRSs)) {
      await this.scaleReplicaSet(s, rs, 0);
      scaledDown = true;
    }
    if (scaledDown) return this.syncRolloutStatus(s, newRS);
    // …then nothing happens until their pods are gone…
    if (this.oldPodsRunning(s, newRS)) return this.syncRolloutStatus(s, newRS);
    // …and only then does the new ReplicaSet come up.
    newRS ??= await this.getNewReplicaSet(s, true);
    if (newRS) newRS = (await this.scaleReplicaSet(s, newRS, specReplicas(d))).rs;
    if (deploymentComplete(d, d.status ?? {})) await this.cleanupHistory(s, this.newAndOld(s, newRS).oldRSs);
    return this.syncRolloutStatus(s, newRS);
  }

  /** Old ReplicaSets still report pods, or pods of theirs that have not finished still exist. */
  private oldPodsRunning(s: SyncState, newRS: KubeObject | undefined): boolean {
    const { oldRSs } = this.newAndOld(s, newRS);
    if (sumActualReplicas(oldRSs) > 0) return true;
    for (const rs of oldRSs)
      for (const pod of this.pods.byIndex(CONTROLLER_INDEX, rs.metadata.uid!)) {
        const phase = pod.status?.phase;
        if (phase !== "Succeeded" && phase !== "Failed") return true;
      }
    return false;
  }

  /** Deletes the oldest old ReplicaSets beyond revisionHistoryLimit, if they are empty. */
  private async cleanupHistory(s: SyncState, oldRSs: KubeObject[]): Promise<void> {
    const limit = s.d.spec?.revisionHistoryLimit;
    if (typeof limit !== "number" || limit === 2147483647) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp).sort(byRevision);
    const excess = cleanable.length - limit;
    for (const rs of cleanable.slice(0, Math.max(0, excess))) {
      // Only ReplicaSets with no pods, no desired pods, and whose controller has caught up.
      if ((rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0) continue;
      if ((rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.ctx.client.delete(REPLICASETS, rs.metadata.namespace!, rs.metadata.name!, {
          preconditions: { uid: rs.metadata.uid },
        });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
      s.rsList = s.rsList.filter((x) => x !== rs);
    }
  }

  // ------------------------------------------------------------ status

  private async syncRolloutStatus(s: SyncState, newRS: KubeObject | undefined): Promise<void> {
    const current = this.current(s, newRS);
    const { allRSs } = this.newAndOld(s, current);
    const now = this.clock.now();
    const status = rolloutStatus(allRSs, current, s.d, now);
    await this.writeStatus(s, status);
    // Nothing may happen before the progress deadline passes: look again then.
    const wait = stuckRecheckInMs(s.d, status, now);
    if (wait !== undefined) this.queue.addAfter(objectKey(s.d), wait);
  }

  /** Writes the status if it differs from what is stored (a stale version fails with a conflict and retries). */
  private async writeStatus(s: SyncState, status: any): Promise<void> {
    if (sameStatus(s.storedStatus, status)) return;
    try {
      const updated = await this.ctx.client.updateStatus(DEPLOYMENTS, { ...s.d, status });
      s.d.metadata.resourceVersion = updated.metadata.resourceVersion;
      s.storedStatus = status;
      s.d.status = status;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
