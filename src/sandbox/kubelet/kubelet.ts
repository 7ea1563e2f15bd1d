// The kubelet's pod lifecycle over CRI: every pod this node should run (API pods bound to it,
// static pods) is synced by its own worker: status from the runtime view, then the actions of
// computePodActions (sandbox, init containers one by one, containers with restart back-off),
// then status again. Container exits are noticed by relisting CRI every second (PLEG).
// Termination stops containers with the grace period, then the sandbox, then removes the pod.
import { rmSync } from "node:fs";
import type { ImageService, RuntimeService } from "../../cri/types.ts";
import type { ObjectReference } from "../../kube/events.ts";
import type { Logger } from "../../kube/log.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { Backoff, backoffKey, formatDuration } from "./backoff.ts";
import {
  ContainerConfigError,
  containerConfig,
  containerHash,
  podLogDirectory,
  sandboxConfig,
} from "./container-config.ts";
import { writeEtcHosts } from "./etc-hosts.ts";
import type { OomLog } from "./oom-log.ts";
import { computePodActions, type FailedProbe, type PodActions } from "./pod-sync.ts";
import { PodWorkers } from "./pod-workers.ts";
import {
  ANNOTATION_CONFIG_SOURCE,
  type ContainerView,
  instancesOf,
  latestInstance,
  type PodRuntime,
  RuntimeState,
} from "./runtime-state.ts";
import type { KubeletPod } from "./server/types.ts";
import { computePodStatus, statusChanged, type WaitingReason } from "./status.ts";
import { type ObjectGetter, setUpVolumes, tearDownVolumes, VolumeError } from "./volumes.ts";

/** What the kubelet needs from the API server (a small interface, so tests hand in a fake). */
export interface KubeletApi extends ObjectGetter {
  /**
   * Writes the pod's status subresource; false when the pod is gone. With `uid`, only onto that
   * pod: a successor of the same name is left alone (false, as upstream's kubelet).
   */
  writePodStatus(namespace: string, name: string, uid: string | undefined, status: any): Promise<boolean>;
  /** Deletes the pod object now (grace 0, uid precondition); NotFound/Conflict are fine. */
  deletePod(namespace: string, name: string, uid: string): Promise<void>;
}

export interface EventSink {
  event(obj: KubeObject | ObjectReference, type: "Normal" | "Warning", reason: string, message: string): void;
}

/** The probe manager as the kubelet uses it (src/kubelet/probes/manager.ts). */
export interface ProbeResults {
  updatePod(
    pod: KubeObject,
    podIp: string | undefined,
    running: { name: string; containerId: string; startedAtMs: number }[],
  ): void;
  removePod(podUid: string): void;
  isReady(podUid: string, containerName: string): boolean;
  isStarted(podUid: string, containerName: string): boolean;
}

export interface KubeletOptions {
  nodeName: string;
  nodeIp: string;
  podsDir: string;
  podLogsDir: string;
  runtime: RuntimeService;
  /** The kernel's record of OOM kills, for those containerd fails to report (oom-log.ts). */
  oomLog?: OomLog;
  images: ImageService;
  api: KubeletApi;
  events: EventSink;
  /** Local image reference for a pod's image, or undefined when the sandbox does not have it. */
  resolveImage(ref: string): string | undefined;
  /** For the pull error message: the images the sandbox has. */
  availableImages(): string[];
  probes?: ProbeResults;
  log: Logger;
  memoryCapacityBytes?: number;
  /** Back-offs (tests shorten them). */
  containerBackoff?: Backoff;
  imageBackoff?: Backoff;
  /** Stop grace floor, as the kubelet's minimumGracePeriodInSeconds (2). */
  minGraceSeconds?: number;
  now?: () => number;
}

/** A pod as the kubelet runs it; static pods write their status to their mirror pod. */
export interface DesiredPod {
  pod: KubeObject;
  /** Static pod: status goes to the mirror pod of this name; never deleted through the API. */
  static?: boolean;
}

const RESYNC_MS = 10_000;

/** `name_namespace(uid)`, the kubelet's format.Pod. */
export const formatPod = (pod: KubeObject): string =>
  `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;

export class Kubelet {
  readonly runtimeState: RuntimeState;
  readonly workers: PodWorkers;
  private readonly o: KubeletOptions;
  private readonly containerBackoff: Backoff;
  private readonly imageBackoff: Backoff;
  private readonly now: () => number;
  /** What should run, by pod UID. */
  private readonly desired = new Map<string, DesiredPod>();
  /** The last spec seen per UID, kept after the pod goes so it can be torn down properly. */
  private readonly lastKnown = new Map<string, KubeObject>();
  /** The status last written (or read) per UID. */
  private readonly statuses = new Map<string, any>();
  /** Why containers are not running, as the last sync found, per UID. */
  private readonly reasons = new Map<string, Map<string, WaitingReason>>();
  private readonly livenessFailed = new Map<string, Map<string, FailedProbe>>();
  /** API pods terminated and deleted by this kubelet; late informer updates must not resurrect them. */
  private readonly finished = new Set<string>();
  /** Pods force-deleted from the API: torn down with the minimum grace period. */
  private readonly forcedRemoval = new Set<string>();
  /** Pods whose status must be written even if unchanged (a mirror pod recreated without it). */
  private readonly statusUnwritten = new Set<string>();

  constructor(o: KubeletOptions) {
    this.o = o;
    this.runtimeState = new RuntimeState(o.runtime, o.oomLog);
    this.containerBackoff = o.containerBackoff ?? new Backoff();
    this.imageBackoff = o.imageBackoff ?? new Backoff();
    this.now = o.now ?? Date.now;
    this.workers = new PodWorkers((uid) => this.syncPod(uid), o.log);
  }

  /** A pod to run appeared or changed. */
  upsertPod(d: DesiredPod): void {
    const uid = d.pod.metadata.uid ?? "";
    if (!uid || this.finished.has(uid)) return;
    this.desired.set(uid, d);
    this.lastKnown.set(uid, d.pod);
    if (!this.statuses.has(uid) && d.pod.status && !d.static) this.statuses.set(uid, d.pod.status);
    this.workers.update(uid);
  }

  /**
   * A pod is gone from its source (deleted from the API, manifest removed): tear it down.
   * `forced`: the API object went without the kubelet's graceful termination (deleted with
   * --grace-period=0 --force); as the kubelet does, its containers get only the minimum grace.
   */
  removePod(uid: string, opts: { forced?: boolean } = {}): void {
    this.desired.delete(uid);
    if (opts.forced && this.lastKnown.has(uid)) this.forcedRemoval.add(uid);
    this.workers.update(uid);
  }

  /** A static pod's mirror pod was (re)created: its status is written to it afresh. */
  mirrorPodCreated(uid: string): void {
    if (!this.desired.get(uid)?.static) return;
    this.statusUnwritten.add(uid);
    this.workers.update(uid);
  }

  /**
   * The probe manager's liveness (or startup) callback: the container is killed and restarted
   * per policy; the Killing event names the probe that failed.
   */
  onLivenessFailure(
    podUid: string,
    _name: string,
    containerId: string,
    probe: FailedProbe = "liveness",
  ): void {
    let s = this.livenessFailed.get(podUid);
    if (!s) {
      s = new Map();
      this.livenessFailed.set(podUid, s);
    }
    s.set(containerId, probe);
    this.workers.update(podUid);
  }

  desiredPod(uid: string): DesiredPod | undefined {
    return this.desired.get(uid);
  }

  desiredPods(): DesiredPod[] {
    return [...this.desired.values()];
  }

  /** One PLEG round: relist CRI, sync pods whose runtime state changed, tear down orphans. */
  async relist(): Promise<void> {
    const changed = await this.runtimeState.relist();
    for (const uid of changed) this.workers.update(uid);
  }

  /** Re-syncs every pod (periodic), and tears down runtime pods nobody wants. */
  resyncAll(): void {
    for (const uid of this.desired.keys()) this.workers.update(uid);
    for (const rt of this.runtimeState.all()) if (!this.desired.has(rt.uid)) this.workers.update(rt.uid);
  }

  /**
   * After a restart: seeds back-offs from the containers found, so a crash-looping container
   * keeps waiting rather than restarting at once. Call after the first relist.
   */
  restoreBackoffs(): void {
    for (const rt of this.runtimeState.all()) {
      const names = new Set(rt.containers.map((c) => c.name));
      for (const name of names) {
        const [latest] = instancesOf(rt, name);
        if (!latest || latest.attempt === 0) continue;
        const ms = Math.min(10_000 * 2 ** (latest.attempt - 1), 300_000);
        this.containerBackoff.restore(backoffKey(rt.uid, name), ms, latest.startedAt || latest.createdAt);
      }
    }
  }

  /** For the kubelet server: a pod's sandbox and containers with their log files. */
  find(namespace: string, name: string): KubeletPod | undefined {
    for (const d of this.desired.values()) {
      const m = d.pod.metadata;
      if (m.namespace !== namespace || m.name !== name) continue;
      const rt = this.runtimeState.get(m.uid ?? "");
      const logDir = podLogDirectory(this.o.podLogsDir, d.pod);
      const specs = [...(d.pod.spec?.initContainers ?? []), ...(d.pod.spec?.containers ?? [])];
      return {
        uid: m.uid ?? "",
        sandboxId: rt?.sandboxes.find((s) => s.ready)?.id ?? rt?.sandboxes[0]?.id,
        containers: specs.map((c: any) => {
          const [cur, prev] = instancesOf(rt, c.name);
          const waiting = this.reasons.get(m.uid ?? "")?.get(c.name)?.reason;
          return {
            name: c.name as string,
            id: cur?.id,
            waitingReason:
              cur?.state === "running" ? undefined : (waiting ?? (cur ? undefined : "ContainerCreating")),
            logPath: cur ? cur.logPath || `${logDir}/${c.name}/${cur.attempt}.log` : undefined,
            previousLogPath: prev ? prev.logPath || `${logDir}/${c.name}/${prev.attempt}.log` : undefined,
          };
        }),
      };
    }
    return undefined;
  }

  async stop(): Promise<void> {
    await this.workers.stop();
  }

  // --- the sync ---

  private async syncPod(uid: string): Promise<void> {
    const rt = await this.runtimeState.refreshPod(uid);
    const d = this.desired.get(uid);
    if (!d) {
      await this.teardown(uid, rt, this.lastKnown.get(uid));
      return;
    }
    const pod = d.pod;
    if (pod.metadata.deletionTimestamp) {
      await this.terminate(d, rt);
      return;
    }
    const old = this.statuses.get(uid) ?? pod.status;
    const terminal = old?.phase === "Succeeded" || old?.phase === "Failed";
    // Status first (it shows what the previous sync found, e.g. a container that just exited).
    await this.writeStatus(d, rt);
    if (terminal) {
      await this.killPod(pod, rt, undefined);
      this.o.probes?.removePod(uid);
      return;
    }
    const hashes = new Map<string, string>(
      (pod.spec?.containers ?? []).map((c: any) => [c.name, containerHash(c)] as [string, string]),
    );
    const actions = computePodActions(pod, rt, { livenessFailed: this.livenessFailed.get(uid), hashes });
    this.livenessFailed.delete(uid);
    const wakeMs = await this.execute(d, rt, actions);
    const after = await this.runtimeState.refreshPod(uid);
    // Probes first: a container without a readiness probe is ready in the very status that
    // first reports it running (as upstream's prober manager answers for unknown workers).
    this.updateProbes(pod, after);
    await this.writeStatus(d, after);
    this.gcContainers(after);
    this.workers.syncAfter(uid, wakeMs ?? RESYNC_MS);
  }

  private updateProbes(pod: KubeObject, rt: PodRuntime | undefined): void {
    if (!this.o.probes) return;
    const sb = rt?.sandboxes[0];
    const podIp = pod.spec?.hostNetwork ? this.o.nodeIp : sb?.ready ? sb.ips[0] : undefined;
    const running = (pod.spec?.containers ?? [])
      .map((c: any) => latestInstance(rt, c.name))
      .filter((c: ContainerView | undefined): c is ContainerView => c?.state === "running")
      .map((c: ContainerView) => ({ name: c.name, containerId: c.id, startedAtMs: c.startedAt }));
    this.o.probes.updatePod(pod, podIp, running);
  }

  private async writeStatus(d: DesiredPod, rt: PodRuntime | undefined): Promise<void> {
    const pod = d.pod;
    const uid = pod.metadata.uid ?? "";
    const old = this.statuses.get(uid) ?? (d.static ? undefined : pod.status);
    const probes = this.o.probes;
    const status = computePodStatus({ ...pod, status: old ?? {} }, rt, {
      nodeIp: this.o.nodeIp,
      now: this.now(),
      reasons: this.reasons.get(uid),
      isReady: probes ? (name) => probes.isReady(uid, name) : undefined,
      isStarted: probes ? (name) => probes.isStarted(uid, name) : undefined,
    });
    if (old && !statusChanged(old, status) && !this.statusUnwritten.has(uid)) return;
    // A static pod's status goes to its mirror pod, which has a UID of its own.
    const ok = await this.o.api.writePodStatus(
      pod.metadata.namespace ?? "",
      pod.metadata.name ?? "",
      d.static ? undefined : uid,
      status,
    );
    if (ok) {
      this.statuses.set(uid, status);
      this.statusUnwritten.delete(uid);
    }
  }

  private ref(pod: KubeObject, container?: string, init = false): ObjectReference {
    const ref: ObjectReference = {
      kind: "Pod",
      apiVersion: "v1",
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
    };
    if (container) ref.fieldPath = `spec.${init ? "initContainers" : "containers"}{${container}}`;
    return ref;
  }

  private graceSeconds(pod: KubeObject | undefined): number {
    const g = pod?.metadata.deletionGracePeriodSeconds ?? pod?.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(g, this.o.minGraceSeconds ?? 2);
  }

  /** Runs the actions; returns when the pod wants its next sync (a back-off ending). */
  private async execute(
    d: DesiredPod,
    rt: PodRuntime | undefined,
    a: PodActions,
  ): Promise<number | undefined> {
    const pod = d.pod;
    const uid = pod.metadata.uid ?? "";
    const reasons = this.reasonsFor(uid);
    if (a.killPod) {
      if (a.createSandbox && a.attempt > 0)
        this.o.events.event(
          this.ref(pod),
          "Normal",
          "SandboxChanged",
          "Pod sandbox changed, it will be killed and re-created.",
        );
      await this.killPod(pod, rt, undefined);
    } else {
      await Promise.all(
        a.containersToKill.map(async (k) => {
          const init = (pod.spec?.initContainers ?? []).some((c: any) => c.name === k.name);
          this.o.events.event(this.ref(pod, k.name, init), "Normal", "Killing", k.message);
          await this.killContainer(pod, k.name, k.id, this.graceSeconds(pod));
        }),
      );
    }
    if (!a.createSandbox && !a.nextInitContainer && !a.containersToStart.length) return undefined;

    let volumes: Map<string, string>;
    try {
      volumes = await setUpVolumes(pod, this.o.podsDir, this.o.api);
    } catch (err) {
      const msg = err instanceof VolumeError ? err.message : String(err);
      this.o.events.event(this.ref(pod), "Warning", "FailedMount", msg);
      return 5_000;
    }

    let sandboxId = a.sandboxId;
    let podIps: string[] = rt?.sandboxes[0]?.ips ?? [];
    const sbConfig = sandboxConfig(pod, a.attempt, this.o.podLogsDir);
    if (a.createSandbox) {
      try {
        sandboxId = await this.o.runtime.runPodSandbox(sbConfig);
      } catch (err) {
        this.o.events.event(
          this.ref(pod),
          "Warning",
          "FailedCreatePodSandBox",
          `Failed to create pod sandbox: ${(err as Error).message ?? err}`,
        );
        return 5_000;
      }
      const st = await this.o.runtime.podSandboxStatus(sandboxId).catch(() => undefined);
      const ip = st?.status.network?.ip;
      podIps = ip ? [ip, ...(st?.status.network?.additionalIps ?? []).map((x) => x.ip)] : [];
    }
    if (pod.spec?.hostNetwork) podIps = [this.o.nodeIp];
    let etcHostsPath: string | undefined;
    try {
      etcHostsPath = writeEtcHosts(this.o.podsDir, pod, podIps);
    } catch (err) {
      this.o.log.warn({ pod: formatPod(pod), err: String(err) }, "cannot write the pod's hosts file");
    }

    let wake: number | undefined;
    const start = async (spec: any, init: boolean): Promise<boolean> => {
      const r = await this.startContainer(
        pod,
        spec,
        init,
        rt,
        sandboxId,
        sbConfig,
        podIps,
        volumes,
        etcHostsPath,
      );
      if (r === true) {
        reasons.delete(spec.name);
        return true;
      }
      reasons.set(spec.name, r.reason);
      if (r.retryMs !== undefined) wake = Math.min(wake ?? Infinity, r.retryMs);
      return false;
    };
    if (a.nextInitContainer) {
      const spec = (pod.spec?.initContainers ?? []).find((c: any) => c.name === a.nextInitContainer);
      if (spec) await start(spec, true);
      return wake;
    }
    for (const name of a.containersToStart) {
      const spec = (pod.spec?.containers ?? []).find((c: any) => c.name === name);
      if (spec) await start(spec, false);
    }
    return wake;
  }

  private reasonsFor(uid: string): Map<string, WaitingReason> {
    let r = this.reasons.get(uid);
    if (!r) {
      r = new Map();
      this.reasons.set(uid, r);
    }
    return r;
  }

  /** kuberuntime's startContainer: back-off, image, config, create, start. */
  private async startContainer(
    pod: KubeObject,
    spec: any,
    init: boolean,
    rt: PodRuntime | undefined,
    sandboxId: string,
    sbConfig: ReturnType<typeof sandboxConfig>,
    podIps: string[],
    volumes: Map<string, string>,
    etcHostsPath: string | undefined,
  ): Promise<true | { reason: WaitingReason; retryMs?: number }> {
    const uid = pod.metadata.uid ?? "";
    const ref = this.ref(pod, spec.name, init);
    const now = this.now();
    const latest = latestInstance(rt, spec.name);
    // Back-off after the container's last exit.
    const lastExit = instancesOf(rt, spec.name).find((c) => c.state === "exited");
    if (lastExit) {
      const key = backoffKey(uid, spec.name);
      const eventTime = lastExit.finishedAt || now;
      const remaining = this.containerBackoff.remaining(key, eventTime, now);
      if (remaining > 0) {
        this.o.events.event(
          ref,
          "Warning",
          "BackOff",
          `Back-off restarting failed container ${spec.name} in pod ${formatPod(pod)}`,
        );
        return {
          reason: {
            reason: "CrashLoopBackOff",
            message: `back-off ${formatDuration(this.containerBackoff.get(key))} restarting failed container=${spec.name} pod=${formatPod(pod)}`,
          },
          retryMs: remaining + 50,
        };
      }
      this.containerBackoff.next(key, eventTime, now);
    }
    // Image.
    const image = await this.ensureImage(pod, spec, ref);
    if (typeof image !== "string") return image;
    // Config.
    const restartCount = latest ? latest.attempt + 1 : 0;
    let config: ReturnType<typeof containerConfig>;
    try {
      const { configMaps, secrets } = await this.envObjects(pod, spec);
      config = containerConfig(pod, spec, {
        image,
        restartCount,
        podIp: podIps[0],
        podIps,
        nodeName: this.o.nodeName,
        hostIp: this.o.nodeIp,
        volumePaths: volumes,
        configMaps,
        secrets,
        memoryCapacityBytes: this.o.memoryCapacityBytes,
        etcHostsPath,
      });
    } catch (err) {
      const msg = err instanceof ContainerConfigError ? err.message : String((err as Error)?.message ?? err);
      this.o.events.event(ref, "Warning", "Failed", `Error: ${msg}`);
      return { reason: { reason: "CreateContainerConfigError", message: msg }, retryMs: 5_000 };
    }
    let id: string;
    try {
      id = await this.o.runtime.createContainer(sandboxId, config, sbConfig);
    } catch (err) {
      const msg = String((err as Error)?.message ?? err);
      this.o.events.event(ref, "Warning", "Failed", `Error: ${msg}`);
      return { reason: { reason: "CreateContainerError", message: msg }, retryMs: 5_000 };
    }
    this.o.events.event(ref, "Normal", "Created", `Created container ${spec.name}`);
    try {
      await this.o.runtime.startContainer(id);
    } catch (err) {
      const msg = String((err as Error)?.message ?? err);
      this.o.events.event(ref, "Warning", "Failed", `Error: ${msg}`);
      return { reason: { reason: "RunContainerError", message: msg }, retryMs: 5_000 };
    }
    this.o.events.event(ref, "Normal", "Started", `Started container ${spec.name}`);
    return true;
  }

  /** The local image for a container, or the ErrImagePull / ImagePullBackOff outcome. */
  private async ensureImage(
    pod: KubeObject,
    spec: any,
    ref: ObjectReference,
  ): Promise<string | { reason: WaitingReason; retryMs?: number }> {
    const wanted: string = spec.image ?? "";
    const key = `${pod.metadata.uid}/${wanted}`;
    const now = this.now();
    let local: string | undefined;
    try {
      local = this.o.resolveImage(wanted);
    } catch (err) {
      const msg = `Failed to apply default image tag "${wanted}": couldn't parse image name "${wanted}": ${(err as Error).message}`;
      this.o.events.event(ref, "Warning", "InspectFailed", msg);
      this.o.events.event(ref, "Warning", "Failed", "Error: InvalidImageName");
      return { reason: { reason: "InvalidImageName", message: msg }, retryMs: 30_000 };
    }
    let present = false;
    if (local) present = Boolean(await this.o.images.imageStatus({ image: local }).catch(() => undefined));
    if (local && present) {
      this.o.events.event(ref, "Normal", "Pulled", `Container image "${wanted}" already present on machine`);
      return local;
    }
    const remaining = this.imageBackoff.remaining(key, this.imageFailedAt.get(key) ?? 0, now);
    if (remaining > 0) {
      this.o.events.event(ref, "Normal", "BackOff", `Back-off pulling image "${wanted}"`);
      this.o.events.event(ref, "Warning", "Failed", "Error: ImagePullBackOff");
      return {
        reason: { reason: "ImagePullBackOff", message: `Back-off pulling image "${wanted}"` },
        retryMs: remaining + 50,
      };
    }
    this.o.events.event(ref, "Normal", "Pulling", `Pulling image "${wanted}"`);
    const why = local
      ? `image ${local} is not imported on this node`
      : `the sandbox has no registry; available images: ${this.o.availableImages().join(", ")}`;
    const msg = `failed to pull image "${wanted}": ${why}`;
    this.o.events.event(ref, "Warning", "Failed", `Failed to pull image "${wanted}": ${why}`);
    this.o.events.event(ref, "Warning", "Failed", "Error: ErrImagePull");
    this.imageBackoff.next(key, now, now);
    this.imageFailedAt.set(key, now);
    // The next sync (soon) reports ImagePullBackOff, as the kubelet's does.
    return {
      reason: { reason: "ErrImagePull", message: msg },
      retryMs: Math.min(1_000, this.imageBackoff.get(key) / 2),
    };
  }

  private readonly imageFailedAt = new Map<string, number>();

  private async envObjects(pod: KubeObject, spec: any) {
    const ns = pod.metadata.namespace ?? "";
    const configMaps = new Map<string, KubeObject>();
    const secrets = new Map<string, KubeObject>();
    const cmNames = new Set<string>();
    const secretNames = new Set<string>();
    for (const f of spec.envFrom ?? []) {
      if (f.configMapRef?.name) cmNames.add(f.configMapRef.name);
      if (f.secretRef?.name) secretNames.add(f.secretRef.name);
    }
    for (const e of spec.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) cmNames.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) secretNames.add(e.valueFrom.secretKeyRef.name);
    }
    for (const n of cmNames) {
      const o = await this.o.api.configMap(ns, n);
      if (o) configMaps.set(n, o);
    }
    for (const n of secretNames) {
      const o = await this.o.api.secret(ns, n);
      if (o) secrets.set(n, o);
    }
    return { configMaps, secrets };
  }

  /**
   * kuberuntime's killContainer: the preStop hook (exec or sleep) runs first, within the grace
   * period; what is left of it (at least the minimum) is the runtime's SIGTERM-to-SIGKILL wait.
   */
  private async killContainer(
    pod: KubeObject,
    name: string,
    id: string,
    graceSeconds: number,
  ): Promise<void> {
    const specs: any[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    const hook = specs.find((c) => c.name === name)?.lifecycle?.preStop;
    let grace = graceSeconds;
    if (hook && grace > 0) {
      const started = this.now();
      await this.runPreStopHook(pod, name, id, hook, grace);
      const spent = Math.floor((this.now() - started) / 1000);
      grace = Math.max(grace - spent, this.o.minGraceSeconds ?? 2);
    }
    await this.stopContainer(id, grace);
  }

  private async runPreStopHook(pod: KubeObject, name: string, id: string, hook: any, grace: number) {
    const ref = this.ref(
      pod,
      name,
      (pod.spec?.initContainers ?? []).some((c: any) => c.name === name),
    );
    if (hook.sleep?.seconds !== undefined) {
      await new Promise((r) => setTimeout(r, Math.min(hook.sleep.seconds, grace) * 1000));
      return;
    }
    const cmd: string[] | undefined = hook.exec?.command;
    if (!cmd?.length) {
      // httpGet / tcpSocket hooks are not run by the sandbox kubelet.
      this.o.log.warn({ pod: formatPod(pod), container: name }, "preStop hook kind not supported; skipped");
      return;
    }
    let error: string | undefined;
    let output = "";
    try {
      const r = await this.o.runtime.execSync(id, cmd, grace);
      output = `${r.stdout}${r.stderr}`;
      if (r.exitCode !== 0) error = `command '${cmd.join(" ")}' exited with ${r.exitCode}: ${r.stderr}`;
    } catch (err) {
      error = String((err as Error)?.message ?? err);
    }
    if (error)
      this.o.events.event(
        ref,
        "Warning",
        "FailedPreStopHook",
        `Exec lifecycle hook ([${cmd.join(" ")}]) for Container "${name}" in Pod "${formatPod(pod)}" failed - error: ${error}, message: ${JSON.stringify(output)}`,
      );
  }

  private async stopContainer(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.o.runtime.stopContainer(id, graceSeconds);
    } catch (err) {
      this.o.log.warn({ id, err: String(err) }, "stopping a container failed");
    }
  }

  /** Stops every running container (Killing events) and every ready sandbox. */
  private async killPod(
    pod: KubeObject | undefined,
    rt: PodRuntime | undefined,
    graceOverride?: number,
  ): Promise<void> {
    if (!rt) return;
    const grace = graceOverride ?? this.graceSeconds(pod);
    const inits = new Set((pod?.spec?.initContainers ?? []).map((c: any) => c.name));
    await Promise.all(
      rt.containers
        .filter((c) => c.state === "running" || c.state === "unknown" || c.state === "created")
        .map(async (c) => {
          if (!pod || c.state !== "running") return this.stopContainer(c.id, grace);
          this.o.events.event(
            this.ref(pod, c.name, inits.has(c.name)),
            "Normal",
            "Killing",
            `Stopping container ${c.name}`,
          );
          await this.killContainer(pod, c.name, c.id, grace);
        }),
    );
    for (const sb of rt.sandboxes) {
      if (!sb.ready) continue;
      try {
        await this.o.runtime.stopPodSandbox(sb.id);
      } catch (err) {
        this.o.log.warn({ id: sb.id, err: String(err) }, "stopping a sandbox failed");
      }
    }
  }

  /** Pod deleted in the API: stop it within its grace period, clean up, then remove the object. */
  private async terminate(d: DesiredPod, rt: PodRuntime | undefined): Promise<void> {
    const pod = d.pod;
    const uid = pod.metadata.uid ?? "";
    await this.killPod(pod, rt);
    this.o.probes?.removePod(uid);
    // The final status shows how the containers ended (exit codes), before they are removed.
    const final = await this.runtimeState.refreshPod(uid);
    if (!d.static) await this.writeStatus(d, final).catch(() => {});
    await this.removeRuntime(uid, final);
    if (!d.static) {
      this.finished.add(uid);
      await this.o.api.deletePod(pod.metadata.namespace ?? "", pod.metadata.name ?? "", uid);
    }
    this.forget(uid);
  }

  /** A pod no source wants any more (force-deleted, manifest removed, orphan found at start). */
  private async teardown(
    uid: string,
    rt: PodRuntime | undefined,
    pod: KubeObject | undefined,
  ): Promise<void> {
    const forced = this.forcedRemoval.has(uid);
    if (rt) await this.killPod(pod, rt, forced ? (this.o.minGraceSeconds ?? 2) : undefined);
    this.o.probes?.removePod(uid);
    await this.removeRuntime(uid, rt);
    this.forget(uid);
  }

  /**
   * Removes the pod's sandboxes and containers. A sandbox that cannot be stopped (its network
   * plugin failing, e.g. a node agent restarting) fails the call, so the pod worker tries again
   * and a deleted pod leaves the API only once its network is really gone, as upstream's kubelet
   * does: otherwise its address could be handed to another pod while it still holds it.
   */
  private async removeRuntime(uid: string, known?: PodRuntime): Promise<void> {
    const rt = known ?? (await this.runtimeState.refreshPod(uid));
    let failed: unknown;
    for (const sb of rt?.sandboxes ?? []) {
      try {
        await this.o.runtime.stopPodSandbox(sb.id);
        await this.o.runtime.removePodSandbox(sb.id);
      } catch (err) {
        this.o.log.warn({ id: sb.id, err: String(err) }, "removing a sandbox failed; will retry");
        failed ??= err;
      }
    }
    if (failed) {
      await this.runtimeState.refreshPod(uid);
      throw failed;
    }
    // Containers of sandboxes already gone (removed with their sandbox otherwise).
    for (const c of rt?.containers ?? []) await this.o.runtime.removeContainer(c.id).catch(() => {});
    tearDownVolumes(this.o.podsDir, uid);
    const pod = this.lastKnown.get(uid);
    if (pod) rmSync(podLogDirectory(this.o.podLogsDir, pod), { recursive: true, force: true });
    await this.runtimeState.refreshPod(uid);
  }

  private forget(uid: string): void {
    this.desired.delete(uid);
    this.lastKnown.delete(uid);
    this.statuses.delete(uid);
    this.reasons.delete(uid);
    this.livenessFailed.delete(uid);
    this.forcedRemoval.delete(uid);
    this.statusUnwritten.delete(uid);
    this.containerBackoff.forgetPrefix(`${uid}/`);
    this.imageBackoff.forgetPrefix(`${uid}/`);
    for (const k of this.imageFailedAt.keys()) if (k.startsWith(`${uid}/`)) this.imageFailedAt.delete(k);
    this.workers.forget(uid);
  }

  /** Keeps the newest two instances of each container (current + previous, for --previous logs). */
  private gcContainers(rt: PodRuntime | undefined): void {
    if (!rt) return;
    const names = new Set(rt.containers.map((c) => c.name));
    for (const name of names)
      for (const c of instancesOf(rt, name).slice(2))
        if (c.state === "exited") void this.o.runtime.removeContainer(c.id).catch(() => {});
    // Old sandboxes with none of their containers left.
    const used = new Set(rt.containers.map((c) => c.sandboxId));
    for (const sb of rt.sandboxes.slice(1))
      if (!sb.ready && !used.has(sb.id)) void this.o.runtime.removePodSandbox(sb.id).catch(() => {});
  }

  /** Source label for sandboxes of static pods, so adoption knows not to tear them down. */
  static isStaticSandbox(rt: PodRuntime): boolean {
    return rt.sandboxes.some((s) => s.annotations[ANNOTATION_CONFIG_SOURCE] === "file");
  }
}
