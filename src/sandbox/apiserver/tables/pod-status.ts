// The READY / STATUS / RESTARTS summary of a pod, following printPod in kubernetes 1.33
// (pkg/printers/internalversion/printers.go), including sidecar (restartable init) containers.
import { type KubeObject, parseTime } from "../../../kube/objects.ts";
import { isConditionTrue } from "./format.ts";

export interface PodSummary {
  /** Ready containers; sidecars count too once started. */
  ready: number;
  /** Regular containers plus restartable init containers. */
  total: number;
  /** The STATUS column ("Running", "Init:0/2", "CrashLoopBackOff", "Terminating", ...). */
  reason: string;
  restarts: number;
  /** When the most recently restarted container last terminated (ms since epoch), or NaN. */
  lastRestart: number;
}

/** Pod.status.reason the node controller sets when the node stops reporting; shown as "Unknown" while deleting. */
const NODE_UNREACHABLE_REASON = "NodeLost";

const isRestartable = (c: any) => c?.restartPolicy === "Always";

/** lastState.terminated.finishedAt, the time a restart happened. */
const lastTermination = (status: any): number => parseTime(status?.lastState?.terminated?.finishedAt);

const later = (a: number, b: number) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b));

/** Reason for a terminated container without one: its signal if any, else its exit code. */
function terminatedReason(t: any, prefix: string): string {
  if (t.reason) return prefix + t.reason;
  return t.signal ? `${prefix}Signal:${t.signal}` : `${prefix}ExitCode:${t.exitCode ?? 0}`;
}

export function summarizePod(pod: KubeObject): PodSummary {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const conditions: any[] = status.conditions ?? [];
  const phase: string = status.phase ?? "";

  let reason: string = status.reason || phase;
  // A pod held back by scheduling gates says so instead of "Pending".
  for (const c of conditions) {
    if (c?.type === "PodScheduled" && c?.reason === "SchedulingGated") reason = "SchedulingGated";
  }

  const initSpecs = new Map<string, any>();
  let total = (spec.containers ?? []).length;
  for (const c of spec.initContainers ?? []) {
    initSpecs.set(c.name, c);
    if (isRestartable(c)) total++;
  }

  let ready = 0;
  let restarts = 0;
  let lastRestart = Number.NaN;
  let sidecarRestarts = 0;
  let sidecarLastRestart = Number.NaN;
  let initializing = false;
  const initStatuses: any[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    const state = cs.state ?? {};
    const sidecar = isRestartable(initSpecs.get(cs.name));
    restarts += cs.restartCount ?? 0;
    lastRestart = later(lastRestart, lastTermination(cs));
    if (sidecar) {
      sidecarRestarts += cs.restartCount ?? 0;
      sidecarLastRestart = later(sidecarLastRestart, lastTermination(cs));
    }
    if (state.terminated && (state.terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready) ready++;
      continue;
    }
    // The first init container that has not finished decides the status.
    if (state.terminated) {
      reason = terminatedReason(state.terminated, "Init:");
    } else if (state.waiting?.reason && state.waiting.reason !== "PodInitializing") {
      reason = `Init:${state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || isConditionTrue(conditions, "Initialized")) {
    // Once initialised, only sidecar restarts count alongside the regular containers'.
    restarts = sidecarRestarts;
    lastRestart = sidecarLastRestart;
    let hasRunning = false;
    const statuses: any[] = status.containerStatuses ?? [];
    // Walked backwards, so the first container with a waiting/terminated reason wins.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      const state = cs.state ?? {};
      restarts += cs.restartCount ?? 0;
      lastRestart = later(lastRestart, lastTermination(cs));
      if (state.waiting?.reason) {
        reason = state.waiting.reason;
      } else if (state.terminated) {
        reason = terminatedReason(state.terminated, "");
      } else if (cs.ready && state.running) {
        hasRunning = true;
        ready++;
      }
    }
    // A pod whose finished container sorts first is still running if another container runs.
    if (reason === "Completed" && hasRunning) {
      reason = conditions.some((c) => c?.type === "Ready" && c?.status === "True") ? "Running" : "NotReady";
    }
  }

  if (pod.metadata.deletionTimestamp && status.reason === NODE_UNREACHABLE_REASON) {
    reason = "Unknown";
  } else if (pod.metadata.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed") {
    reason = "Terminating";
  }

  return { ready, total, reason, restarts, lastRestart };
}
