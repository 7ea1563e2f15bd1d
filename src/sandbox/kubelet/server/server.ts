// The kubelet's HTTPS server (port 10250 on the node IP), as the API server calls it:
//   GET /containerLogs/{ns}/{pod}/{container}?follow&previous&tailLines&limitBytes&timestamps&since...
//   /exec/{ns}/{pod}/{container}?command=..&stdin&stdout&stderr&tty   (upgrade)
//   /attach/{ns}/{pod}/{container}?stdin&stdout&stderr&tty            (upgrade)
//   /portForward/{ns}/{pod}[?port=..]                                 (upgrade)
// Logs are read from the CRI log files. exec/attach/port-forward ask the runtime (CRI Exec,
// Attach, PortForward) for a streaming URL and pass the client's upgrade through to it, so
// containerd's streaming server speaks the remotecommand/portforward protocols itself.
import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { access } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { CONTAINER_RUNNING, CriError, GRPC_NOT_FOUND, type RuntimeService } from "../../../cri/types.ts";
import { LogOptionsError, parseLogOptions } from "./log-options.ts";
import { streamCriLog } from "./log-stream.ts";
import type { KubeletPod, KubeletPodContainer, KubeletPodLookup } from "./types.ts";
import { forwardUpgrade, writeUpgradeError } from "./upgrade-forward.ts";

export interface KubeletServerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  /** When set, every request must carry `Authorization: Bearer <authToken>`. */
  authToken?: string;
  runtime: RuntimeService;
  pods: KubeletPodLookup;
  log: Logger;
}

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

/** An error answer: HTTP code and the plain-text message the API server relays. */
export class KubeletHttpError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

interface Route {
  kind: "containerLogs" | "exec" | "attach" | "portForward" | "healthz";
  namespace: string;
  pod: string;
  container: string;
}

export function routeKubeletPath(pathname: string): Route | undefined {
  const parts = pathname.split("/").slice(1).map(decodeURIComponent);
  const [kind, namespace = "", pod = "", container = ""] = parts;
  if (kind === "healthz" && parts.length === 1) return { kind, namespace, pod, container };
  if ((kind === "containerLogs" || kind === "exec" || kind === "attach") && parts.length === 4 && container)
    return { kind, namespace, pod, container };
  if (kind === "portForward" && parts.length === 3 && pod) return { kind, namespace, pod, container };
  return undefined;
}

export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const handlers = new KubeletHandlers(opts);
  const server = createServer(
    { cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) },
    (req, res) => void handlers.serve(req, res),
  );
  server.on("upgrade", (req, socket, head) => void handlers.upgrade(req, socket, head));
  // Log follows and upgraded streams live as long as the client wants.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  const upgraded = new Set<Duplex>();
  server.on("upgrade", (_req, socket: Duplex) => {
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  opts.log.info({ host: opts.host, port }, "kubelet server listening");
  return {
    port,
    close: async () => {
      for (const s of upgraded) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const bool = (q: URLSearchParams, name: string) =>
  ["1", "t", "T", "true", "TRUE", "True"].includes(q.get(name) ?? "");

class KubeletHandlers {
  private readonly opts: KubeletServerOptions;
  private readonly expectedAuth?: Buffer;

  constructor(opts: KubeletServerOptions) {
    this.opts = opts;
    if (opts.authToken) this.expectedAuth = Buffer.from(`Bearer ${opts.authToken}`);
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.expectedAuth) return true;
    const got = Buffer.from(req.headers.authorization ?? "");
    return got.length === this.expectedAuth.length && timingSafeEqual(got, this.expectedAuth);
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://kubelet");
    try {
      if (!this.authorized(req)) throw new KubeletHttpError(401, "Unauthorized");
      const route = routeKubeletPath(url.pathname);
      if (!route) throw new KubeletHttpError(404, "404 page not found");
      if (route.kind === "healthz") {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok");
        return;
      }
      if (route.kind !== "containerLogs") throw new KubeletHttpError(400, "Upgrade request required");
      if (req.method !== "GET" && req.method !== "HEAD")
        throw new KubeletHttpError(405, "Method not allowed");
      await this.containerLogs(route, url.searchParams, req, res);
    } catch (err) {
      const e = asHttpError(err);
      if (e.code >= 500) this.opts.log.warn({ err, path: url.pathname }, "kubelet request failed");
      if (!res.headersSent)
        res.writeHead(e.code, { "content-type": "text/plain; charset=utf-8" }).end(e.message);
      else res.destroy();
    }
  }

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "https://kubelet");
    socket.on("error", () => socket.destroy());
    try {
      if (!this.authorized(req)) throw new KubeletHttpError(401, "Unauthorized");
      const route = routeKubeletPath(url.pathname);
      if (!route || route.kind === "healthz" || route.kind === "containerLogs")
        throw new KubeletHttpError(404, "404 page not found");
      const streamUrl = await this.streamingUrl(route, url.searchParams);
      this.opts.log.debug({ kind: route.kind, pod: `${route.namespace}/${route.pod}` }, "streaming");
      await forwardUpgrade(req, socket, head, {
        url: new URL(streamUrl),
        tls: { rejectUnauthorized: false },
      });
    } catch (err) {
      const e = asHttpError(err);
      if (e.code >= 500) this.opts.log.warn({ err, path: url.pathname }, "kubelet upgrade failed");
      writeUpgradeError(socket, e.code, e.message);
    }
  }

  private pod(route: Route): KubeletPod {
    const pod = this.opts.pods.find(route.namespace, route.pod);
    if (!pod) throw new KubeletHttpError(404, `pod "${route.pod}" does not exist`);
    return pod;
  }

  private container(route: Route, pod: KubeletPod): KubeletPodContainer {
    const c = pod.containers.find((x) => x.name === route.container);
    if (!c) throw new KubeletHttpError(404, `container "${route.container}" not found in pod "${route.pod}"`);
    return c;
  }

  /** Asks the runtime where to stream exec/attach/port-forward for this request. */
  private async streamingUrl(route: Route, q: URLSearchParams): Promise<string> {
    const pod = this.pod(route);
    const { runtime } = this.opts;
    if (route.kind === "portForward") {
      if (!pod.sandboxId) throw new KubeletHttpError(404, `pod "${route.pod}" has no running sandbox`);
      const ports = q.getAll("port").map(Number);
      if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
        throw new KubeletHttpError(400, `invalid port in ${JSON.stringify(q.getAll("port"))}`);
      return runtime.portForward(pod.sandboxId, ports).catch(criToHttp);
    }
    const c = this.container(route, pod);
    if (!c.id) throw new KubeletHttpError(404, `container not found ("${route.container}")`);
    const tty = bool(q, "tty");
    const streams = {
      stdin: bool(q, "stdin"),
      stdout: bool(q, "stdout"),
      // With a TTY, stderr is merged into stdout.
      stderr: bool(q, "stderr") && !tty,
      tty,
    };
    if (!streams.stdin && !streams.stdout && !bool(q, "stderr"))
      throw new KubeletHttpError(400, "you must specify at least 1 of stdin, stdout, stderr");
    if (route.kind === "attach") return runtime.attach({ containerId: c.id, ...streams }).catch(criToHttp);
    const cmd = q.getAll("command");
    if (!cmd.length)
      throw new KubeletHttpError(400, "you must specify at least one command for the container");
    return runtime.exec({ containerId: c.id, cmd, ...streams }).catch(criToHttp);
  }

  private async containerLogs(
    route: Route,
    q: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    let opts: ReturnType<typeof parseLogOptions>;
    try {
      opts = parseLogOptions(q);
    } catch (err) {
      if (err instanceof LogOptionsError) throw new KubeletHttpError(400, err.message);
      throw err;
    }
    const pod = this.pod(route);
    const c = this.container(route, pod);
    const path = opts.previous ? c.previousLogPath : c.logPath;
    const exists = path
      ? await access(path).then(
          () => true,
          () => false,
        )
      : false;
    if (!exists || !path) {
      if (opts.previous)
        throw new KubeletHttpError(
          400,
          `previous terminated container "${route.container}" in pod "${route.pod}" not found`,
        );
      throw new KubeletHttpError(
        400,
        `container "${route.container}" in pod "${route.pod}" is waiting to start: ${c.waitingReason || "ContainerCreating"}`,
      );
    }
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" });
    if (req.method === "HEAD") return void res.end();
    if (opts.follow) res.flushHeaders();
    const ac = new AbortController();
    res.once("close", () => ac.abort());
    const containerId = c.id;
    await streamCriLog(
      path,
      opts,
      {
        write: (chunk) =>
          new Promise<void>((resolve) => {
            if (res.write(chunk) || res.destroyed) return resolve();
            const done = () => {
              res.off("drain", done);
              res.off("close", done);
              resolve();
            };
            res.once("drain", done);
            res.once("close", done);
          }),
      },
      {
        signal: ac.signal,
        // The previous instance writes no more; the current one until it stops or is replaced.
        stillRunning: async () => !opts.previous && (await this.stillRunning(route, containerId)),
      },
    );
    res.end();
  }

  private async stillRunning(route: Route, containerId: string | undefined): Promise<boolean> {
    if (!containerId) return false;
    const now = this.opts.pods
      .find(route.namespace, route.pod)
      ?.containers.find((x) => x.name === route.container);
    if (now?.id !== containerId) return false;
    try {
      const { status } = await this.opts.runtime.containerStatus(containerId);
      return status.state === CONTAINER_RUNNING;
    } catch {
      return false;
    }
  }
}

function criToHttp(err: unknown): never {
  if (err instanceof CriError)
    throw new KubeletHttpError(err.code === GRPC_NOT_FOUND ? 404 : 500, err.message);
  throw err;
}

function asHttpError(err: unknown): KubeletHttpError {
  if (err instanceof KubeletHttpError) return err;
  return new KubeletHttpError(500, (err as Error)?.message ?? String(err));
}
