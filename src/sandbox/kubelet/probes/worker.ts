// The periodic prober of one probe of one container instance (pkg/kubelet/prober/worker.go):
// first probe once the initial delay has passed, then one per period; a result only takes effect
// after successThreshold / failureThreshold equal results in a row; a liveness or startup failure
// puts the worker on hold (the container is about to be killed, a new instance gets a new worker).
import type { Clock } from "../../../kube/clock.ts";
import type { ProbeRun } from "./prober.ts";
import type { ProbeSpec } from "./spec.ts";

export type WorkerResult = "success" | "failure" | "unknown";

/** The value a probe's result has before its first verdict (worker.go's initialValue). */
const INITIAL_RESULT = { readiness: "failure", liveness: "success", startup: "unknown" } as const;

export interface WorkerHost {
  clock: Clock;
  /** Liveness and readiness wait until the startup probe (if any) has succeeded. */
  mayProbe(worker: ProbeWorker): boolean;
  run(worker: ProbeWorker, signal: AbortSignal): Promise<ProbeRun>;
  /** A probe ran and did not succeed (or warned): the event to record. */
  record(worker: ProbeWorker, run: ProbeRun): void;
  /** The worker's result changed (never called for the initial value). */
  changed(worker: ProbeWorker, previous: WorkerResult): void;
  /** Tracks in-flight probes, so callers can wait for quiescence. */
  track(p: Promise<void>): void;
  /** A bug or a throwing callback: reported, and the worker carries on. */
  error(worker: ProbeWorker, err: unknown): void;
}

export class ProbeWorker {
  readonly spec: ProbeSpec;
  result: WorkerResult;
  private readonly host: WorkerHost;
  private lastResult: WorkerResult = "unknown";
  private resultRun = 0;
  private onHold = false;
  private stopped = false;
  private inFlight = false;
  /** Earliest time a probe may run (the container's start + initialDelaySeconds). */
  private readonly notBefore: number;
  private cancelTimer: (() => void) | undefined;
  private readonly abort = new AbortController();

  constructor(spec: ProbeSpec, host: WorkerHost, opts: { startedAtMs: number; firstAt: number }) {
    this.spec = spec;
    this.host = host;
    this.result = INITIAL_RESULT[spec.type];
    this.notBefore = opts.startedAtMs + spec.initialDelaySeconds * 1000;
    this.schedule(Math.max(opts.firstAt, this.notBefore) - host.clock.now());
  }

  /** Probes now (outside the period) when allowed; used when the startup probe has just succeeded. */
  trigger(): void {
    if (this.stopped || this.inFlight || this.onHold || this.host.clock.now() < this.notBefore) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.tick();
  }

  /** Stops probing; an in-flight probe is aborted and its result ignored. */
  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.abort.abort(new Error("probe worker stopped"));
  }

  /** Stops probing and pins the result (a pod being deleted keeps liveness/startup quiet). */
  settle(result: WorkerResult): void {
    this.stop();
    this.result = result;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.cancelTimer = this.host.clock.setTimer(
      () => {
        this.cancelTimer = undefined;
        this.tick();
      },
      Math.max(0, delayMs),
    );
  }

  private tick(): void {
    const tickAt = this.host.clock.now();
    const done = this.probeOnce()
      .catch((err) => this.host.error(this, err))
      .finally(() => {
        // Startup is done for good after its success; a held worker waits for nothing.
        const finished = this.onHold || (this.spec.type === "startup" && this.result === "success");
        if (!finished && !this.cancelTimer)
          this.schedule(tickAt + this.spec.periodSeconds * 1000 - this.host.clock.now());
      });
    this.host.track(done);
  }

  private async probeOnce(): Promise<void> {
    if (this.stopped || this.onHold || !this.host.mayProbe(this)) return;
    this.inFlight = true;
    let run: ProbeRun;
    try {
      run = await this.host.run(this, this.abort.signal);
    } finally {
      this.inFlight = false;
    }
    if (this.stopped) return;
    if (run.unhealthy || run.warning) this.host.record(this, run);
    if (run.errored) return; // thrown away, like the kubelet does
    const result = run.result;
    if (this.lastResult === result) this.resultRun++;
    else {
      this.lastResult = result;
      this.resultRun = 1;
    }
    const threshold = result === "failure" ? this.spec.failureThreshold : this.spec.successThreshold;
    if (this.resultRun < threshold) return;
    const previous = this.result;
    this.result = result;
    if (result === "failure" && this.spec.type !== "readiness") {
      this.onHold = true;
      this.resultRun = 0;
    }
    if (previous !== result) this.host.changed(this, previous);
  }
}
