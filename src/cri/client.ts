// CriClient: the kubelet's view of containerd, runtime.v1 RuntimeService + ImageService over our
// own gRPC client and protobuf tables.
import { decodeMessage, encodeMessage, type Schema } from "../grpc/protowire.ts";
import { GrpcClient, type GrpcClientOptions } from "./grpc.ts";
import * as M from "./messages.ts";
import type {
  AttachRequest,
  Container,
  ContainerConfig,
  ContainerFilter,
  ContainerStatusResponse,
  ExecRequest,
  ExecSyncResponse,
  Image,
  ImageService,
  ImageSpec,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStatusResponse,
  RuntimeService,
  StatusResponse,
  VersionResponse,
} from "./types.ts";

const RUNTIME = "/runtime.v1.RuntimeService/";
const IMAGE = "/runtime.v1.ImageService/";

/** Extra time over a call's own timeout (ExecSync, StopContainer) before our deadline fires. */
const SLACK_MS = 10_000;

export class CriClient implements RuntimeService, ImageService {
  private readonly grpc: GrpcClient;

  constructor(socketPath: string, opts: GrpcClientOptions = {}) {
    this.grpc = new GrpcClient(socketPath, opts);
  }

  /** A client for containerd's socket; the connection is made on the first call. */
  static connect(socketPath: string, opts: GrpcClientOptions = {}): CriClient {
    return new CriClient(socketPath, opts);
  }

  close(): void {
    this.grpc.close();
  }

  private async call<T>(
    path: string,
    reqSchema: Schema,
    req: object,
    resSchema: Schema,
    timeoutMs?: number,
  ): Promise<T> {
    const res = await this.grpc.unary(
      path,
      encodeMessage(reqSchema, req, path.slice(path.lastIndexOf("/") + 1)),
      timeoutMs,
    );
    return decodeMessage<T>(resSchema, res);
  }

  // ---------------------------------------------------------------- RuntimeService

  version(): Promise<VersionResponse> {
    return this.call(`${RUNTIME}Version`, M.VersionRequest, { version: "v1" }, M.VersionResponse);
  }

  status(verbose = false): Promise<StatusResponse> {
    return this.call<StatusResponse>(`${RUNTIME}Status`, M.StatusRequest, { verbose }, M.StatusResponse).then(
      (r) => ({
        status: r.status ?? { conditions: [] },
        info: r.info,
      }),
    );
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string): Promise<string> {
    const r = await this.call<{ podSandboxId: string }>(
      `${RUNTIME}RunPodSandbox`,
      M.RunPodSandboxRequest,
      { config, runtimeHandler },
      M.RunPodSandboxResponse,
    );
    return r.podSandboxId;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.call(`${RUNTIME}StopPodSandbox`, M.PodSandboxIdRequest, { podSandboxId }, M.Empty);
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.call(`${RUNTIME}RemovePodSandbox`, M.PodSandboxIdRequest, { podSandboxId }, M.Empty);
  }

  podSandboxStatus(podSandboxId: string, verbose = false): Promise<PodSandboxStatusResponse> {
    return this.call(
      `${RUNTIME}PodSandboxStatus`,
      M.PodSandboxStatusRequest,
      { podSandboxId, verbose },
      M.PodSandboxStatusResponse,
    );
  }

  async listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    const r = await this.call<{ items: PodSandbox[] }>(
      `${RUNTIME}ListPodSandbox`,
      M.ListPodSandboxRequest,
      { filter },
      M.ListPodSandboxResponse,
    );
    return r.items;
  }

  async createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
  ): Promise<string> {
    const r = await this.call<{ containerId: string }>(
      `${RUNTIME}CreateContainer`,
      M.CreateContainerRequest,
      { podSandboxId, config, sandboxConfig },
      M.CreateContainerResponse,
    );
    return r.containerId;
  }

  async startContainer(containerId: string): Promise<void> {
    await this.call(`${RUNTIME}StartContainer`, M.ContainerIdRequest, { containerId }, M.Empty);
  }

  async stopContainer(containerId: string, timeout: number): Promise<void> {
    await this.call(
      `${RUNTIME}StopContainer`,
      M.StopContainerRequest,
      { containerId, timeout },
      M.Empty,
      Math.max(0, timeout) * 1000 + 2 * SLACK_MS,
    );
  }

  async removeContainer(containerId: string): Promise<void> {
    await this.call(`${RUNTIME}RemoveContainer`, M.ContainerIdRequest, { containerId }, M.Empty);
  }

  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    const r = await this.call<{ containers: Container[] }>(
      `${RUNTIME}ListContainers`,
      M.ListContainersRequest,
      { filter },
      M.ListContainersResponse,
    );
    return r.containers;
  }

  containerStatus(containerId: string, verbose = false): Promise<ContainerStatusResponse> {
    return this.call(
      `${RUNTIME}ContainerStatus`,
      M.ContainerStatusRequest,
      { containerId, verbose },
      M.ContainerStatusResponse,
    );
  }

  execSync(containerId: string, cmd: string[], timeout: number): Promise<ExecSyncResponse> {
    return this.call(
      `${RUNTIME}ExecSync`,
      M.ExecSyncRequest,
      { containerId, cmd, timeout },
      M.ExecSyncResponse,
      timeout > 0 ? timeout * 1000 + SLACK_MS : undefined,
    );
  }

  async exec(req: ExecRequest): Promise<string> {
    const r = await this.call<{ url: string }>(`${RUNTIME}Exec`, M.ExecRequest, req, M.UrlResponse);
    return r.url;
  }

  async attach(req: AttachRequest): Promise<string> {
    const r = await this.call<{ url: string }>(`${RUNTIME}Attach`, M.AttachRequest, req, M.UrlResponse);
    return r.url;
  }

  async portForward(podSandboxId: string, ports: number[]): Promise<string> {
    const r = await this.call<{ url: string }>(
      `${RUNTIME}PortForward`,
      M.PortForwardRequest,
      { podSandboxId, port: ports },
      M.UrlResponse,
    );
    return r.url;
  }

  async reopenContainerLog(containerId: string): Promise<void> {
    await this.call(`${RUNTIME}ReopenContainerLog`, M.ContainerIdRequest, { containerId }, M.Empty);
  }

  // ---------------------------------------------------------------- ImageService

  async listImages(filter?: { image?: ImageSpec }): Promise<Image[]> {
    const r = await this.call<{ images: Image[] }>(
      `${IMAGE}ListImages`,
      M.ListImagesRequest,
      { filter },
      M.ListImagesResponse,
    );
    return r.images;
  }

  async imageStatus(image: ImageSpec): Promise<Image | undefined> {
    const r = await this.call<{ image?: Image }>(
      `${IMAGE}ImageStatus`,
      M.ImageStatusRequest,
      { image },
      M.ImageStatusResponse,
    );
    return r.image;
  }

  async pullImage(image: ImageSpec, sandboxConfig?: PodSandboxConfig): Promise<string> {
    const r = await this.call<{ imageRef: string }>(
      `${IMAGE}PullImage`,
      M.PullImageRequest,
      { image, sandboxConfig },
      M.PullImageResponse,
    );
    return r.imageRef;
  }

  async removeImage(image: ImageSpec): Promise<void> {
    await this.call(`${IMAGE}RemoveImage`, M.RemoveImageRequest, { image }, M.Empty);
  }
}
