// A pod's status from its runtime view, the reasons the last sync left (CrashLoopBackOff,
// ErrImagePull, ...) and the probe results: the kubelet's generateAPIPodStatus as a pure
// function, so every phase, state and condition rule is unit-tested.
import { formatTime, type KubeObject } from "../../kube/objects.ts";
import { initProgress, shouldContainerBeRestarted } from "./pod-sync.ts";
import { type ContainerView, instancesOf, type PodRuntime } from "./runtime-state.ts";

export interface WaitingReason {
  reason: string;
  message: string;
}

export interface StatusInputs {
  nodeIp: string;
  now: number;
  /** Why each container is not running, as the last sync found (by container name). */
  reasons?: ReadonlyMap<string, WaitingReason>;
  /** Readiness from the probe manager (true when no readiness probe). */
  isReady?(name: string): boolean;
  /** Startup probe passed (true when there is none). */
  isStarted?(name: string): boolean;
}

const CONTAINER_ID_PREFIX = "containerd://";

export const containerIdOf = (id: string): string => `${CONTAINER_ID_PREFIX}${id}`;

function terminatedState(c: ContainerView): any {
  const t: any = {
    exitCode: c.exitCode,
    reason: c.reason || (c.exitCode === 0 ? "Completed" : "Error"),
    startedAt: c.startedAt ? formatTime(c.startedAt) : null,
    finishedAt: c.finishedAt ? formatTime(c.finishedAt) : null,
    containerID: containerIdOf(c.id),
  };
  if (c.message) t.message = c.message;
  return { terminated: t };
}

function stateOf(c: ContainerView): any {
  if (c.state === "running") return { running: { startedAt: formatTime(c.startedAt || c.createdAt) } };
  if (c.state === "exited") return terminatedState(c);
  return { waiting: { reason: "ContainerCreating" } };
}

function containerStatuses(
  pod: KubeObject,
  rt: PodRuntime | undefined,
  specs: any[],
  inputs: StatusInputs,
  init: boolean,
  oldStatuses: any[],
): any[] {
  const defaultWaiting = (pod.spec?.initContainers ?? []).length ? "PodInitializing" : "ContainerCreating";
  return specs.map((spec) => {
    const [latest, previous] = instancesOf(rt, spec.name);
    const old = oldStatuses.find((s) => s.name === spec.name);
    const status: any = {
      name: spec.name,
      image: spec.image,
      imageID: latest?.imageRef ?? "",
      ready: false,
      restartCount: latest?.attempt ?? old?.restartCount ?? 0,
      started: false,
      state: { waiting: { reason: defaultWaiting } },
      lastState: {},
    };
    if (latest) {
      status.containerID = containerIdOf(latest.id);
      status.state = stateOf(latest);
      if (previous?.state === "exited") status.lastState = terminatedState(previous);
      if (latest.state === "running") {
        status.started = init ? false : (inputs.isStarted?.(spec.name) ?? true);
        status.ready = init ? false : status.started && (inputs.isReady?.(spec.name) ?? true);
      }
      if (init && latest.state === "exited" && latest.exitCode === 0) status.ready = true;
    } else if (old?.lastState?.terminated) {
      // The instances are gone (e.g. the kubelet restarted after a clean-up): keep what was known.
      status.lastState = old.lastState;
    }
    const why = inputs.reasons?.get(spec.name);
    if (why && latest?.state !== "running") {
      const restartable = latest?.state !== "exited" || shouldContainerBeRestarted(pod, spec.name, rt);
      if (restartable) {
        if (latest?.state === "exited") status.lastState = status.state;
        status.state = { waiting: { reason: why.reason, message: why.message } };
      }
    }
    return status;
  });
}

/** The kubelet's getPhase. */
export function podPhase(pod: KubeObject, initStatuses: any[], statuses: any[]): string {
  const policy = pod.spec?.restartPolicy ?? "Always";
  let pendingInit = 0;
  let failedInit = 0;
  for (const s of initStatuses) {
    if (s.state.running) pendingInit++;
    else if (s.state.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.lastState?.terminated) {
      if (s.lastState.terminated.exitCode !== 0) failedInit++;
    } else pendingInit++;
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState?.terminated) stopped++;
    else waiting++;
  }
  if (failedInit > 0 && policy === "Never") return "Failed";
  if (pendingInit > 0 || waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (policy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

/** BestEffort, Burstable or Guaranteed, from the containers' requests and limits. */
export function qosClass(pod: KubeObject): string {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ["cpu", "memory"]) {
      if (lim[r] === undefined) guaranteed = false;
      else if (req[r] !== undefined && String(req[r]) !== String(lim[r])) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

interface Cond {
  type: string;
  ok: boolean;
  reason?: string;
  message?: string;
}

/** The status the kubelet reports for `pod` now. */
export function computePodStatus(pod: KubeObject, rt: PodRuntime | undefined, inputs: StatusInputs): any {
  const old = pod.status ?? {};
  const initSpecs: any[] = pod.spec?.initContainers ?? [];
  const specs: any[] = pod.spec?.containers ?? [];
  const initStatuses = containerStatuses(pod, rt, initSpecs, inputs, true, old.initContainerStatuses ?? []);
  const statuses = containerStatuses(pod, rt, specs, inputs, false, old.containerStatuses ?? []);
  // A finished pod stays finished: the kubelet never revives one.
  const phase =
    old.phase === "Succeeded" || old.phase === "Failed" ? old.phase : podPhase(pod, initStatuses, statuses);

  const sandbox = rt?.sandboxes[0];
  const hostNetwork = Boolean(pod.spec?.hostNetwork);
  const sandboxUp = Boolean(sandbox?.ready && (hostNetwork || sandbox.ips.length));
  let ips: string[] = hostNetwork ? [inputs.nodeIp] : sandboxUp ? sandbox!.ips : [];
  if (!ips.length && old.podIPs?.length) ips = old.podIPs.map((p: any) => p.ip);

  const incompleteInit = initStatuses
    .filter((s) => !(s.state.terminated && s.state.terminated.exitCode === 0))
    .map((s) => s.name);
  const initialized = !incompleteInit.length || initProgress(pod, rt).done;
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const completed = phase === "Succeeded";
  const readyCond = (type: string): Cond =>
    completed
      ? { type, ok: false, reason: "PodCompleted" }
      : unready.length
        ? {
            type,
            ok: false,
            reason: "ContainersNotReady",
            message: `containers with unready status: [${unready.join(" ")}]`,
          }
        : { type, ok: true };
  const conds: Cond[] = [
    { type: "PodReadyToStartContainers", ok: sandboxUp },
    initialized
      ? {
          type: "Initialized",
          ok: true,
          ...(completed && initSpecs.length ? { reason: "PodCompleted" } : {}),
        }
      : {
          type: "Initialized",
          ok: false,
          reason: "ContainersNotInitialized",
          message: `containers with incomplete status: [${incompleteInit.join(" ")}]`,
        },
    readyCond("Ready"),
    readyCond("ContainersReady"),
  ];
  const now = formatTime(inputs.now);
  const oldConds: any[] = old.conditions ?? [];
  const conditions: any[] = conds.map((c) => {
    const status = c.ok ? "True" : "False";
    const prev = oldConds.find((o) => o.type === c.type);
    const out: any = {
      type: c.type,
      status,
      lastProbeTime: null,
      lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    };
    if (c.reason) out.reason = c.reason;
    if (c.message) out.message = c.message;
    return out;
  });
  const scheduled = oldConds.find((o) => o.type === "PodScheduled");
  conditions.push(
    scheduled ?? { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: now },
  );

  const status: any = {
    phase,
    conditions,
    hostIP: inputs.nodeIp,
    hostIPs: [{ ip: inputs.nodeIp }],
    startTime: old.startTime ?? now,
    containerStatuses: statuses,
    qosClass: qosClass(pod),
  };
  if (initStatuses.length) status.initContainerStatuses = initStatuses;
  if (ips.length) {
    status.podIP = ips[0];
    status.podIPs = ips.map((ip) => ({ ip }));
  }
  return status;
}

/** Whether two statuses differ in anything but heartbeat-like noise (used to skip no-op writes). */
export function statusChanged(oldStatus: any, next: any): boolean {
  return JSON.stringify(normalize(oldStatus ?? {})) !== JSON.stringify(normalize(next));
}

function normalize(v: any): any {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === "object") {
    const out: any = {};
    for (const k of Object.keys(v).sort()) {
      const x = v[k];
      if (x === undefined || x === null) continue;
      if (typeof x === "object" && !Array.isArray(x) && Object.keys(x).length === 0) continue;
      out[k] = normalize(x);
    }
    return out;
  }
  return v;
}
