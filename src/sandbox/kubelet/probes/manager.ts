// The kubelet's probe manager (pkg/kubelet/prober/prober_manager.go): one worker per running
// container instance and probe type, results kept per container, and the kubelet told when a
// container must be restarted (liveness/startup failure) or the pod's readiness changed.
import type { RuntimeService } from "../../../cri/types.ts";
import { type Clock, systemClock } from "../../../kube/clock.ts";
import type { KubeObject } from "../../../kube/objects.ts";
import { createLogger } from "../../../util/log.ts";
import { probe } from "./prober.ts";
import { type ProbeType, probedContainers, probeSpecOf } from "./spec.ts";
import { ProbeWorker, type WorkerHost, type WorkerResult } from "./worker.ts";

export interface RunningContainer {
  name: string;
  containerId: string;
  /** When this instance started (ms since the epoch): initialDelaySeconds counts from here. */
  startedAtMs: number;
}

export interface ProbeManagerOptions {
  runtime: RuntimeService;
  /**
   * Records the pod's Warning Unhealthy event (one per failed probe, like the kubelet). The
   * container's name comes last, for the event's fieldPath `spec.containers{NAME}`.
   */
  recorder: (
    podUid: string,
    type: "Warning",
    reason: "Unhealthy",
    message: string,
    containerName: string,
  ) => void;
  /**
   * The container failed its liveness probe (or its startup probe, then `probe` is "startup")
   * and must be restarted; called once per container id.
   */
  onLivenessFailure: (
    podUid: string,
    containerName: string,
    containerId: string,
    probe: "liveness" | "startup",
  ) => void;
  /** isReady or isStarted of one of the pod's containers changed. */
  onStatusChange: (podUid: string) => void;
  clock?: Clock;
  /** Records Warning ProbeWarning events (a redirect the prober did not follow); dropped when absent. */
  warningRecorder?: (
    podUid: string,
    type: "Warning",
    reason: "ProbeWarning",
    message: string,
    containerName: string,
  ) => void;
  /** Jitter source for the first probe of containers adopted after a kubelet restart. */
  random?: () => number;
  logger?: { error(obj: object, msg: string): void };
}

interface ContainerEntry {
  name: string;
  containerId: string;
  spec: any;
  workers: Map<ProbeType, ProbeWorker>;
}

interface PodEntry {
  uid: string;
  podIp: string | undefined;
  containers: Map<string, ContainerEntry>;
}

const PROBE_TYPES: ProbeType[] = ["startup", "liveness", "readiness"];

export class ProbeManager {
  private readonly opts: ProbeManagerOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly createdAt: number;
  private readonly pods = new Map<string, PodEntry>();
  private readonly inFlight = new Set<Promise<void>>();
  private logger: ProbeManagerOptions["logger"];
  private stopped = false;

  constructor(opts: ProbeManagerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.logger = opts.logger;
    this.createdAt = this.clock.now();
  }

  /**
   * Called after each sync of the pod with its running containers: starts workers for container
   * instances not seen before and stops those of instances that are no longer running.
   */
  updatePod(pod: KubeObject, podIp: string | undefined, running: RunningContainer[]): void {
    const uid = pod?.metadata?.uid;
    if (typeof uid !== "string" || uid === "")
      throw new Error("ProbeManager.updatePod: the pod has no metadata.uid");
    for (const c of running) {
      if (
        typeof c?.name !== "string" ||
        typeof c.containerId !== "string" ||
        !Number.isFinite(c.startedAtMs)
      ) {
        throw new TypeError(
          `ProbeManager.updatePod: bad running container ${JSON.stringify(c)} (want name, containerId, startedAtMs)`,
        );
      }
    }
    if (this.stopped) return;
    let entry = this.pods.get(uid);
    if (!entry) {
      entry = { uid, podIp, containers: new Map() };
      this.pods.set(uid, entry);
    }
    entry.podIp = podIp;

    const byName = new Map(running.map((c) => [c.name, c]));
    for (const [name, c] of entry.containers) {
      if (byName.get(name)?.containerId !== c.containerId) {
        stopWorkers(c);
        entry.containers.delete(name);
      }
    }
    const specs = new Map(probedContainers(pod).map((c: any) => [c.name, c]));
    const podLabel = `${pod.metadata.name}_${pod.metadata.namespace}(${uid})`;
    for (const r of running) {
      if (entry.containers.has(r.name)) continue;
      const spec = specs.get(r.name);
      const c: ContainerEntry = { name: r.name, containerId: r.containerId, spec, workers: new Map() };
      entry.containers.set(r.name, c);
      const host = this.workerHost(entry, c);
      for (const type of PROBE_TYPES) {
        const probeSpec = probeSpecOf(spec, type, podLabel);
        if (!probeSpec) continue;
        const firstAt = this.firstProbeAt(r.startedAtMs, probeSpec.periodSeconds);
        c.workers.set(type, new ProbeWorker(probeSpec, host, { startedAtMs: r.startedAtMs, firstAt }));
      }
    }

    // A pod being deleted: liveness and startup go quiet so they cannot restart what is being
    // stopped (worker.go sets Success and stops).
    if (pod.metadata.deletionTimestamp) {
      for (const c of entry.containers.values()) {
        for (const type of ["liveness", "startup"] as const) {
          const w = c.workers.get(type);
          if (w && !w.isStopped) w.settle("success");
        }
      }
    }
  }

  /** Stops the pod's workers and forgets its results. */
  removePod(podUid: string): void {
    const entry = this.pods.get(podUid);
    if (!entry) return;
    for (const c of entry.containers.values()) stopWorkers(c);
    this.pods.delete(podUid);
  }

  /**
   * Whether the running container is ready: started, and its readiness probe (if any) has
   * succeeded (false until it first does). False for containers not known to be running.
   */
  isReady(podUid: string, containerName: string): boolean {
    const c = this.pods.get(podUid)?.containers.get(containerName);
    if (!c || !started(c)) return false;
    const readiness = c.workers.get("readiness");
    return !readiness || readiness.result === "success";
  }

  /** Whether the running container has started: no startup probe, or it has succeeded. */
  isStarted(podUid: string, containerName: string): boolean {
    const c = this.pods.get(podUid)?.containers.get(containerName);
    return c !== undefined && started(c);
  }

  /** Stops every worker; later updatePod calls are ignored. */
  stop(): void {
    this.stopped = true;
    for (const uid of [...this.pods.keys()]) this.removePod(uid);
  }

  /** Resolves once no probe is running (tests: a probe does real I/O between fake-clock steps). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * The first probe runs right away (the worker adds the initial delay), except for containers
   * that were already running when this kubelet started: those are spread over one period so a
   * restarted kubelet does not probe everything at once (worker.go's start-up jitter).
   */
  private firstProbeAt(startedAtMs: number, periodSeconds: number): number {
    const now = this.clock.now();
    const periodMs = periodSeconds * 1000;
    if (startedAtMs < this.createdAt && now - this.createdAt < periodMs) {
      return now + Math.floor(this.random() * periodMs);
    }
    return now;
  }

  private workerHost(pod: PodEntry, c: ContainerEntry): WorkerHost {
    return {
      clock: this.clock,
      mayProbe: (w) => w.spec.type === "startup" || started(c),
      run: (w, signal) =>
        probe(
          w.spec,
          {
            runtime: this.opts.runtime,
            clock: this.clock,
            containerId: c.containerId,
            container: c.spec,
            podIp: pod.podIp,
          },
          signal,
        ),
      record: (w, run) => {
        // A throwing recorder must not keep the probe from counting.
        if (run.unhealthy) {
          const message = run.unhealthy;
          this.safely(w, c, () => this.opts.recorder(pod.uid, "Warning", "Unhealthy", message, c.name));
        }
        if (run.warning) {
          const message = run.warning;
          this.safely(w, c, () =>
            this.opts.warningRecorder?.(pod.uid, "Warning", "ProbeWarning", message, c.name),
          );
        }
      },
      changed: (w, previous) => this.resultChanged(pod, c, w, previous),
      track: (p) => {
        this.inFlight.add(p);
        p.finally(() => this.inFlight.delete(p));
      },
      error: (w, err) => this.logError(w, c, err),
    };
  }

  private safely(w: ProbeWorker, c: ContainerEntry, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logError(w, c, err);
    }
  }

  private logError(w: ProbeWorker, c: ContainerEntry, err: unknown): void {
    this.logger ??= createLogger("kubelet-probes");
    this.logger.error(
      { err, container: c.name, containerId: c.containerId, probe: w.spec.type },
      "probe worker error",
    );
  }

  private resultChanged(pod: PodEntry, c: ContainerEntry, w: ProbeWorker, _previous: WorkerResult): void {
    const type = w.spec.type;
    if (w.result === "failure" && (type === "liveness" || type === "startup")) {
      this.opts.onLivenessFailure(pod.uid, c.name, c.containerId, type);
      return;
    }
    if (type === "startup" && w.result === "success") {
      // Readiness need not wait a whole period once the container has started.
      c.workers.get("readiness")?.trigger();
      this.opts.onStatusChange(pod.uid);
      return;
    }
    if (type === "readiness") this.opts.onStatusChange(pod.uid);
  }
}

function started(c: ContainerEntry): boolean {
  const startup = c.workers.get("startup");
  return !startup || startup.result === "success";
}

function stopWorkers(c: ContainerEntry): void {
  for (const w of c.workers.values()) w.stop();
}
