// Test support only: an in-memory CRI runtime and image service. Containers "run" until the
// test exits them (exitContainer) or the kubelet stops them; sandboxes get IPs from 10.244.1.0/24.
import {
  CONTAINER_CREATED,
  CONTAINER_EXITED,
  CONTAINER_RUNNING,
  type Container,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerStatusResponse,
  CriError,
  GRPC_NOT_FOUND,
  type Image,
  type ImageService,
  type ImageSpec,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatusResponse,
  type RuntimeService,
  SANDBOX_NOTREADY,
  SANDBOX_READY,
} from "../../cri/types.ts";

interface FakeSandbox {
  id: string;
  config: PodSandboxConfig;
  state: number;
  createdAt: number;
  ip: string;
}

interface FakeContainer {
  id: string;
  sandboxId: string;
  config: ContainerConfig;
  state: number;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
}

const matchLabels = (labels: Record<string, string>, sel?: Record<string, string>) =>
  !sel || Object.entries(sel).every(([k, v]) => labels[k] === v);

export class FakeRuntime implements RuntimeService, ImageService {
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Set<string>(["docker.io/library/busybox:latest", "docker.io/library/nginx:latest"]);
  /** Every call, for assertions ("runPodSandbox", "stopContainer:<id>:<timeout>", ...). */
  readonly calls: string[] = [];
  /** Set to make the next runPodSandbox fail with this message. */
  failSandbox?: string;
  /** When set, StopPodSandbox fails with this message (its network plugin failing). */
  failStopSandbox?: string;
  now: () => number = Date.now;
  private seq = 0;
  private ipSeq = 2;

  private ns(): number {
    return this.now() * 1e6;
  }

  /** Simulates the container's process exiting (killall, crash, completion). */
  exitContainer(id: string, exitCode: number, reason = exitCode === 0 ? "Completed" : "Error"): void {
    const c = this.containers.get(id);
    if (!c || c.state !== CONTAINER_RUNNING) throw new Error(`container ${id} is not running`);
    c.state = CONTAINER_EXITED;
    c.exitCode = exitCode;
    c.reason = reason;
    c.finishedAt = this.ns();
  }

  /** Running containers named `name` (newest first). */
  running(name: string): FakeContainer[] {
    return [...this.containers.values()]
      .filter((c) => c.config.metadata.name === name && c.state === CONTAINER_RUNNING)
      .reverse();
  }

  byName(name: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.config.metadata.name === name).reverse();
  }

  async version() {
    return { version: "0.1.0", runtimeName: "containerd", runtimeVersion: "1.6.20", runtimeApiVersion: "v1" };
  }

  async status() {
    return {
      status: {
        conditions: [
          { type: "RuntimeReady", status: true, reason: "", message: "" },
          { type: "NetworkReady", status: true, reason: "", message: "" },
        ],
      },
      info: {},
    };
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    this.calls.push("runPodSandbox");
    if (this.failSandbox) {
      const msg = this.failSandbox;
      this.failSandbox = undefined;
      throw new CriError("RunPodSandbox", 2, msg);
    }
    const id = `sb${++this.seq}`;
    const hostNetwork = config.linux?.securityContext?.namespaceOptions?.network === 2;
    this.sandboxes.set(id, {
      id,
      config: structuredClone(config),
      state: SANDBOX_READY,
      createdAt: this.ns(),
      ip: hostNetwork ? "" : `10.244.1.${this.ipSeq++}`,
    });
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    this.calls.push(`stopPodSandbox:${id}`);
    if (this.failStopSandbox) throw new Error(this.failStopSandbox);
    const sb = this.sandboxes.get(id);
    if (!sb) return;
    for (const c of this.containers.values())
      if (c.sandboxId === id && c.state === CONTAINER_RUNNING) {
        c.state = CONTAINER_EXITED;
        c.exitCode = 137;
        c.reason = "Error";
        c.finishedAt = this.ns();
      }
    sb.state = SANDBOX_NOTREADY;
  }

  async removePodSandbox(id: string): Promise<void> {
    this.calls.push(`removePodSandbox:${id}`);
    for (const [cid, c] of this.containers) if (c.sandboxId === id) this.containers.delete(cid);
    this.sandboxes.delete(id);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatusResponse> {
    const sb = this.sandboxes.get(id);
    if (!sb) throw new CriError("PodSandboxStatus", GRPC_NOT_FOUND, `sandbox ${id} not found`);
    return {
      status: {
        id,
        metadata: sb.config.metadata,
        state: sb.state,
        createdAt: sb.createdAt,
        network: { ip: sb.ip },
        linux: { namespaces: { options: sb.config.linux?.securityContext?.namespaceOptions } },
        labels: sb.config.labels ?? {},
        annotations: sb.config.annotations ?? {},
      },
      info: {},
    };
  }

  async listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    return [...this.sandboxes.values()]
      .filter((s) => matchLabels(s.config.labels ?? {}, filter?.labelSelector))
      .map((s) => ({
        id: s.id,
        metadata: s.config.metadata,
        state: s.state,
        createdAt: s.createdAt,
        labels: s.config.labels ?? {},
        annotations: s.config.annotations ?? {},
      }));
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    this.calls.push(`createContainer:${config.metadata.name}`);
    const sb = this.sandboxes.get(sandboxId);
    if (!sb || sb.state !== SANDBOX_READY)
      throw new CriError("CreateContainer", 2, `sandbox ${sandboxId} not ready`);
    if (!this.images.has(config.image.image))
      throw new CriError("CreateContainer", 2, `image ${config.image.image} not found`);
    const id = `c${++this.seq}`;
    this.containers.set(id, {
      id,
      sandboxId,
      config: structuredClone(config),
      state: CONTAINER_CREATED,
      createdAt: this.ns(),
      startedAt: 0,
      finishedAt: 0,
      exitCode: 0,
      reason: "",
    });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    this.calls.push(`startContainer:${this.containers.get(id)?.config.metadata.name}`);
    const c = this.containers.get(id);
    if (!c) throw new CriError("StartContainer", GRPC_NOT_FOUND, `container ${id} not found`);
    c.state = CONTAINER_RUNNING;
    c.startedAt = this.ns();
  }

  async stopContainer(id: string, timeout: number): Promise<void> {
    this.calls.push(`stopContainer:${this.containers.get(id)?.config.metadata.name}:${timeout}`);
    const c = this.containers.get(id);
    if (!c || c.state !== CONTAINER_RUNNING) return;
    c.state = CONTAINER_EXITED;
    c.exitCode = 137;
    c.reason = "Error";
    c.finishedAt = this.ns();
  }

  async removeContainer(id: string): Promise<void> {
    this.calls.push(`removeContainer:${id}`);
    this.containers.delete(id);
  }

  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    return [...this.containers.values()]
      .filter((c) => matchLabels(c.config.labels ?? {}, filter?.labelSelector))
      .filter((c) => !filter?.podSandboxId || c.sandboxId === filter.podSandboxId)
      .map((c) => ({
        id: c.id,
        podSandboxId: c.sandboxId,
        metadata: c.config.metadata,
        image: c.config.image,
        imageRef: `sha256:${c.config.image.image.length}`,
        state: c.state,
        createdAt: c.createdAt,
        labels: c.config.labels ?? {},
        annotations: c.config.annotations ?? {},
      }));
  }

  async containerStatus(id: string): Promise<ContainerStatusResponse> {
    const c = this.containers.get(id);
    if (!c) throw new CriError("ContainerStatus", GRPC_NOT_FOUND, `container ${id} not found`);
    const sb = this.sandboxes.get(c.sandboxId);
    return {
      status: {
        id,
        metadata: c.config.metadata,
        state: c.state,
        createdAt: c.createdAt,
        startedAt: c.startedAt,
        finishedAt: c.finishedAt,
        exitCode: c.exitCode,
        image: c.config.image,
        imageRef: `sha256:${c.config.image.image.length}`,
        reason: c.reason,
        message: "",
        labels: c.config.labels ?? {},
        annotations: c.config.annotations ?? {},
        mounts: c.config.mounts ?? [],
        logPath: `${sb?.config.logDirectory ?? ""}/${c.config.logPath ?? ""}`,
      },
      info: {},
    };
  }

  /** What ExecSync answers (exit code and output). */
  execResult = { exitCode: 0, stdout: "", stderr: "" };

  async execSync(id: string, cmd: string[], timeout: number) {
    this.calls.push(`execSync:${this.containers.get(id)?.config.metadata.name}:${cmd.join(" ")}:${timeout}`);
    const r = this.execResult;
    return { stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr), exitCode: r.exitCode };
  }
  async exec(): Promise<string> {
    return "http://127.0.0.1/exec";
  }
  async attach(): Promise<string> {
    return "http://127.0.0.1/attach";
  }
  async portForward(): Promise<string> {
    return "http://127.0.0.1/portforward";
  }
  async reopenContainerLog(): Promise<void> {}

  async listImages(): Promise<Image[]> {
    return [...this.images].map((i) => ({ id: i, repoTags: [i], repoDigests: [], size: 1 }));
  }
  async imageStatus(image: ImageSpec): Promise<Image | undefined> {
    return this.images.has(image.image)
      ? { id: image.image, repoTags: [image.image], repoDigests: [], size: 1 }
      : undefined;
  }
  async pullImage(image: ImageSpec): Promise<string> {
    throw new CriError("PullImage", 2, `no registry: ${image.image}`);
  }
  async removeImage(image: ImageSpec): Promise<void> {
    this.images.delete(image.image);
  }
}
