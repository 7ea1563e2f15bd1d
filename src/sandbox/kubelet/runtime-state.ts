// The kubelet's view of what runs, rebuilt from CRI by relisting (containerd 1.6 has no CRI
// event stream): sandboxes and containers grouped by pod UID, plus which pods changed since
// the previous relist (the kubelet's PLEG). Exited containers never change, so their statuses
// are fetched once; running ones are re-read only when ListContainers reports a new state.
import {
  CONTAINER_CREATED,
  CONTAINER_EXITED,
  CONTAINER_RUNNING,
  type Container,
  type ContainerStatus,
  type PodSandbox,
  type RuntimeService,
  SANDBOX_READY,
} from "../../cri/types.ts";
import type { OomLog } from "./oom-log.ts";

export const LABEL_POD_NAME = "io.kubernetes.pod.name";
export const LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace";
export const LABEL_POD_UID = "io.kubernetes.pod.uid";
export const LABEL_CONTAINER_NAME = "io.kubernetes.container.name";
export const ANNOTATION_RESTART_COUNT = "io.kubernetes.container.restartCount";
export const ANNOTATION_CONTAINER_HASH = "io.kubernetes.container.hash";
export const ANNOTATION_GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod";
export const ANNOTATION_CONFIG_SOURCE = "kubernetes.io/config.source";

export type ContainerRunState = "created" | "running" | "exited" | "unknown";

export interface SandboxView {
  id: string;
  attempt: number;
  ready: boolean;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Pod IPs (empty for a hostNetwork sandbox or one without network). */
  ips: string[];
  hostNetwork: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerView {
  id: string;
  name: string;
  sandboxId: string;
  /** The restart count this instance was created with. */
  attempt: number;
  state: ContainerRunState;
  /** Milliseconds since the epoch; 0 when not reached. */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  image: string;
  imageRef: string;
  hash: string;
  /** Absolute path of this instance's log file ("" when unknown). */
  logPath: string;
}

export interface PodRuntime {
  uid: string;
  name: string;
  namespace: string;
  /** Newest first. */
  sandboxes: SandboxView[];
  /** Newest first (by attempt, then creation). */
  containers: ContainerView[];
}

const nsToMs = (ns: number): number => (ns > 0 ? Math.floor(ns / 1e6) : 0);

function runState(state: number): ContainerRunState {
  if (state === CONTAINER_RUNNING) return "running";
  if (state === CONTAINER_EXITED) return "exited";
  if (state === CONTAINER_CREATED) return "created";
  return "unknown";
}

/** A ContainerView from a CRI ContainerStatus (the sandbox id comes from the listing). */
export function containerView(s: ContainerStatus, sandboxId: string): ContainerView {
  const attempt = Number(s.annotations?.[ANNOTATION_RESTART_COUNT] ?? s.metadata?.attempt ?? 0);
  return {
    id: s.id,
    name: s.labels?.[LABEL_CONTAINER_NAME] ?? s.metadata?.name ?? "",
    sandboxId,
    attempt: Number.isFinite(attempt) ? attempt : 0,
    state: runState(s.state),
    createdAt: nsToMs(s.createdAt),
    startedAt: nsToMs(s.startedAt),
    finishedAt: nsToMs(s.finishedAt),
    exitCode: s.exitCode ?? 0,
    reason: s.reason ?? "",
    message: s.message ?? "",
    image: s.image?.image ?? "",
    imageRef: s.imageRef ?? "",
    hash: s.annotations?.[ANNOTATION_CONTAINER_HASH] ?? "",
    logPath: s.logPath ?? "",
  };
}

/** Newest first: higher attempt, then later creation. */
export function byNewest<T extends { attempt: number; createdAt: number }>(a: T, b: T): number {
  return b.attempt - a.attempt || b.createdAt - a.createdAt;
}

/** The newest instance of a container, and the one before it. */
export function instancesOf(rt: PodRuntime | undefined, name: string): ContainerView[] {
  return (rt?.containers ?? []).filter((c) => c.name === name);
}

export function latestInstance(rt: PodRuntime | undefined, name: string): ContainerView | undefined {
  return instancesOf(rt, name)[0];
}

/** A pod's state signature: changes whenever a sandbox or container appears, goes or changes state. */
function signature(rt: PodRuntime): string {
  return [
    ...rt.sandboxes.map((s) => `s:${s.id}:${s.ready}`),
    ...rt.containers.map((c) => `c:${c.id}:${c.state}:${c.reason}`),
  ].join(",");
}

/**
 * How long after a container's exit its status may still change: containerd's CRI plugin
 * records an OOM kill when the shim's TaskOOM event arrives, which can come after the exit is
 * visible, so a status read at once may say Error where it will say OOMKilled. (When the event
 * never comes, the kernel's log says so: see oom-log.ts.)
 */
const EXIT_SETTLE_MS = 2_000;

export class RuntimeState {
  private readonly runtime: RuntimeService;
  /** Container statuses by id, with the CRI state they were read in. */
  private readonly statusCache = new Map<string, { state: number; view: ContainerView; settled: boolean }>();
  /** Sandbox network info by id (fixed for a sandbox's life). */
  private readonly sandboxCache = new Map<string, { ips: string[]; hostNetwork: boolean }>();
  private pods = new Map<string, PodRuntime>();
  private signatures = new Map<string, string>();

  private readonly oomLog: OomLog | undefined;

  constructor(runtime: RuntimeService, oomLog?: OomLog) {
    this.oomLog = oomLog;
    this.runtime = runtime;
  }

  /** The last relisted view of a pod. */
  get(uid: string): PodRuntime | undefined {
    return this.pods.get(uid);
  }

  all(): PodRuntime[] {
    return [...this.pods.values()];
  }

  /** Relists everything; returns the UIDs whose runtime state changed (appeared, went, or moved). */
  async relist(): Promise<Set<string>> {
    const [sandboxes, containers] = await Promise.all([
      this.runtime.listPodSandbox(),
      this.runtime.listContainers(),
    ]);
    const pods = await this.assemble(sandboxes, containers);
    // Forget statuses of containers and sandboxes that are gone.
    const liveContainers = new Set(containers.map((c) => c.id));
    const liveSandboxes = new Set(sandboxes.map((s) => s.id));
    for (const id of this.statusCache.keys()) if (!liveContainers.has(id)) this.statusCache.delete(id);
    for (const id of this.sandboxCache.keys()) if (!liveSandboxes.has(id)) this.sandboxCache.delete(id);
    const changed = new Set<string>();
    const sigs = new Map<string, string>();
    for (const [uid, p] of pods) {
      const sig = signature(p);
      sigs.set(uid, sig);
      if (this.signatures.get(uid) !== sig) changed.add(uid);
    }
    for (const uid of this.signatures.keys()) if (!pods.has(uid)) changed.add(uid);
    this.pods = pods;
    this.signatures = sigs;
    return changed;
  }

  /** Re-reads one pod now (after the kubelet changed it), keeping the others as they were. */
  async refreshPod(uid: string): Promise<PodRuntime | undefined> {
    const [sandboxes, containers] = await Promise.all([
      this.runtime.listPodSandbox({ labelSelector: { [LABEL_POD_UID]: uid } }),
      this.runtime.listContainers({ labelSelector: { [LABEL_POD_UID]: uid } }),
    ]);
    const p = (await this.assemble(sandboxes, containers)).get(uid);
    if (!p) {
      this.pods.delete(uid);
      this.signatures.delete(uid);
      return undefined;
    }
    this.pods.set(uid, p);
    this.signatures.set(uid, signature(p));
    return p;
  }

  private async assemble(sandboxes: PodSandbox[], containers: Container[]): Promise<Map<string, PodRuntime>> {
    const pods = new Map<string, PodRuntime>();
    const podFor = (
      labels: Record<string, string>,
      meta?: { name: string; namespace: string; uid: string },
    ) => {
      const uid = labels[LABEL_POD_UID] ?? meta?.uid ?? "";
      let p = pods.get(uid);
      if (!p) {
        p = { uid, name: "", namespace: "", sandboxes: [], containers: [] };
        pods.set(uid, p);
      }
      p.name ||= labels[LABEL_POD_NAME] ?? meta?.name ?? "";
      p.namespace ||= labels[LABEL_POD_NAMESPACE] ?? meta?.namespace ?? "";
      return p;
    };
    for (const sb of sandboxes) {
      const ready = sb.state === SANDBOX_READY;
      const net = ready ? await this.sandboxNetwork(sb.id) : undefined;
      podFor(sb.labels ?? {}, sb.metadata).sandboxes.push({
        id: sb.id,
        attempt: sb.metadata?.attempt ?? 0,
        ready,
        createdAt: nsToMs(sb.createdAt),
        ips: net?.ips ?? [],
        hostNetwork: net?.hostNetwork ?? false,
        labels: sb.labels ?? {},
        annotations: sb.annotations ?? {},
      });
    }
    for (const c of containers) {
      let cached = this.statusCache.get(c.id);
      if (!cached || cached.state !== c.state || !cached.settled) {
        // Gone between list and status: the next relist settles it.
        const st = await this.runtime.containerStatus(c.id).catch(() => undefined);
        if (!st) continue;
        const view = containerView(st.status, c.podSandboxId);
        // SIGKILLed, and the kernel logged an OOM kill in its cgroup: containerd lost the event.
        if (
          view.state === "exited" &&
          view.exitCode === 137 &&
          view.reason !== "OOMKilled" &&
          this.oomLog?.killedIn(c.id)
        )
          view.reason = "OOMKilled";
        const settled = view.state !== "exited" || Date.now() - view.finishedAt >= EXIT_SETTLE_MS;
        cached = { state: c.state, view, settled };
        this.statusCache.set(c.id, cached);
      }
      podFor(c.labels ?? {}).containers.push(cached.view);
    }
    for (const p of pods.values()) {
      p.sandboxes.sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
      p.containers.sort(byNewest);
    }
    return pods;
  }

  private async sandboxNetwork(id: string): Promise<{ ips: string[]; hostNetwork: boolean } | undefined> {
    let net = this.sandboxCache.get(id);
    if (net) return net;
    const st = await this.runtime.podSandboxStatus(id).catch(() => undefined);
    if (!st) return undefined;
    const ip = st.status.network?.ip;
    net = {
      ips: ip ? [ip, ...(st.status.network?.additionalIps ?? []).map((a) => a.ip)] : [],
      hostNetwork: st.status.linux?.namespaces?.options?.network === 2,
    };
    this.sandboxCache.set(id, net);
    return net;
  }
}
