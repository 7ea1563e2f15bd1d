// The subset of the Kubernetes CRI (k8s.io/cri-api, package runtime.v1) that Raven's sandbox
// kubelet uses, as plain TypeScript. Field names are the proto fields in lowerCamelCase (the
// proto's JSON names). int64 fields are numbers: only nanosecond timestamps exceed 2^53, and
// losing their sub-microsecond digits does not matter here. Absent optional fields decode to
// their proto3 defaults ("" / 0 / false / [] / {}), messages to undefined.

export interface KeyValue {
  key: string;
  value: string;
}

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface ContainerMetadata {
  name: string;
  attempt: number;
}

export interface PortMapping {
  /** 0 = TCP, 1 = UDP, 2 = SCTP */
  protocol?: number;
  containerPort: number;
  hostPort?: number;
  hostIp?: string;
}

export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
  selinuxRelabel?: boolean;
  /** 0 = PRIVATE, 1 = HOST_TO_CONTAINER, 2 = BIDIRECTIONAL */
  propagation?: number;
}

/** 0 = POD, 1 = CONTAINER, 2 = NODE, 3 = TARGET */
export type NamespaceMode = 0 | 1 | 2 | 3;

export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
}

export interface LinuxSandboxSecurityContext {
  namespaceOptions?: NamespaceOption;
  runAsUser?: { value: number };
  privileged?: boolean;
}

export interface LinuxPodSandboxConfig {
  cgroupParent?: string;
  securityContext?: LinuxSandboxSecurityContext;
  sysctls?: Record<string, string>;
}

export interface DNSConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  /** Directory (absolute, on the node) holding the pod's container logs. */
  logDirectory?: string;
  dnsConfig?: DNSConfig;
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: LinuxPodSandboxConfig;
}

export interface ImageSpec {
  image: string;
  annotations?: Record<string, string>;
}

export interface LinuxContainerResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  oomScoreAdj?: number;
}

export interface LinuxContainerSecurityContext {
  capabilities?: { addCapabilities?: string[]; dropCapabilities?: string[] };
  privileged?: boolean;
  namespaceOptions?: NamespaceOption;
  runAsUser?: { value: number };
  runAsGroup?: { value: number };
  readonlyRootfs?: boolean;
}

export interface LinuxContainerConfig {
  resources?: LinuxContainerResources;
  securityContext?: LinuxContainerSecurityContext;
}

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: ImageSpec;
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Relative to the sandbox's logDirectory. */
  logPath?: string;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  linux?: LinuxContainerConfig;
}

/** PodSandboxState: 0 = SANDBOX_READY, 1 = SANDBOX_NOTREADY */
export const SANDBOX_READY = 0;
export const SANDBOX_NOTREADY = 1;

/** ContainerState */
export const CONTAINER_CREATED = 0;
export const CONTAINER_RUNNING = 1;
export const CONTAINER_EXITED = 2;
export const CONTAINER_UNKNOWN = 3;

export interface PodSandboxNetworkStatus {
  ip: string;
  additionalIps?: { ip: string }[];
}

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: number;
  /** Unix nanoseconds. */
  createdAt: number;
  network?: PodSandboxNetworkStatus;
  linux?: { namespaces?: { options?: NamespaceOption } };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler?: string;
}

export interface PodSandboxStatusResponse {
  status: PodSandboxStatus;
  /** verbose only: key "info" holds containerd's JSON (runtimeSpec, netns path, pid...). */
  info: Record<string, string>;
}

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: number;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler?: string;
}

export interface PodSandboxFilter {
  id?: string;
  state?: { state: number };
  labelSelector?: Record<string, string>;
}

export interface Container {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  image: ImageSpec;
  imageRef: string;
  state: number;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerFilter {
  id?: string;
  state?: { state: number };
  podSandboxId?: string;
  labelSelector?: Record<string, string>;
}

export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata;
  state: number;
  /** Unix nanoseconds; 0 when not reached. */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image: ImageSpec;
  imageRef: string;
  /** e.g. "OOMKilled", "Error", "Completed" (containerd sets these on exit). */
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Mount[];
  logPath: string;
}

export interface ContainerStatusResponse {
  status: ContainerStatus;
  info: Record<string, string>;
}

export interface ExecSyncResponse {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

export interface AttachRequest {
  containerId: string;
  stdin?: boolean;
  tty?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export interface StatusResponse {
  status: { conditions: RuntimeCondition[] };
  info: Record<string, string>;
}

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

/** A CRI call that the runtime answered with a gRPC error status. */
export class CriError extends Error {
  /** gRPC status code (2 UNKNOWN, 4 DEADLINE_EXCEEDED, 5 NOT_FOUND, 14 UNAVAILABLE, ...). */
  readonly code: number;
  readonly method: string;
  constructor(method: string, code: number, message: string) {
    super(`${method}: ${message} (grpc status ${code})`);
    this.name = "CriError";
    this.method = method;
    this.code = code;
  }
}

export const GRPC_NOT_FOUND = 5;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_UNAVAILABLE = 14;

/** runtime.v1.RuntimeService, the calls the kubelet makes. Timeouts are in seconds. */
export interface RuntimeService {
  version(): Promise<VersionResponse>;
  status(verbose?: boolean): Promise<StatusResponse>;
  runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string): Promise<string>;
  stopPodSandbox(podSandboxId: string): Promise<void>;
  removePodSandbox(podSandboxId: string): Promise<void>;
  podSandboxStatus(podSandboxId: string, verbose?: boolean): Promise<PodSandboxStatusResponse>;
  listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]>;
  createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
  ): Promise<string>;
  startContainer(containerId: string): Promise<void>;
  /** Signals the container's stop signal, then SIGKILL after `timeout` seconds. */
  stopContainer(containerId: string, timeout: number): Promise<void>;
  removeContainer(containerId: string): Promise<void>;
  listContainers(filter?: ContainerFilter): Promise<Container[]>;
  containerStatus(containerId: string, verbose?: boolean): Promise<ContainerStatusResponse>;
  execSync(containerId: string, cmd: string[], timeout: number): Promise<ExecSyncResponse>;
  /** Returns the streaming-server URL to hand the client (remotecommand protocol). */
  exec(req: ExecRequest): Promise<string>;
  attach(req: AttachRequest): Promise<string>;
  portForward(podSandboxId: string, ports: number[]): Promise<string>;
  reopenContainerLog(containerId: string): Promise<void>;
}

/** runtime.v1.ImageService, the calls the kubelet makes. */
export interface ImageService {
  listImages(filter?: { image?: ImageSpec }): Promise<Image[]>;
  /** undefined when the image is not present. */
  imageStatus(image: ImageSpec): Promise<Image | undefined>;
  pullImage(image: ImageSpec, sandboxConfig?: PodSandboxConfig): Promise<string>;
  removeImage(image: ImageSpec): Promise<void>;
}
