// The ReplicaSet controller: keeps spec.replicas active pods owned by each ReplicaSet. It
// adopts matching orphans, releases owned pods that stopped matching, creates missing pods in
// slow-start batches, deletes surplus pods in upstream's order, and writes status.
// Expectations keep it from acting twice on a cache that has not yet seen its own writes.

import { type Clock, systemClock } from "../../kube/clock.ts";
import { isConflict, isNotFound, KubeApiError } from "../../kube/errors.ts";
import type { EventRecorder } from "../../kube/events.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import { fromLabelSelector, matches, type Requirement } from "../../kube/labels.ts";
import {
  controllerOf,
  formatTime,
  type KubeObject,
  type OwnerReference,
  objectKey,
} from "../../kube/objects.ts";
import { PODS, REPLICASETS } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";
import { ControllerExpectations } from "./expectations.ts";
import {
  CONTROLLER_INDEX,
  checkOwnerFresh,
  claimCandidates,
  ensureControllerIndex,
  executeClaims,
  planClaims,
} from "./owner-claims.ts";
import {
  controllerRefTo,
  errorMessage,
  isPodActive,
  isPodAvailable,
  isPodReady,
  podFromTemplate,
  podKey,
  podReadySince,
  slowStartBatch,
} from "./pod-control.ts";
import { podsToDelete } from "./pod-ranking.ts";
import { sameStatus, setCondition } from "./workload-status.ts";

export const REPLICASET_COMPONENT = "replicaset-controller";

export interface ReplicaSetControllerOptions {
  /** Parallel syncs (upstream's --concurrent-replicaset-syncs). Default 5. */
  workers?: number;
  /** Most creates or deletes one sync issues (upstream's BurstReplicas). Default 500. */
  burstReplicas?: number;
  /** For expectations and availability. */
  clock?: Clock;
  /** How long unobserved creates/deletes hold a ReplicaSet back. Default 5 minutes. */
  expectationsTimeoutMs?: number;
}

/** Status of a ReplicaSet given its active owned pods (upstream's calculateStatus). */
export function replicaSetStatus(rs: KubeObject, pods: KubeObject[], manageError: unknown, now: number): any {
  const templateLabels: Record<string, string> = rs.spec?.template?.metadata?.labels ?? {};
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fullyLabeled++;
    if (isPodReady(pod)) ready++;
    if (isPodAvailable(pod, minReady, now)) available++;
  }
  // Zero counts are left out, as upstream's omitempty does (replicas is always written).
  const status: any = { replicas: pods.length };
  if (fullyLabeled) status.fullyLabeledReplicas = fullyLabeled;
  if (ready) status.readyReplicas = ready;
  if (available) status.availableReplicas = available;
  if (rs.metadata.generation) status.observedGeneration = rs.metadata.generation;
  let conditions: any[] = structuredClone(rs.status?.conditions ?? []);
  const failure = conditions.find((c) => c.type === "ReplicaFailure");
  if (manageError && !failure) {
    const reason = pods.length < (rs.spec?.replicas ?? 1) ? "FailedCreate" : "FailedDelete";
    conditions = setCondition(conditions, {
      type: "ReplicaFailure",
      status: "True",
      lastTransitionTime: formatTime(now),
      reason,
      message: errorMessage(manageError),
    });
  } else if (!manageError && failure) {
    conditions = conditions.filter((c) => c.type !== "ReplicaFailure");
  }
  if (conditions.length) status.conditions = conditions;
  return status;
}

/**
 * When the next not-yet-available ready pod turns available (ms from `now`), or undefined
 * when none is waiting for minReadySeconds.
 */
export function nextAvailableInMs(
  pods: KubeObject[],
  minReadySeconds: number,
  now: number,
): number | undefined {
  if (!minReadySeconds) return undefined;
  let next: number | undefined;
  for (const pod of pods) {
    if (!isPodReady(pod) || isPodAvailable(pod, minReadySeconds, now)) continue;
    const since = podReadySince(pod);
    const wait = Number.isNaN(since) ? minReadySeconds * 1000 : since + minReadySeconds * 1000 - now + 1;
    next = next === undefined ? wait : Math.min(next, wait);
  }
  return next === undefined ? undefined : Math.max(next, 1);
}

function isNamespaceTerminating(err: unknown): boolean {
  return (
    err instanceof KubeApiError &&
    (err.status.details?.causes ?? []).some((c) => c.reason === "NamespaceTerminating")
  );
}

export class ReplicaSetController implements Controller {
  readonly name = "replicaset-controller";
  readonly expectations: ControllerExpectations;
  private readonly queue = new WorkQueue();
  private readonly workers: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private replicaSets!: SharedInformer;
  private pods!: SharedInformer;
  private ctx!: ControllerContext;
  private recorder!: EventRecorder;

  constructor(opts: ReplicaSetControllerOptions = {}) {
    this.workers = opts.workers ?? 5;
    this.burst = opts.burstReplicas ?? 500;
    this.clock = opts.clock ?? systemClock;
    this.expectations = new ControllerExpectations({
      clock: this.clock,
      timeoutMs: opts.expectationsTimeoutMs,
    });
  }

  setup(ctx: ControllerContext): void {
    this.ctx = ctx;
    // Also drops delayed keys (expectation and deadline timers) when stopped before run().
    ctx.signal.addEventListener("abort", () => this.queue.shutDown(), { once: true });
    this.recorder = ctx.recorder(REPLICASET_COMPONENT);
    this.replicaSets = ctx.informers.informerFor(REPLICASETS);
    this.pods = ctx.informers.informerFor(PODS);
    ensureControllerIndex(this.pods);
    this.replicaSets.addEventHandler({
      onAdd: (rs) => this.queue.add(objectKey(rs)),
      onUpdate: (_old, rs) => this.queue.add(objectKey(rs)),
      onDelete: (rs) => {
        this.expectations.forget(objectKey(rs));
        this.queue.add(objectKey(rs));
      },
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.podAdded(pod),
      onUpdate: (old, pod) => this.podUpdated(old, pod),
      onDelete: (pod) => this.podDeleted(pod),
    });
  }

  run(ctx: ControllerContext): Promise<void> {
    this.ctx = ctx;
    return runQueue(ctx, this.name, this.queue, this.workers, (key) => this.syncReplicaSet(key));
  }

  // ------------------------------------------------------------ event handlers: keys only

  /** The ReplicaSet a controller reference points at, if it is cached and is the same object. */
  private resolve(namespace: string | undefined, ref: OwnerReference | undefined): KubeObject | undefined {
    if (ref?.kind !== "ReplicaSet") return undefined;
    const rs = this.replicaSets.get(`${namespace}/${ref.name}`);
    return rs?.metadata.uid === ref.uid ? rs : undefined;
  }

  /** ReplicaSets of the pod's namespace whose selector matches it (candidates to adopt an orphan). */
  private matchingReplicaSets(pod: KubeObject): KubeObject[] {
    return this.replicaSets.byIndex("namespace", pod.metadata.namespace ?? "").filter((rs) => {
      try {
        return matches(fromLabelSelector(rs.spec?.selector), pod.metadata.labels);
      } catch {
        return false;
      }
    });
  }

  private podAdded(pod: KubeObject): void {
    const rs = this.resolve(pod.metadata.namespace, controllerOf(pod));
    if (rs) {
      const key = objectKey(rs);
      this.expectations.creationObserved(key);
      // A pod that shows up already terminating is also a deletion seen (after a restart).
      if (pod.metadata.deletionTimestamp) this.expectations.deletionObserved(key, podKey(pod));
      this.queue.add(key);
      return;
    }
    if (controllerOf(pod) || pod.metadata.deletionTimestamp) return;
    for (const candidate of this.matchingReplicaSets(pod)) this.queue.add(objectKey(candidate));
  }

  private podUpdated(old: KubeObject, pod: KubeObject): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return; // a resync
    const labelsChanged =
      JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(pod.metadata.labels ?? {});
    if (pod.metadata.deletionTimestamp) {
      // Graceful deletion: the pod no longer counts, so the deletion is observed now.
      this.podDeleted(pod);
      if (labelsChanged) this.podDeleted(old);
      return;
    }
    const oldRef = controllerOf(old);
    const ref = controllerOf(pod);
    const refChanged = oldRef?.uid !== ref?.uid;
    if (refChanged && oldRef) {
      const previous = this.resolve(old.metadata.namespace, oldRef);
      if (previous) this.queue.add(objectKey(previous));
    }
    if (ref) {
      const rs = this.resolve(pod.metadata.namespace, ref);
      if (rs) this.queue.add(objectKey(rs));
      return;
    }
    if (labelsChanged || refChanged)
      for (const candidate of this.matchingReplicaSets(pod)) this.queue.add(objectKey(candidate));
  }

  private podDeleted(pod: KubeObject): void {
    const rs = this.resolve(pod.metadata.namespace, controllerOf(pod));
    if (!rs) return;
    const key = objectKey(rs);
    this.expectations.deletionObserved(key, podKey(pod));
    this.queue.add(key);
  }

  // ------------------------------------------------------------ sync

  /** Brings one ReplicaSet (by key) in line with its spec; idempotent. */
  async syncReplicaSet(key: string): Promise<void> {
    const rs = this.replicaSets.get(key);
    if (!rs) {
      this.expectations.forget(key);
      return;
    }
    let selector: Requirement[] | null;
    try {
      selector = fromLabelSelector(rs.spec?.selector);
    } catch (err) {
      this.ctx.log.warn({ key, err: String(err) }, "replicaset has an invalid selector; ignoring it");
      return;
    }
    // Read before listing pods, so a creation observed meanwhile cannot be missed.
    const satisfied = this.expectations.satisfied(key);
    const ref = controllerRefTo(rs, "apps/v1", "ReplicaSet");
    const plan = planClaims(rs, selector, claimCandidates(this.pods, rs).filter(isPodActive));
    const pods = await executeClaims(this.ctx.client, PODS, plan, ref, () =>
      checkOwnerFresh(this.ctx.client, REPLICASETS, rs),
    );

    let manageError: unknown;
    if (satisfied && !rs.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, rs, pods, ref);
      } catch (err) {
        manageError = err;
      }
    } else if (!satisfied) {
      // Come back when the expectation times out, in case its events never arrive.
      this.queue.addAfter(key, this.expectations.remainingMs(key) + 1);
    }

    const now = this.clock.now();
    await this.writeStatus(rs, replicaSetStatus(rs, pods, manageError, now));
    // Pods ready but not yet minReadySeconds old become available without any event.
    const wait = nextAvailableInMs(pods, rs.spec?.minReadySeconds ?? 0, now);
    if (wait !== undefined) this.queue.addAfter(key, wait);
    if (manageError) throw manageError;
  }

  private async manageReplicas(
    key: string,
    rs: KubeObject,
    pods: KubeObject[],
    ref: OwnerReference,
  ): Promise<void> {
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      const n = Math.min(-diff, this.burst);
      // Expect first: the informer may report a new pod before create() even returns.
      this.expectations.expectCreations(key, n);
      const { successes, error } = await slowStartBatch(n, 1, () => this.createPod(key, rs, ref));
      if (n > successes) this.expectations.creationsSkipped(key, n - successes);
      if (error !== undefined) throw error;
    } else if (diff > 0) {
      const n = Math.min(diff, this.burst);
      const victims = podsToDelete(pods, this.relatedPods(rs), n, this.clock.now());
      this.expectations.expectDeletions(key, victims.map(podKey));
      const errors: unknown[] = [];
      await Promise.all(victims.map((pod) => this.deletePod(key, rs, pod, errors)));
      if (errors.length) throw errors[0];
    }
  }

  private async createPod(key: string, rs: KubeObject, ref: OwnerReference): Promise<void> {
    try {
      const created = await this.ctx.client.create(PODS, podFromTemplate(rs.spec?.template, rs, ref));
      this.recorder.event(rs, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name}`);
    } catch (err) {
      // Every create fails in a namespace being deleted; that is no failure of this ReplicaSet.
      if (isNamespaceTerminating(err)) {
        this.expectations.creationsSkipped(key, 1);
        return;
      }
      this.recorder.event(rs, "Warning", "FailedCreate", `Error creating: ${errorMessage(err)}`);
      throw err;
    }
  }

  private async deletePod(key: string, rs: KubeObject, pod: KubeObject, errors: unknown[]): Promise<void> {
    const { namespace, name, uid } = pod.metadata;
    try {
      await this.ctx.client.delete(PODS, namespace!, name!, { preconditions: { uid } });
      this.recorder.event(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${name}`);
    } catch (err) {
      // No event will come for a deletion that did not happen (or already had).
      this.expectations.deletionObserved(key, podKey(pod));
      if (isNotFound(err) || isConflict(err)) return; // gone, or replaced by a namesake
      this.recorder.event(rs, "Warning", "FailedDelete", `Error deleting: ${errorMessage(err)}`);
      errors.push(err);
    }
  }

  /**
   * Pods of this ReplicaSet and of its siblings (ReplicaSets with the same controller), for
   * ranking: a pod sharing a node with many related pods is deleted first.
   */
  private relatedPods(rs: KubeObject): KubeObject[] {
    const owner = controllerOf(rs);
    const siblings = owner
      ? this.replicaSets
          .byIndex("namespace", rs.metadata.namespace ?? "")
          .filter((other) => controllerOf(other)?.uid === owner.uid)
      : [rs];
    return siblings.flatMap((s) => this.pods.byIndex(CONTROLLER_INDEX, s.metadata.uid!));
  }

  /** Writes status when it changed; one retry on a conflict, against a fresh read. */
  private async writeStatus(rs: KubeObject, status: any): Promise<void> {
    if (sameStatus(rs.status, status)) return;
    let current = rs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.ctx.client.updateStatus(REPLICASETS, { ...current, status });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err) || attempt > 0) throw err;
      }
      const { namespace, name } = rs.metadata;
      try {
        current = await this.ctx.client.get(REPLICASETS, namespace!, name!);
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      if (current.metadata.uid !== rs.metadata.uid) return;
      if (sameStatus(current.status, status)) return;
    }
  }
}
