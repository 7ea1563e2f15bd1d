// What to do to bring a pod's runtime state to its spec: kuberuntime's computePodActions as a
// pure function of the pod, the relisted runtime view and the liveness results. The executor
// (kubelet.ts) applies the actions; back-off is checked there, when a container is started.
import type { KubeObject } from "../../kube/objects.ts";
import { type ContainerView, latestInstance, type PodRuntime } from "./runtime-state.ts";

export interface ContainerToKill {
  id: string;
  name: string;
  /** For the Killing event, e.g. "Container app failed liveness probe, will be restarted". */
  message: string;
}

export interface PodActions {
  /** Stop every container and the sandbox (sandbox changed, or nothing is left to run). */
  killPod: boolean;
  createSandbox: boolean;
  /** The current sandbox ("" when there is none). */
  sandboxId: string;
  /** Attempt number of the sandbox to create. */
  attempt: number;
  /** The init container to start next. */
  nextInitContainer?: string;
  /** App containers to (re)start, in spec order. */
  containersToStart: string[];
  containersToKill: ContainerToKill[];
}

/** The probes whose failure restarts a container. */
export type FailedProbe = "liveness" | "startup";

export interface SyncInputs {
  /** Running containers whose liveness or startup probe failed: container id -> which probe. */
  livenessFailed?: ReadonlyMap<string, FailedProbe>;
  /** Expected hash per container name; a running container with another hash is replaced. */
  hashes?: ReadonlyMap<string, string>;
}

export const restartPolicyOf = (pod: KubeObject): "Always" | "OnFailure" | "Never" =>
  pod.spec?.restartPolicy ?? "Always";

/** Whether failed containers are restarted at all (Always and OnFailure). */
export const shouldRestartOnFailure = (pod: KubeObject): boolean => restartPolicyOf(pod) !== "Never";

/** kubecontainer.ShouldContainerBeRestarted: whether a container that is not running should be (re)started. */
export function shouldContainerBeRestarted(
  pod: KubeObject,
  name: string,
  rt: PodRuntime | undefined,
): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  const st = latestInstance(rt, name);
  if (!st) return true;
  if (st.state === "running") return false;
  if (st.state === "unknown" || st.state === "created") return true;
  const policy = restartPolicyOf(pod);
  if (policy === "Never") return false;
  if (policy === "OnFailure" && st.exitCode === 0) return false;
  return true;
}

/** Whether an init container instance failed (exit != 0, unknown, or created but never ran). */
export function isInitContainerFailed(st: ContainerView): boolean {
  if (st.state === "exited" && st.exitCode !== 0) return true;
  if (st.state === "unknown") return true;
  return st.state === "created" && st.reason !== "";
}

export interface InitProgress {
  /** The latest status of the failed init container, if one failed. */
  failed?: ContainerView;
  /** The init container to run next. */
  next?: string;
  /** All init containers completed (or there are none). */
  done: boolean;
}

/** findNextInitContainerToRun: where initialization stands. */
export function initProgress(pod: KubeObject, rt: PodRuntime | undefined): InitProgress {
  const inits: { name: string }[] = pod.spec?.initContainers ?? [];
  if (!inits.length) return { done: true };
  // A running app container means initialization finished earlier (e.g. its instances were removed).
  for (const c of pod.spec?.containers ?? [])
    if (latestInstance(rt, c.name)?.state === "running") return { done: true };
  for (let i = inits.length - 1; i >= 0; i--) {
    const st = latestInstance(rt, inits[i].name);
    if (st && isInitContainerFailed(st)) return { failed: st, next: inits[i].name, done: false };
  }
  for (let i = inits.length - 1; i >= 0; i--) {
    const st = latestInstance(rt, inits[i].name);
    if (!st) continue;
    if (st.state === "running") return { done: false };
    if (st.state === "exited")
      return i === inits.length - 1 ? { done: true } : { next: inits[i + 1].name, done: false };
  }
  return { next: inits[0].name, done: false };
}

/** podSandboxChanged: whether the pod needs a new sandbox, with its attempt number. */
export function sandboxChange(
  pod: KubeObject,
  rt: PodRuntime | undefined,
): { create: boolean; attempt: number; sandboxId: string } {
  const sandboxes = rt?.sandboxes ?? [];
  if (!sandboxes.length) return { create: true, attempt: 0, sandboxId: "" };
  const sb = sandboxes[0];
  const next = { create: true, attempt: sb.attempt + 1, sandboxId: sb.id };
  if (sandboxes.filter((s) => s.ready).length > 1) return next;
  if (!sb.ready) return next;
  const hostNetwork = Boolean(pod.spec?.hostNetwork);
  if (sb.hostNetwork !== hostNetwork) return next;
  if (!hostNetwork && !sb.ips.length) return next;
  return { create: false, attempt: sb.attempt, sandboxId: sb.id };
}

const succeeded = (rt: PodRuntime | undefined, name: string): boolean => {
  const st = latestInstance(rt, name);
  return st?.state === "exited" && st.exitCode === 0;
};

/** computePodActions. */
export function computePodActions(
  pod: KubeObject,
  rt: PodRuntime | undefined,
  inputs: SyncInputs = {},
): PodActions {
  const sb = sandboxChange(pod, rt);
  const actions: PodActions = {
    killPod: sb.create,
    createSandbox: sb.create,
    sandboxId: sb.sandboxId,
    attempt: sb.attempt,
    containersToStart: [],
    containersToKill: [],
  };
  const containers: { name: string }[] = pod.spec?.containers ?? [];
  const inits: { name: string }[] = pod.spec?.initContainers ?? [];

  if (pod.metadata.deletionTimestamp) {
    // Termination is the termination path's business; never start anything for a deleted pod.
    return { ...actions, killPod: true, createSandbox: false };
  }

  if (sb.create) {
    // A Never pod whose containers ran once does not get a second sandbox.
    if (!shouldRestartOnFailure(pod) && sb.attempt !== 0 && (rt?.containers.length ?? 0) > 0) {
      actions.createSandbox = false;
      return actions;
    }
    const toStart = containers
      .filter((c) => !(restartPolicyOf(pod) === "OnFailure" && succeeded(rt, c.name)))
      .map((c) => c.name);
    if (!toStart.length && initProgress(pod, rt).done) {
      actions.createSandbox = false;
      return actions;
    }
    if (inits.length) {
      actions.nextInitContainer = inits[0].name;
      return actions;
    }
    actions.containersToStart = toStart;
    return actions;
  }

  const init = initProgress(pod, rt);
  if (!init.done) {
    if (init.next) {
      if (init.failed && !shouldRestartOnFailure(pod)) {
        actions.killPod = true;
      } else {
        if (init.failed?.state === "unknown")
          actions.containersToKill.push({
            id: init.failed.id,
            name: init.failed.name,
            message: `Container ${init.failed.name} is in unknown state, will be restarted`,
          });
        actions.nextInitContainer = init.next;
      }
    }
    return actions;
  }

  let keep = 0;
  for (const c of containers) {
    const st = latestInstance(rt, c.name);
    if (st?.state !== "running") {
      if (shouldContainerBeRestarted(pod, c.name, rt)) {
        actions.containersToStart.push(c.name);
        if (st?.state === "unknown")
          actions.containersToKill.push({
            id: st.id,
            name: c.name,
            message: `Container ${c.name} is in unknown state, will be restarted`,
          });
      }
      continue;
    }
    let message: string;
    let restart = shouldRestartOnFailure(pod);
    const want = inputs.hashes?.get(c.name);
    if (want && st.hash && want !== st.hash) {
      message = `Container ${c.name} definition changed`;
      restart = true;
    } else if (inputs.livenessFailed?.has(st.id)) {
      message = `Container ${c.name} failed ${inputs.livenessFailed.get(st.id)} probe`;
    } else {
      keep++;
      continue;
    }
    if (restart) {
      message += ", will be restarted";
      actions.containersToStart.push(c.name);
    }
    actions.containersToKill.push({ id: st.id, name: c.name, message });
  }
  if (keep === 0 && actions.containersToStart.length === 0) actions.killPod = true;
  return actions;
}

/** Whether the actions change nothing. */
export function isNoop(a: PodActions): boolean {
  return (
    !a.killPod &&
    !a.createSandbox &&
    !a.nextInitContainer &&
    a.containersToStart.length === 0 &&
    a.containersToKill.length === 0
  );
}
