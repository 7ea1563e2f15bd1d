// Schema tables for the runtime.v1 CRI messages Raven's kubelet uses. Field numbers are the
// ones in k8s.io/cri-api pkg/apis/runtime/v1/api.proto; a wrong number silently drops a field,
// so each table lists fields in the proto's order with its number. Fields of the proto that
// Raven does not use are left out (the decoder skips them).
import type { Field, Schema } from "../grpc/protowire.ts";

const str = (no: number): Field => ({ no, type: "string" });
const strs = (no: number): Field => ({ no, type: "string", repeated: true });
const bytes = (no: number): Field => ({ no, type: "bytes" });
const bool = (no: number): Field => ({ no, type: "bool" });
const int32 = (no: number): Field => ({ no, type: "int32" });
const int32s = (no: number): Field => ({ no, type: "int32", repeated: true });
const int64 = (no: number): Field => ({ no, type: "int64" });
const uint32 = (no: number): Field => ({ no, type: "uint32" });
const uint64 = (no: number): Field => ({ no, type: "uint64" });
const enm = (no: number): Field => ({ no, type: "enum" });
const map = (no: number): Field => ({ no, type: "map" });
const msg = (no: number, schema: () => Schema): Field => ({ no, type: "message", schema });
const msgs = (no: number, schema: () => Schema): Field => ({ no, type: "message", schema, repeated: true });

export const Empty: Schema = {};

// ---------------------------------------------------------------- shared types

export const KeyValue: Schema = { key: str(1), value: str(2) };

export const PodSandboxMetadata: Schema = {
  name: str(1),
  uid: str(2),
  namespace: str(3),
  attempt: uint32(4),
};

export const ContainerMetadata: Schema = { name: str(1), attempt: uint32(2) };

export const DNSConfig: Schema = { servers: strs(1), searches: strs(2), options: strs(3) };

export const PortMapping: Schema = {
  protocol: enm(1),
  containerPort: int32(2),
  hostPort: int32(3),
  hostIp: str(4),
};

export const Mount: Schema = {
  containerPath: str(1),
  hostPath: str(2),
  readonly: bool(3),
  selinuxRelabel: bool(4),
  propagation: enm(5),
};

export const NamespaceOption: Schema = { network: enm(1), pid: enm(2), ipc: enm(3), targetId: str(4) };

export const Int64Value: Schema = { value: int64(1) };

export const LinuxSandboxSecurityContext: Schema = {
  namespaceOptions: msg(1, () => NamespaceOption),
  runAsUser: msg(3, () => Int64Value),
  readonlyRootfs: bool(4),
  supplementalGroups: { no: 5, type: "int64", repeated: true },
  privileged: bool(6),
  runAsGroup: msg(8, () => Int64Value),
};

export const LinuxContainerResources: Schema = {
  cpuPeriod: int64(1),
  cpuQuota: int64(2),
  cpuShares: int64(3),
  memoryLimitInBytes: int64(4),
  oomScoreAdj: int64(5),
  cpusetCpus: str(6),
  cpusetMems: str(7),
};

export const LinuxPodSandboxConfig: Schema = {
  cgroupParent: str(1),
  securityContext: msg(2, () => LinuxSandboxSecurityContext),
  sysctls: map(3),
};

export const PodSandboxConfig: Schema = {
  metadata: msg(1, () => PodSandboxMetadata),
  hostname: str(2),
  logDirectory: str(3),
  dnsConfig: msg(4, () => DNSConfig),
  portMappings: msgs(5, () => PortMapping),
  labels: map(6),
  annotations: map(7),
  linux: msg(8, () => LinuxPodSandboxConfig),
};

export const ImageSpec: Schema = { image: str(1), annotations: map(2), userSpecifiedImage: str(18) };

export const Capability: Schema = { addCapabilities: strs(1), dropCapabilities: strs(2) };

export const LinuxContainerSecurityContext: Schema = {
  capabilities: msg(1, () => Capability),
  privileged: bool(2),
  namespaceOptions: msg(3, () => NamespaceOption),
  runAsUser: msg(5, () => Int64Value),
  runAsUsername: str(6),
  readonlyRootfs: bool(7),
  supplementalGroups: { no: 8, type: "int64", repeated: true },
  noNewPrivs: bool(11),
  runAsGroup: msg(12, () => Int64Value),
};

export const LinuxContainerConfig: Schema = {
  resources: msg(1, () => LinuxContainerResources),
  securityContext: msg(2, () => LinuxContainerSecurityContext),
};

export const ContainerConfig: Schema = {
  metadata: msg(1, () => ContainerMetadata),
  image: msg(2, () => ImageSpec),
  command: strs(3),
  args: strs(4),
  workingDir: str(5),
  envs: msgs(6, () => KeyValue),
  mounts: msgs(7, () => Mount),
  labels: map(9),
  annotations: map(10),
  logPath: str(11),
  stdin: bool(12),
  stdinOnce: bool(13),
  tty: bool(14),
  linux: msg(15, () => LinuxContainerConfig),
};

// ---------------------------------------------------------------- RuntimeService

export const VersionRequest: Schema = { version: str(1) };
export const VersionResponse: Schema = {
  version: str(1),
  runtimeName: str(2),
  runtimeVersion: str(3),
  runtimeApiVersion: str(4),
};

export const RunPodSandboxRequest: Schema = {
  config: msg(1, () => PodSandboxConfig),
  runtimeHandler: str(2),
};
export const RunPodSandboxResponse: Schema = { podSandboxId: str(1) };

export const PodSandboxIdRequest: Schema = { podSandboxId: str(1) };

export const PodSandboxStatusRequest: Schema = { podSandboxId: str(1), verbose: bool(2) };

export const PodIP: Schema = { ip: str(1) };
export const PodSandboxNetworkStatus: Schema = { ip: str(1), additionalIps: msgs(2, () => PodIP) };
export const Namespace: Schema = { options: msg(2, () => NamespaceOption) };
export const LinuxPodSandboxStatus: Schema = { namespaces: msg(1, () => Namespace) };

export const PodSandboxStatus: Schema = {
  id: str(1),
  metadata: msg(2, () => PodSandboxMetadata),
  state: enm(3),
  createdAt: int64(4),
  network: msg(5, () => PodSandboxNetworkStatus),
  linux: msg(6, () => LinuxPodSandboxStatus),
  labels: map(7),
  annotations: map(8),
  runtimeHandler: str(9),
};
export const PodSandboxStatusResponse: Schema = { status: msg(1, () => PodSandboxStatus), info: map(2) };

export const PodSandboxStateValue: Schema = { state: enm(1) };
export const PodSandboxFilter: Schema = {
  id: str(1),
  state: msg(2, () => PodSandboxStateValue),
  labelSelector: map(3),
};
export const ListPodSandboxRequest: Schema = { filter: msg(1, () => PodSandboxFilter) };

export const PodSandbox: Schema = {
  id: str(1),
  metadata: msg(2, () => PodSandboxMetadata),
  state: enm(3),
  createdAt: int64(4),
  labels: map(5),
  annotations: map(6),
  runtimeHandler: str(7),
};
export const ListPodSandboxResponse: Schema = { items: msgs(1, () => PodSandbox) };

export const CreateContainerRequest: Schema = {
  podSandboxId: str(1),
  config: msg(2, () => ContainerConfig),
  sandboxConfig: msg(3, () => PodSandboxConfig),
};
export const CreateContainerResponse: Schema = { containerId: str(1) };

export const ContainerIdRequest: Schema = { containerId: str(1) };

export const StopContainerRequest: Schema = { containerId: str(1), timeout: int64(2) };

export const ContainerStateValue: Schema = { state: enm(1) };
export const ContainerFilter: Schema = {
  id: str(1),
  state: msg(2, () => ContainerStateValue),
  podSandboxId: str(3),
  labelSelector: map(4),
};
export const ListContainersRequest: Schema = { filter: msg(1, () => ContainerFilter) };

export const Container: Schema = {
  id: str(1),
  podSandboxId: str(2),
  metadata: msg(3, () => ContainerMetadata),
  image: msg(4, () => ImageSpec),
  imageRef: str(5),
  state: enm(6),
  createdAt: int64(7),
  labels: map(8),
  annotations: map(9),
};
export const ListContainersResponse: Schema = { containers: msgs(1, () => Container) };

export const ContainerStatusRequest: Schema = { containerId: str(1), verbose: bool(2) };

export const ContainerStatus: Schema = {
  id: str(1),
  metadata: msg(2, () => ContainerMetadata),
  state: enm(3),
  createdAt: int64(4),
  startedAt: int64(5),
  finishedAt: int64(6),
  exitCode: int32(7),
  image: msg(8, () => ImageSpec),
  imageRef: str(9),
  reason: str(10),
  message: str(11),
  labels: map(12),
  annotations: map(13),
  mounts: msgs(14, () => Mount),
  logPath: str(15),
};
export const ContainerStatusResponse: Schema = { status: msg(1, () => ContainerStatus), info: map(2) };

export const ExecSyncRequest: Schema = { containerId: str(1), cmd: strs(2), timeout: int64(3) };
export const ExecSyncResponse: Schema = { stdout: bytes(1), stderr: bytes(2), exitCode: int32(3) };

export const ExecRequest: Schema = {
  containerId: str(1),
  cmd: strs(2),
  tty: bool(3),
  stdin: bool(4),
  stdout: bool(5),
  stderr: bool(6),
};
export const AttachRequest: Schema = {
  containerId: str(1),
  stdin: bool(2),
  tty: bool(3),
  stdout: bool(4),
  stderr: bool(5),
};
export const PortForwardRequest: Schema = { podSandboxId: str(1), port: int32s(2) };
/** ExecResponse, AttachResponse and PortForwardResponse: all just a URL. */
export const UrlResponse: Schema = { url: str(1) };

export const StatusRequest: Schema = { verbose: bool(1) };
export const RuntimeCondition: Schema = { type: str(1), status: bool(2), reason: str(3), message: str(4) };
export const RuntimeStatus: Schema = { conditions: msgs(1, () => RuntimeCondition) };
export const StatusResponse: Schema = { status: msg(1, () => RuntimeStatus), info: map(2) };

// ---------------------------------------------------------------- ImageService

export const ImageFilter: Schema = { image: msg(1, () => ImageSpec) };
export const ListImagesRequest: Schema = { filter: msg(1, () => ImageFilter) };
export const Image: Schema = {
  id: str(1),
  repoTags: strs(2),
  repoDigests: strs(3),
  size: uint64(4),
  uid: msg(5, () => Int64Value),
  username: str(6),
  spec: msg(7, () => ImageSpec),
  pinned: bool(8),
};
export const ListImagesResponse: Schema = { images: msgs(1, () => Image) };

export const ImageStatusRequest: Schema = { image: msg(1, () => ImageSpec), verbose: bool(2) };
export const ImageStatusResponse: Schema = { image: msg(1, () => Image), info: map(2) };

export const PullImageRequest: Schema = {
  image: msg(1, () => ImageSpec),
  sandboxConfig: msg(3, () => PodSandboxConfig),
};
export const PullImageResponse: Schema = { imageRef: str(1) };

export const RemoveImageRequest: Schema = { image: msg(1, () => ImageSpec) };
