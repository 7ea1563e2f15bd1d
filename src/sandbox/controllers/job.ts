// The Job controller (batch/v1, NonIndexed completion): runs a Job's pod template until
// `completions` pods succeed, at most `parallelism` at a time; replaces failed pods after a
// growing backoff until `backoffLimit` is exceeded; honours activeDeadlineSeconds and suspend;
// and reports it all in the Job's status and conditions (upstream's reasons and messages).

import { type Clock, systemClock } from "../../kube/clock.ts";
import { isNotFound } from "../../kube/errors.ts";
import type { EventRecorder } from "../../kube/events.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import { formatTime, type KubeObject, objectKey } from "../../kube/objects.ts";
import { JOBS, PODS } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";
import { ControllerExpectations } from "./expectations.ts";
import {
  backoffRemainingMs,
  COMPLETIONS_MESSAGE,
  countPods,
  DEFAULT_POD_FAILURE_BACKOFF_MS,
  deadlineRemainingMs,
  ensureCondition,
  failureOf,
  findCondition,
  isComplete,
  isJobFinished,
  isSuspended,
  JOB_CONTROLLER_NAME,
  type JobCondition,
  type JobPodCounts,
  MAX_POD_FAILURE_BACKOFF_MS,
  podsToRemove,
  wantActive,
} from "./job-compute.ts";
import { ownerSelector, watchOwnedPods } from "./owned-pods.ts";
import {
  checkOwnerFresh,
  claimCandidates,
  ensureControllerIndex,
  executeClaims,
  planClaims,
} from "./owner-claims.ts";
import {
  controllerRefTo,
  errorMessage,
  isPodReady,
  podFromTemplate,
  podKey,
  slowStartBatch,
} from "./pod-control.ts";
import { canonicalJson } from "./template-hash.ts";

/** Upstream's MaxPodCreateDeletePerSync. */
const MAX_WRITES_PER_SYNC = 500;

export interface JobControllerOptions {
  /** Jobs synced in parallel (upstream's --concurrent-job-syncs). Default 5. */
  workers?: number;
  /** First delay before replacing a failed pod; doubles per consecutive failure. Default 10 s. */
  podFailureBackoffMs?: number;
  /** Cap of that delay. Default 6 minutes. */
  maxPodFailureBackoffMs?: number;
  clock?: Clock;
}

type Event = { type: "Normal" | "Warning"; reason: string; message: string };

export class JobController implements Controller {
  readonly name = "job-controller";
  private readonly queue = new WorkQueue();
  private readonly workers: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly clock: Clock;
  private readonly expectations: ControllerExpectations;
  private jobs!: SharedInformer;
  private pods!: SharedInformer;
  private recorder!: EventRecorder;

  constructor(opts: JobControllerOptions = {}) {
    this.workers = opts.workers ?? 5;
    this.backoffMs = opts.podFailureBackoffMs ?? DEFAULT_POD_FAILURE_BACKOFF_MS;
    this.maxBackoffMs = opts.maxPodFailureBackoffMs ?? MAX_POD_FAILURE_BACKOFF_MS;
    this.clock = opts.clock ?? systemClock;
    this.expectations = new ControllerExpectations({ clock: this.clock });
  }

  setup(ctx: ControllerContext): void {
    this.jobs = ctx.informers.informerFor(JOBS);
    this.pods = ctx.informers.informerFor(PODS);
    ensureControllerIndex(this.pods);
    const enqueue = (key: string) => this.queue.add(key);
    this.jobs.addEventHandler({
      onAdd: (j) => enqueue(objectKey(j)),
      onUpdate: (_o, j) => enqueue(objectKey(j)),
      onDelete: (j) => {
        this.expectations.forget(objectKey(j));
        enqueue(objectKey(j));
      },
    });
    watchOwnedPods(this.pods, this.jobs, "Job", this.expectations, enqueue);
  }

  run(ctx: ControllerContext): Promise<void> {
    this.recorder = ctx.recorder("job-controller");
    return runQueue(ctx, this.name, this.queue, this.workers, (key) => this.sync(ctx, key));
  }

  private async sync(ctx: ControllerContext, key: string): Promise<void> {
    const job = this.jobs.get(key);
    if (!job) {
      this.expectations.forget(key);
      return;
    }
    // Another controller (spec.managedBy) runs this Job; a finished Job needs nothing more.
    if ((job.spec?.managedBy ?? JOB_CONTROLLER_NAME) !== JOB_CONTROLLER_NAME || isJobFinished(job)) return;

    const satisfied = this.expectations.satisfied(key);
    const pods = await this.claimPods(ctx, job);
    const now = this.clock.now();
    const counts = countPods(job, pods);
    const status: any = { ...(job.status ?? {}) };
    if (!status.startTime && !isSuspended(job)) status.startTime = formatTime(now);
    const started: KubeObject = { ...job, status };
    let conditions: JobCondition[] = [...(status.conditions ?? [])];
    const events: Event[] = [];
    const set = (type: string, s: "True" | "False", reason: string, message: string) => {
      const r = ensureCondition(conditions, type, s, reason, message, now);
      conditions = r.conditions;
      return r.changed;
    };

    let active = counts.active.length;
    let ready = counts.ready;
    let terminating = counts.terminating;
    let manageError: unknown;

    // Decided in an earlier sync (the interim condition is there), or now.
    const target = findCondition(job, "FailureTarget");
    let failure =
      target?.status === "True" ? { reason: target.reason ?? "", message: target.message ?? "" } : undefined;
    const successMet = findCondition(job, "SuccessCriteriaMet")?.status === "True";
    if (!failure && !successMet) {
      failure = failureOf(started, pods, counts.failed, now);
      const left = deadlineRemainingMs(started, now);
      if (!failure && left !== undefined) this.queue.addAfter(key, left);
    }

    if (failure) {
      // A failed Job stops its pods first; Failed is declared once none is left running.
      const r = await this.deletePods(ctx, job, key, counts.active);
      active -= r.deleted;
      ready -= r.deletedReady;
      terminating += r.deleted;
      manageError = r.error;
      set("FailureTarget", "True", failure.reason, failure.message);
      if (
        active === 0 &&
        terminating === 0 &&
        satisfied &&
        set("Failed", "True", failure.reason, failure.message)
      )
        events.push({ type: "Warning", reason: failure.reason, message: failure.message });
    } else {
      let managed = false;
      if (!successMet && satisfied && !job.metadata.deletionTimestamp) {
        try {
          active = await this.manage(ctx, job, key, counts, pods, now);
        } catch (err) {
          manageError = err;
        }
        managed = true;
      }
      if (successMet || isComplete(job, counts.succeeded, active)) {
        set("SuccessCriteriaMet", "True", "CompletionsReached", COMPLETIONS_MESSAGE);
        if (terminating === 0 && set("Complete", "True", "CompletionsReached", COMPLETIONS_MESSAGE)) {
          status.completionTime = formatTime(now);
          events.push({ type: "Normal", reason: "Completed", message: "Job completed" });
        }
      } else if (managed) {
        if (isSuspended(job)) {
          if (set("Suspended", "True", "JobSuspended", "Job suspended"))
            events.push({ type: "Normal", reason: "Suspended", message: "Job suspended" });
        } else if (set("Suspended", "False", "JobResumed", "Job resumed")) {
          events.push({ type: "Normal", reason: "Resumed", message: "Job resumed" });
          // activeDeadlineSeconds counts from the resume, not from the first start.
          status.startTime = formatTime(now);
        }
      }
    }

    status.conditions = conditions;
    status.active = active;
    status.ready = Math.max(0, ready);
    status.terminating = terminating;
    status.succeeded = counts.succeeded;
    status.failed = counts.failed;
    status.uncountedTerminatedPods = {};
    await this.writeStatus(ctx, job, status);
    for (const e of events) this.recorder.event(job, e.type, e.reason, e.message);
    if (manageError) throw manageError;
  }

  /** The Job's pods: owned ones that still match, plus adopted orphans. */
  private async claimPods(ctx: ControllerContext, job: KubeObject): Promise<KubeObject[]> {
    const plan = planClaims(job, ownerSelector(job), claimCandidates(this.pods, job));
    if (!plan.adopt.length && !plan.release.length) return plan.owned;
    return executeClaims(ctx.client, PODS, plan, controllerRefTo(job, "batch/v1", "Job"), () =>
      checkOwnerFresh(ctx.client, JOBS, job),
    );
  }

  /** Creates or deletes pods towards the wanted number of active ones; answers how many are active. */
  private async manage(
    ctx: ControllerContext,
    job: KubeObject,
    key: string,
    counts: JobPodCounts,
    pods: KubeObject[],
    now: number,
  ): Promise<number> {
    const active = counts.active.length;
    if (isSuspended(job)) {
      const r = await this.deletePods(ctx, job, key, counts.active);
      if (r.error) throw r.error;
      return active - r.deleted;
    }
    const want = wantActive(job, counts.succeeded, active);
    if (active > want) {
      const r = await this.deletePods(ctx, job, key, podsToRemove(counts.active, active - want));
      if (r.error) throw r.error;
      return active - r.deleted;
    }
    // With podReplacementPolicy Failed, a terminating pod is replaced only once it is gone.
    const blocking = job.spec?.podReplacementPolicy === "Failed" ? counts.terminating : 0;
    const missing = Math.min(MAX_WRITES_PER_SYNC, want - blocking - active);
    if (missing <= 0) return active;
    const wait = backoffRemainingMs(pods, now, this.backoffMs, this.maxBackoffMs);
    if (wait > 0) {
      this.queue.addAfter(key, wait);
      return active;
    }
    this.expectations.expectCreations(key, missing);
    const template = podFromTemplate(job.spec.template, job, controllerRefTo(job, "batch/v1", "Job"));
    const result = await slowStartBatch(missing, 1, async () => {
      try {
        const pod = await ctx.client.create(PODS, structuredClone(template));
        this.recorder.event(job, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`);
      } catch (err) {
        this.recorder.event(job, "Warning", "FailedCreate", `Error creating: ${errorMessage(err)}`);
        throw err;
      }
    });
    // Creates never issued or failed produce no events to wait for.
    if (result.successes < missing) this.expectations.creationsSkipped(key, missing - result.successes);
    if (result.error) throw result.error;
    return active + result.successes;
  }

  private async deletePods(
    ctx: ControllerContext,
    job: KubeObject,
    key: string,
    victims: readonly KubeObject[],
  ): Promise<{ deleted: number; deletedReady: number; error?: unknown }> {
    const batch = victims.slice(0, MAX_WRITES_PER_SYNC);
    if (!batch.length) return { deleted: 0, deletedReady: 0 };
    this.expectations.expectDeletions(key, batch.map(podKey));
    let deleted = 0;
    let deletedReady = 0;
    let error: unknown;
    await Promise.all(
      batch.map(async (pod) => {
        try {
          await ctx.client.delete(PODS, pod.metadata.namespace!, pod.metadata.name!, {
            preconditions: { uid: pod.metadata.uid },
          });
          this.recorder.event(job, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
        } catch (err) {
          // No event will come for a delete that did not happen.
          this.expectations.deletionObserved(key, podKey(pod));
          if (!isNotFound(err)) {
            this.recorder.event(job, "Warning", "FailedDelete", `Error deleting: ${errorMessage(err)}`);
            error ??= err;
            return;
          }
        }
        deleted++;
        if (isPodReady(pod)) deletedReady++;
      }),
    );
    return { deleted, deletedReady, error };
  }

  /** Writes the status when it differs from the cached one (zero counters are omitted, as upstream). */
  private async writeStatus(ctx: ControllerContext, job: KubeObject, status: any): Promise<void> {
    for (const f of ["active", "succeeded", "failed"]) if (!status[f]) delete status[f];
    if (!status.conditions.length) delete status.conditions;
    if (canonicalJson(status) === canonicalJson(job.status ?? {})) return;
    try {
      await ctx.client.updateStatus(JOBS, { ...job, status });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
