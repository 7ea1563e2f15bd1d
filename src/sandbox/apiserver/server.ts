// The sandbox API server: HTTPS on loopback, bearer tokens, discovery, OpenAPI, and the
// resource REST API over etcd through the watch cache.

import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { Counter, Gauge, Histogram, Registry as MetricsRegistry } from "prom-client";
import { EtcdClient } from "../etcd/client.ts";
import { ServiceAllocator } from "./allocators.ts";
import { AuditLog } from "./audit.ts";
import { isPublicPath, TokenAuthenticator } from "./auth.ts";
import { bootstrap, bootstrapRbac } from "./bootstrap.ts";
import {
  aggregatedDiscovery,
  aggregatedVersion,
  legacyApiVersions,
  legacyGroup,
  legacyGroupList,
  resourceList,
  versionInfo,
} from "./discovery.ts";
import { ApiError, errInternal } from "./errors.ts";
import {
  CRD_CLEANUP_FINALIZER,
  cleanUpCrd,
  crdHooks,
  eventHooks,
  namespaceHooks,
  serviceHooks,
} from "./hooks.ts";
import { sendError, sendJson } from "./http/io.ts";
import { requestInfo } from "./http/request-info.ts";
import { ResourceHandler } from "./http/resource-handler.ts";
import { route } from "./http/routes.ts";
import { noStreamer, type PodStreamer } from "./http/subresources.ts";
import { OpenApiServer } from "./openapi-serving.ts";
import { allows, effectiveUser, forbiddenError, requestUsers } from "./rbac/access.ts";
import type { User } from "./rbac/authorizer.ts";
import { ClusterPolicy } from "./rbac/policy.ts";
import { Registry } from "./registry.ts";
import { type ResourceHooks, Rest } from "./rest.ts";
import { Store } from "./storage/store.ts";
import { parsedOf, WatchCache } from "./storage/watch-cache.ts";
import { storagePrefix } from "./types.ts";
import { registryDeps, schemaChecks } from "./wiring.ts";

export interface ApiServerOptions {
  etcdEndpoint: string;
  /** The CA and client certificate etcd asks for (https:// endpoints). */
  etcdTls?: { caFile: string; certFile: string; keyFile: string };
  port: number;
  host?: string;
  /** Further addresses to serve on, on the same port (the sandbox nodes' underlay gateway). */
  extraHosts?: string[];
  certFile: string;
  keyFile: string;
  tokenFile: string;
  serviceCidr: string;
  log: Logger;
  /** Append an audit line per resource request to this file. */
  auditLog?: string;
  /** Finds who serves log/exec/portforward for a pod's node (set by the sandbox). */
  streamerFor?: (pod: any) => PodStreamer | undefined;
}

const CRD_PREFIX = "/registry/apiextensions.k8s.io/customresourcedefinitions/";
const ANONYMOUS: User = { name: "system:anonymous", groups: ["system:unauthenticated"] };

export class ApiServer {
  private readonly opts: ApiServerOptions;
  readonly etcd: EtcdClient;
  readonly registry: Registry;
  readonly cache: WatchCache;
  readonly store: Store;
  readonly rest: Rest;
  private readonly handler: ResourceHandler;
  private readonly openapi: OpenApiServer;
  private readonly auth: TokenAuthenticator;
  readonly policy: ClusterPolicy;
  private server?: Server;
  private extraServers: Server[] = [];
  private readonly cleaning = new Set<string>();
  private readonly auditLog?: AuditLog;
  private readonly metrics = new MetricsRegistry();
  private readonly requests: Counter;
  private readonly latency: Histogram;
  private readonly watchers: Gauge;
  port = 0;

  constructor(opts: ApiServerOptions) {
    this.opts = opts;
    this.etcd = new EtcdClient(opts.etcdEndpoint, { tls: opts.etcdTls });
    this.registry = new Registry(registryDeps);
    this.cache = new WatchCache({
      etcd: this.etcd,
      resolvePrefix: this.registry.resolvePrefix,
      fieldsFor: (prefix) => {
        const def = this.registry.byPrefix(prefix);
        return (obj) => def?.strategy.selectableFields?.(obj) ?? {};
      },
      onFatal: (err) => {
        opts.log.fatal(
          { err },
          "watch cache lost consistency with etcd; exiting so the supervisor restarts us",
        );
        process.exit(1);
      },
    });
    this.store = new Store(this.etcd, this.cache);
    const hooks = new Map<string, ResourceHooks>([
      ["/services", serviceHooks(() => this.rest, new ServiceAllocator(opts.serviceCidr))],
      ["/namespaces", namespaceHooks()],
      ["/events", eventHooks(this.etcd)],
      ["apiextensions.k8s.io/customresourcedefinitions", crdHooks()],
    ]);
    this.rest = new Rest(this.store, this.registry, hooks, schemaChecks);
    this.policy = new ClusterPolicy(this.cache);
    this.handler = new ResourceHandler(
      this.rest,
      { streamerFor: (pod) => opts.streamerFor?.(pod) },
      this.policy,
    );
    this.openapi = new OpenApiServer(this.registry);
    this.auth = TokenAuthenticator.fromFile(opts.tokenFile);
    if (opts.auditLog) this.auditLog = new AuditLog(opts.auditLog);
    this.requests = new Counter({
      name: "apiserver_request_total",
      help: "Requests by verb, resource and HTTP code",
      labelNames: ["verb", "resource", "code"],
      registers: [this.metrics],
    });
    this.latency = new Histogram({
      name: "apiserver_request_duration_seconds",
      help: "Request latency (watches excluded)",
      labelNames: ["verb", "resource"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [this.metrics],
    });
    this.watchers = new Gauge({
      name: "apiserver_registered_watchers",
      help: "Open watches",
      registers: [this.metrics],
    });
  }

  async start(): Promise<void> {
    // CRDs first, so the cache knows which prefixes are custom resources.
    const crds = await this.cache.preload(CRD_PREFIX);
    this.registry.setCrds(crds.filter((c) => !c.metadata.deletionTimestamp));
    this.cache.globalListeners.add((prefix) => {
      if (prefix === CRD_PREFIX) this.onCrdsChanged();
    });
    await this.cache.start();
    this.onCrdsChanged();
    // The default policy before the first request, so components are never refused at start.
    await bootstrapRbac(this.rest);
    const tls = { cert: readFileSync(this.opts.certFile), key: readFileSync(this.opts.keyFile) };
    const listen = async (host: string, port: number): Promise<Server> => {
      const server = createServer(
        { ...tls, keepAliveTimeout: 120_000 },
        (req, res) => void this.serve(req, res),
      );
      server.on("upgrade", (req, socket, head) => void this.upgrade(req, socket, head));
      server.headersTimeout = 60_000;
      server.requestTimeout = 0;
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve());
      });
      return server;
    };
    this.server = await listen(this.opts.host ?? "127.0.0.1", this.opts.port);
    const addr = this.server.address();
    this.port = typeof addr === "object" && addr ? addr.port : this.opts.port;
    for (const host of this.opts.extraHosts ?? []) this.extraServers.push(await listen(host, this.port));
    // Pods reach the API server at the first extra host (the nodes' underlay gateway).
    const advertised = this.opts.extraHosts?.[0];
    await bootstrap(
      this.rest,
      this.opts.serviceCidr,
      () => this.port,
      advertised ? { address: advertised, port: this.port } : undefined,
    );
  }

  async stop(): Promise<void> {
    this.cache.stop();
    for (const server of [this.server, ...this.extraServers]) {
      if (!server) continue;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    await this.etcd.close();
    await this.auditLog?.close();
  }

  private onCrdsChanged(): void {
    const crds = [...this.cache.bucket(CRD_PREFIX).items.values()].map(parsedOf);
    this.registry.setCrds(crds.filter((c) => !c.metadata.deletionTimestamp));
    for (const c of crds) {
      if (!c.metadata.deletionTimestamp || !c.metadata.finalizers?.includes(CRD_CLEANUP_FINALIZER)) continue;
      if (this.cleaning.has(c.metadata.uid)) continue;
      this.cleaning.add(c.metadata.uid);
      cleanUpCrd(this.rest, c)
        .catch((err) => this.opts.log.error({ err, crd: c.metadata.name }, "CRD clean-up failed"))
        .finally(() => this.cleaning.delete(c.metadata.uid));
    }
    for (const c of crds)
      if (!c.metadata.deletionTimestamp)
        this.cache.bucket(storagePrefix({ group: c.spec.group, plural: c.spec.names.plural }));
  }

  /**
   * Who the request acts as (after impersonation), and whether it may: 401 without a known
   * token (except for the public health and version paths), 403 without a grant.
   */
  private async admit(req: IncomingMessage, url: URL, method = req.method ?? "GET"): Promise<User> {
    const authenticated = this.auth.authenticate(req);
    if (!authenticated) {
      if (isPublicPath(url.pathname)) return ANONYMOUS;
      throw new ApiError(401, "Unauthorized", "Unauthorized");
    }
    const user = effectiveUser(req, authenticated, this.policy);
    const attrs = requestInfo(method, url.pathname, url.searchParams);
    requestUsers.set(req, user);
    if (allows(this.policy, user, attrs).allowed) return user;
    // A grant written through this server a moment ago may not be in the cache yet.
    await this.policy.fresh().catch(() => {});
    const d = allows(this.policy, user, attrs);
    if (!d.allowed) throw forbiddenError(user, attrs, d.reason);
    return user;
  }

  private audit(req: IncomingMessage, url: URL, code: number, received: Date): void {
    if (!this.auditLog) return;
    const info = requestInfo(req.method ?? "GET", url.pathname, url.searchParams);
    if (!info.resourceRequest) return;
    const { resourceRequest: _r, apiVersion: _v, path: _p, ...rest } = info;
    this.auditLog.record({
      ts: received.toISOString(),
      user: requestUsers.get(req)?.name ?? this.auth.authenticate(req)?.name ?? "system:anonymous",
      userAgent: req.headers["user-agent"] ?? "",
      code,
      ...rest,
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = new Date();
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? "/", "https://localhost");
    let resource = "";
    const isWatch = url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
    try {
      await this.admit(req, url);
      resource = await this.dispatch(req, res, url);
    } catch (err) {
      if (err instanceof ApiError) sendError(res, err);
      else {
        this.opts.log.error({ err, method: req.method, url: req.url }, "request failed");
        sendError(res, errInternal((err as Error).message ?? String(err)));
      }
    } finally {
      const verb = isWatch ? "WATCH" : (req.method ?? "GET");
      this.audit(req, url, res.statusCode, received);
      if (isWatch) {
        this.watchers.inc();
        res.once("close", () => this.watchers.dec());
      } else {
        res.once("finish", () => {
          this.requests.inc({ verb, resource, code: String(res.statusCode) });
          this.latency.observe({ verb, resource }, Number(process.hrtime.bigint() - started) / 1e9);
        });
      }
    }
  }

  /** Serves one request; returns the resource name for metrics. */
  private async dispatch(req: IncomingMessage, res: ServerResponse, url: URL): Promise<string> {
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const accept = req.headers.accept ?? "";
    switch (path) {
      case "/healthz":
      case "/livez":
      case "/readyz":
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("ok");
        return "";
      case "/version":
        sendJson(res, 200, versionInfo());
        return "";
      case "/metrics":
        res.writeHead(200, { "content-type": this.metrics.contentType }).end(await this.metrics.metrics());
        return "";
      case "/api": {
        const v = aggregatedVersion(accept);
        if (v)
          sendJson(res, 200, aggregatedDiscovery(this.registry, true, v), {
            "content-type": `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
          });
        else sendJson(res, 200, legacyApiVersions(`127.0.0.1:${this.port}`));
        return "";
      }
      case "/apis": {
        const v = aggregatedVersion(accept);
        if (v)
          sendJson(res, 200, aggregatedDiscovery(this.registry, false, v), {
            "content-type": `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
          });
        else sendJson(res, 200, legacyGroupList(this.registry));
        return "";
      }
    }
    if (path.startsWith("/openapi/")) {
      this.openapi.serve(req, res, path, url.searchParams);
      return "";
    }
    let r = route(this.registry, path);
    if (r.kind === "unknown-resource") {
      // A CRD created a moment ago may not be in the registry until the cache catches up.
      await this.cache.fresh();
      r = route(this.registry, path);
    }
    switch (r.kind) {
      case "group": {
        const g = legacyGroup(this.registry, r.group);
        if (!g) throw notFound();
        sendJson(res, 200, g);
        return "";
      }
      case "group-version": {
        const l = resourceList(this.registry, r.group, r.version);
        if (!l) throw notFound();
        sendJson(res, 200, l);
        return "";
      }
      case "resource":
        await this.handler.handle(req, res, { ...r, query: url.searchParams });
        return r.def.plural;
      default:
        throw notFound();
    }
  }

  /** WebSocket/SPDY upgrades for exec, attach and portforward go to the pod's node streamer. */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "https://localhost");
    const fail = (err: ApiError) => {
      const body = JSON.stringify(err.toStatus());
      socket.end(
        `HTTP/1.1 ${err.code} ${err.reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    try {
      // exec, attach and portforward are "create" on their subresource, whatever the method
      // (upstream asks for create on WebSocket GETs too since 1.31).
      await this.admit(req, url, "POST");
      const r = route(this.registry, url.pathname);
      if (
        r.kind !== "resource" ||
        r.def.plural !== "pods" ||
        !["exec", "attach", "portforward"].includes(r.subresource)
      )
        return fail(notFound());
      const pod = await this.rest.get(r.def, r.namespace, r.name);
      const streamer = this.opts.streamerFor?.(pod);
      if (!streamer?.upgrade) return fail(noStreamer(pod, r.subresource));
      await streamer.upgrade(req, socket, head, pod, r.subresource, url.searchParams);
    } catch (err) {
      fail(err instanceof ApiError ? err : errInternal(String((err as Error).message ?? err)));
    }
  }
}

const notFound = () => new ApiError(404, "NotFound", "the server could not find the requested resource");
