// The pod streaming subresources (log, exec, attach, portforward) for pods on real sandbox
// nodes: like kube-apiserver, pick the container, then call the pod's kubelet at
// https://<Node InternalIP>:<daemonEndpoints.kubeletEndpoint.Port> with the kubelet credential.
// Logs are proxied as a streamed GET; exec/attach/portforward upgrades are passed through
// byte for byte (the kubelet's non-101 answers too, so kubectl 1.33 can fall back to SPDY).
import type { IncomingMessage, ServerResponse } from "node:http";
import { request } from "node:https";
import type { Duplex } from "node:stream";
import { VIRTUAL_NODE_LABEL } from "../../controllers/virtual-nodes.ts";
import { forwardUpgrade } from "../../kubelet/server/upgrade-forward.ts";
import { ApiError, errBadRequest, errMethodNotAllowed, type StatusReason } from "../errors.ts";
import type { PodStreamer } from "./subresources.ts";

export interface KubeletProxyOptions {
  /** The Node object by name (read-only), from the API server's own cache. */
  nodeByName(name: string): any | undefined;
  /** PEM of the CA that issued the kubelets' serving certificates. */
  ca: string | Buffer;
  /** Bearer token the kubelets accept. */
  token?: string;
}

export interface KubeletEndpoint {
  host: string;
  port: number;
}

/** Where a real node's kubelet listens; undefined for virtual nodes and nodes not reporting one. */
export function kubeletEndpoint(node: any): KubeletEndpoint | undefined {
  if (!node || node.metadata?.labels?.[VIRTUAL_NODE_LABEL] === "true") return undefined;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const host = (node.status?.addresses ?? []).find((a: any) => a.type === "InternalIP")?.address;
  if (!host || !Number.isInteger(port) || port <= 0) return undefined;
  return { host, port };
}

/** The `streamerFor` the API server takes: a kubelet streamer for pods on real nodes. */
export function kubeletStreamerFor(opts: KubeletProxyOptions): (pod: any) => PodStreamer | undefined {
  return (pod) => {
    const nodeName = pod?.spec?.nodeName;
    if (!nodeName) return undefined;
    const ep = kubeletEndpoint(opts.nodeByName(nodeName));
    return ep ? new KubeletStreamer(ep, opts) : undefined;
  };
}

const names = (cs: any[] | undefined) => (cs ?? []).map((c) => c.name);

/** The container a request means, with kube-apiserver's messages when it is missing or wrong. */
export function resolveContainer(pod: any, requested: string | null): string {
  const name = pod.metadata.name;
  if (requested) {
    const all = [
      ...names(pod.spec?.containers),
      ...names(pod.spec?.initContainers),
      ...names(pod.spec?.ephemeralContainers),
    ];
    if (!all.includes(requested)) throw errBadRequest(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  const containers = names(pod.spec?.containers);
  if (containers.length === 1) return containers[0];
  if (containers.length === 0) throw errBadRequest(`a container name must be specified for pod ${name}`);
  let msg = `a container name must be specified for pod ${name}, choose one of: [${containers.join(" ")}]`;
  const inits = names(pod.spec?.initContainers);
  if (inits.length) msg += ` or one of the init containers: [${inits.join(" ")}]`;
  throw errBadRequest(msg);
}

const LOG_PARAMS = [
  "follow",
  "previous",
  "timestamps",
  "tailLines",
  "limitBytes",
  "sinceSeconds",
  "sinceTime",
];
const STREAM_PARAMS = ["stdin", "stdout", "stderr", "tty"];

/** The kubelet path and query for a pod subresource request. */
export function kubeletPath(pod: any, subresource: string, query: URLSearchParams): string {
  const ns = encodeURIComponent(pod.metadata.namespace);
  const name = encodeURIComponent(pod.metadata.name);
  const out = new URLSearchParams();
  const copy = (keys: string[]) => {
    for (const k of keys) for (const v of query.getAll(k)) out.append(k, v);
  };
  let path: string;
  switch (subresource) {
    case "log":
      copy(LOG_PARAMS);
      path = `/containerLogs/${ns}/${name}/${encodeURIComponent(resolveContainer(pod, query.get("container")))}`;
      break;
    case "exec":
    case "attach":
      copy(subresource === "exec" ? ["command", ...STREAM_PARAMS] : STREAM_PARAMS);
      path = `/${subresource}/${ns}/${name}/${encodeURIComponent(resolveContainer(pod, query.get("container")))}`;
      break;
    case "portforward":
      copy(["port"]);
      path = `/portForward/${ns}/${name}`;
      break;
    default:
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
  }
  const qs = out.toString();
  return qs ? `${path}?${qs}` : path;
}

/** A kubelet's plain-text error as the Status kube-apiserver would relay. */
export function kubeletError(code: number, body: string): ApiError {
  const message = body.trim() || `the kubelet answered ${code}`;
  const reasons: Record<number, StatusReason> = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    503: "ServiceUnavailable",
  };
  const reason = reasons[code];
  return reason ? new ApiError(code, reason, message) : new ApiError(500, "InternalError", message);
}

export class KubeletStreamer implements PodStreamer {
  private readonly ep: KubeletEndpoint;
  private readonly opts: KubeletProxyOptions;

  constructor(ep: KubeletEndpoint, opts: KubeletProxyOptions) {
    this.ep = ep;
    this.opts = opts;
  }

  private get authHeader(): Record<string, string> {
    return this.opts.token ? { Authorization: `Bearer ${this.opts.token}` } : {};
  }

  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    pod: any,
    subresource: string,
    query: URLSearchParams,
  ): Promise<void> {
    if (subresource !== "log") throw errBadRequest("Upgrade request required");
    if (req.method !== "GET") throw errMethodNotAllowed("log only supports get");
    const path = kubeletPath(pod, subresource, query);
    const upstream = await this.get(path);
    if (upstream.statusCode !== 200) {
      const body = await readLimited(upstream, 64 * 1024);
      throw kubeletError(upstream.statusCode ?? 500, body);
    }
    res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-cache" });
    res.flushHeaders();
    await new Promise<void>((resolve) => {
      res.once("close", () => {
        upstream.destroy();
        resolve();
      });
      upstream.once("error", () => res.destroy());
      upstream.pipe(res);
    });
  }

  async upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    pod: any,
    subresource: string,
    query: URLSearchParams,
  ): Promise<void> {
    const phase = pod.status?.phase;
    if (subresource !== "portforward" && (phase === "Succeeded" || phase === "Failed"))
      throw errBadRequest(
        `cannot exec into or attach to a container in a completed pod; current phase is ${phase}`,
      );
    const path = kubeletPath(pod, subresource, query);
    const url = new URL(`https://${this.hostPort}${path}`);
    try {
      await forwardUpgrade(req, socket, head, {
        url,
        tls: { ca: this.opts.ca },
        setHeaders: this.authHeader,
      });
    } catch (err) {
      throw new ApiError(500, "InternalError", `error dialing backend: ${(err as Error).message}`);
    }
  }

  private get hostPort(): string {
    return this.ep.host.includes(":")
      ? `[${this.ep.host}]:${this.ep.port}`
      : `${this.ep.host}:${this.ep.port}`;
  }

  private get(path: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const r = request(
        {
          host: this.ep.host,
          port: this.ep.port,
          path,
          method: "GET",
          ca: this.opts.ca,
          headers: { ...this.authHeader, accept: "*/*" },
          timeout: 10_000,
        },
        (resp) => {
          // Connected and answered: a following log may stay quiet for as long as it likes.
          r.setTimeout(0);
          resolve(resp);
        },
      );
      r.once("timeout", () => r.destroy(new Error("timed out waiting for the kubelet")));
      r.on("error", (err) =>
        reject(new ApiError(500, "InternalError", `Get "https://${this.hostPort}${path}": ${err.message}`)),
      );
      r.end();
    });
  }
}

async function readLimited(stream: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    if (size < limit) chunks.push(c as Buffer);
    size += (c as Buffer).length;
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, limit);
}
