// A Kubernetes REST client over our own undici Agent: JSON in and out, streaming watches,
// apimachinery-style errors. Credentials come from kubeconfig.ts (or are passed in directly).

import { Agent, type Dispatcher } from "undici";
import type { ClientConfig, Headers } from "./client-config.ts";
import { KubeApiError, KubeRequestError, type Status, statusFromBody } from "./errors.ts";
import { type KubeConfigSource, loadClientConfig } from "./kubeconfig.ts";
import type { ListerWatcher, ListOptions, WatchOptions } from "./list-watch.ts";
import { LineSplitter } from "./ndjson.ts";
import type { KubeList, KubeObject, WatchEvent } from "./objects.ts";
import { type ApiResource, resourcePath } from "./resource.ts";

export type PatchType = "merge" | "strategic" | "json" | "apply";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface WriteOptions extends RequestOptions {
  fieldManager?: string;
  /** Validate and admit but do not persist. */
  dryRun?: boolean;
}

export interface PatchOptions extends WriteOptions {
  /** Only for server-side apply: take over fields owned by other managers. */
  force?: boolean;
  subresource?: string;
}

export interface DeleteOptions extends RequestOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface NamespacedListOptions extends ListOptions {
  /** Omit (or "") to list a namespaced resource across all namespaces. */
  namespace?: string;
}

export interface NamespacedWatchOptions extends WatchOptions {
  namespace?: string;
}

export interface RawOptions extends RequestOptions {
  contentType?: string;
  headers?: Headers;
}

type Query = Record<string, string | number | boolean | undefined>;

interface SendOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  headers?: Headers;
  signal?: AbortSignal;
}

/**
 * Decides whether a client may write now, e.g. only while its process holds a leader lease:
 * every request but a GET asks `check` right before it is sent, and is aborted with `signal`.
 */
export interface WriteFence {
  /** Throws when no write may be sent now. */
  check(): void;
  /** Aborts when writes end for good; in-flight writes are aborted with it. */
  signal: AbortSignal;
}

export class KubeClient {
  /** Default namespace of the kubeconfig context ("default" when unset). */
  readonly namespace: string;
  private readonly config: ClientConfig;
  private fence: WriteFence | undefined;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly agent: Agent;
  /** The agent with the write fence applied at the last moment: as a request goes onto the socket. */
  private readonly dispatcher: Dispatcher;
  private readonly headers: ClientConfig["headers"];
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  /** `agent`: share another client's connections (see `sibling`). */
  constructor(config: ClientConfig, agent?: Agent) {
    this.config = config;
    const url = new URL(config.server);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.namespace = config.namespace || "default";
    this.headers = config.headers;
    this.timeoutMs = config.requestTimeoutMs ?? 60_000;
    this.userAgent = config.userAgent ?? "raven";
    this.agent =
      agent ??
      new Agent({
        connections: config.connections ?? 1000,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connect: {
          ca: config.ca,
          cert: config.cert,
          key: config.key,
          rejectUnauthorized: config.rejectUnauthorized,
          servername: config.servername,
        },
      });
    this.dispatcher = this.agent.compose(this.fenceInterceptor());
  }

  /**
   * Checks the fence when a write is about to be written to its connection. A check when the
   * request is made is not enough: a process frozen (SIGSTOP) between the two would write,
   * when it wakes, a request it checked before.
   */
  private fenceInterceptor(): Dispatcher.DispatcherComposeInterceptor {
    return (dispatch) => (opts, handler) => {
      const fence = opts.method === "GET" ? undefined : this.fence;
      if (!fence) return dispatch(opts, handler);
      return dispatch(opts, {
        onRequestStart(controller, context) {
          handler.onRequestStart?.(controller, context);
          try {
            fence.check();
          } catch (err) {
            controller.abort(err as Error);
          }
        },
        onRequestUpgrade: (controller, statusCode, headers, socket) =>
          handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
        onResponseStart: (controller, statusCode, headers, statusMessage) =>
          handler.onResponseStart?.(controller, statusCode, headers, statusMessage),
        onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
        onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
        onResponseError: (controller, err) => handler.onResponseError?.(controller, err),
      });
    };
  }

  /**
   * A client from a kubeconfig file, the default loading rules ($KUBECONFIG, ~/.kube/config,
   * in-cluster) or the in-cluster service account.
   */
  static async fromKubeConfig(
    source: KubeConfigSource = {},
    overrides: Pick<ClientConfig, "userAgent"> = {},
  ): Promise<KubeClient> {
    return new KubeClient({ ...(await loadClientConfig(source)), ...overrides });
  }

  /** Closes idle connections and aborts open watches (of every sibling: they share them). */
  async close(): Promise<void> {
    await this.agent.destroy();
  }

  /**
   * Another client for the same server and credentials, over the same connections, with its
   * own write fence (none): e.g. for the leader election that must write while others may not.
   */
  sibling(): KubeClient {
    return new KubeClient(this.config, this.agent);
  }

  /** Every later write must pass `fence` (undefined: none). */
  setWriteFence(fence: WriteFence | undefined): void {
    this.fence = fence;
  }

  async get<T extends KubeObject = KubeObject>(
    res: ApiResource,
    namespace: string,
    name: string,
    opts: RequestOptions = {},
  ): Promise<T> {
    return this.send("GET", resourcePath(res, { namespace, name }), { signal: opts.signal }) as Promise<T>;
  }

  async list<T extends KubeObject = KubeObject>(
    res: ApiResource,
    opts: NamespacedListOptions = {},
  ): Promise<KubeList<T>> {
    return this.send("GET", resourcePath(res, { namespace: opts.namespace }), {
      query: listQuery(opts),
      signal: opts.signal,
    }) as Promise<KubeList<T>>;
  }

  /** POST; the namespace comes from `obj.metadata.namespace`. */
  async create<T extends KubeObject = KubeObject>(
    res: ApiResource,
    obj: T,
    opts: WriteOptions = {},
  ): Promise<T> {
    const path = resourcePath(res, { namespace: namespaceOf(res, obj) });
    return this.send("POST", path, { body: obj, query: writeQuery(opts), signal: opts.signal }) as Promise<T>;
  }

  /** PUT of the whole object; a stale `metadata.resourceVersion` fails with 409 Conflict. */
  async update<T extends KubeObject = KubeObject>(
    res: ApiResource,
    obj: T,
    opts: WriteOptions = {},
  ): Promise<T> {
    const path = resourcePath(res, { namespace: namespaceOf(res, obj), name: obj.metadata.name });
    return this.send("PUT", path, { body: obj, query: writeQuery(opts), signal: opts.signal }) as Promise<T>;
  }

  /** PUT to the status subresource. */
  async updateStatus<T extends KubeObject = KubeObject>(
    res: ApiResource,
    obj: T,
    opts: WriteOptions = {},
  ): Promise<T> {
    const path = resourcePath(res, {
      namespace: namespaceOf(res, obj),
      name: obj.metadata.name,
      subresource: "status",
    });
    return this.send("PUT", path, { body: obj, query: writeQuery(opts), signal: opts.signal }) as Promise<T>;
  }

  /** PATCH; `body` is sent as is when a string, else as JSON (which is also valid apply YAML). */
  async patch<T extends KubeObject = KubeObject>(
    res: ApiResource,
    namespace: string,
    name: string,
    patchType: PatchType,
    body: unknown,
    opts: PatchOptions = {},
  ): Promise<T> {
    if (patchType === "apply" && !opts.fieldManager)
      throw new Error("server-side apply needs a fieldManager");
    const path = resourcePath(res, { namespace, name, subresource: opts.subresource });
    const query = { ...writeQuery(opts), force: patchType === "apply" && opts.force ? true : undefined };
    return this.send("PATCH", path, {
      body,
      contentType: PATCH_CONTENT_TYPES[patchType],
      query,
      signal: opts.signal,
    }) as Promise<T>;
  }

  /**
   * DELETE; answers the object (when deletion waits on finalizers or grace) or a Status.
   * Preconditions make it fail with 409 when the object has changed.
   */
  async delete(
    res: ApiResource,
    namespace: string,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<unknown> {
    return this.send("DELETE", resourcePath(res, { namespace, name }), {
      body: deleteBody(opts),
      signal: opts.signal,
    });
  }

  /** DELETE on a collection, narrowed by the list options' selectors. */
  async deleteCollection(
    res: ApiResource,
    namespace: string,
    opts: ListOptions & DeleteOptions = {},
  ): Promise<unknown> {
    return this.send("DELETE", resourcePath(res, { namespace }), {
      query: listQuery(opts),
      body: deleteBody(opts),
      signal: opts.signal,
    });
  }

  /** POST to a subresource, e.g. `pods/x/binding` or `pods/x/eviction`. */
  async createSubresource(
    res: ApiResource,
    namespace: string,
    name: string,
    subresource: string,
    body: unknown,
    opts: WriteOptions = {},
  ): Promise<unknown> {
    return this.send("POST", resourcePath(res, { namespace, name, subresource }), {
      body,
      query: writeQuery(opts),
      signal: opts.signal,
    });
  }

  /** Any other request; `path` may carry a query string. Answers parsed JSON, or text when not JSON. */
  async raw(method: string, path: string, body?: unknown, opts: RawOptions = {}): Promise<unknown> {
    return this.send(method, path, {
      body,
      contentType: opts.contentType,
      headers: opts.headers,
      signal: opts.signal,
    });
  }

  /**
   * Streams watch events to `onEvent` until the server ends the watch (resolves) or `signal`
   * aborts (resolves). Rejects with KubeApiError for an HTTP failure or an ERROR event (a 410
   * is `isGone`), with KubeRequestError when the connection fails, and with whatever `onEvent`
   * throws.
   */
  async watch<T extends KubeObject = KubeObject>(
    res: ApiResource,
    opts: NamespacedWatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const path = resourcePath(res, { namespace: opts.namespace }) + queryString(watchQuery(opts));
    // Without a server-side timeout a watch may rightly stay quiet for long; with one, silence
    // well past it means a dead connection.
    const bodyTimeout = opts.timeoutSeconds ? (opts.timeoutSeconds + 60) * 1000 : 0;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.dispatcher.request({
        origin: this.origin,
        path: this.basePath + path,
        method: "GET",
        headers: await this.requestHeaders(undefined),
        signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout,
      });
    } catch (err) {
      if (signal?.aborted) return;
      throw new KubeRequestError("GET", path, err);
    }
    if (response.statusCode !== 200) {
      const text = await response.body.text().catch(() => "");
      throw new KubeApiError("GET", path, statusFromBody(response.statusCode, text));
    }
    const lines = new LineSplitter();
    const handle = (line: string) => {
      if (!line.trim()) return;
      let event: WatchEvent<T>;
      try {
        event = JSON.parse(line);
      } catch (err) {
        throw new KubeRequestError("GET", path, new Error(`malformed watch event: ${String(err)}`));
      }
      if (event.type === "ERROR") {
        const status = event.object as unknown as Status;
        throw new KubeApiError("GET", path, { ...status, code: status.code || 500 });
      }
      onEvent(event);
    };
    const chunks = response.body[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (err) {
          if (signal?.aborted) return;
          throw new KubeRequestError("GET", path, err);
        }
        if (next.done) break;
        for (const line of lines.push(next.value)) handle(line);
      }
      const rest = lines.end();
      if (rest !== undefined) handle(rest);
    } finally {
      response.body.destroy();
    }
  }

  /** The list and watch calls an informer needs, bound to one resource, namespace and selectors. */
  listerWatcher<T extends KubeObject = KubeObject>(
    res: ApiResource,
    scope: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): ListerWatcher<T> {
    return {
      list: (opts) => this.list<T>(res, { ...scope, ...opts }),
      watch: (opts, onEvent, signal) => this.watch<T>(res, { ...scope, ...opts }, onEvent, signal),
    };
  }

  private async requestHeaders(contentType: string | undefined, extra?: Headers): Promise<Headers> {
    const base = typeof this.headers === "function" ? await this.headers() : this.headers;
    const h: Headers = { accept: "application/json", "user-agent": this.userAgent, ...base, ...extra };
    if (contentType) h["content-type"] = contentType;
    return h;
  }

  private async send(method: string, path: string, opts: SendOptions): Promise<unknown> {
    const fullPath = path + queryString(opts.query);
    let body: string | undefined;
    if (opts.body !== undefined) body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    const contentType = body === undefined ? undefined : (opts.contentType ?? "application/json");
    const headers = await this.requestHeaders(contentType, opts.headers);
    let signal = opts.signal;
    const fence = method === "GET" ? undefined : this.fence;
    if (fence) {
      fence.check();
      signal = signal ? AbortSignal.any([signal, fence.signal]) : fence.signal;
    }
    let response: Dispatcher.ResponseData;
    let text: string;
    try {
      response = await this.dispatcher.request({
        origin: this.origin,
        path: this.basePath + fullPath,
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      text = await response.body.text();
    } catch (err) {
      // An abort is the caller's (or the fence's) doing: hand back its reason untouched.
      if (signal?.aborted) throw err;
      throw new KubeRequestError(method, fullPath, err);
    }
    if (response.statusCode >= 400) {
      throw new KubeApiError(method, fullPath, statusFromBody(response.statusCode, text));
    }
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
}

function namespaceOf(res: ApiResource, obj: KubeObject): string | undefined {
  const ns = obj.metadata?.namespace;
  if (res.namespaced && !ns) throw new Error(`${res.plural} is namespaced: set metadata.namespace`);
  return res.namespaced ? ns : undefined;
}

function listQuery(opts: ListOptions): Query {
  return {
    labelSelector: opts.labelSelector || undefined,
    fieldSelector: opts.fieldSelector || undefined,
    limit: opts.limit,
    continue: opts.continue || undefined,
    resourceVersion: opts.resourceVersion,
    resourceVersionMatch: opts.resourceVersionMatch,
  };
}

function watchQuery(opts: WatchOptions): Query {
  return {
    watch: 1,
    resourceVersion: opts.resourceVersion || undefined,
    labelSelector: opts.labelSelector || undefined,
    fieldSelector: opts.fieldSelector || undefined,
    allowWatchBookmarks: opts.allowWatchBookmarks || undefined,
    timeoutSeconds: opts.timeoutSeconds,
  };
}

function writeQuery(opts: WriteOptions): Query {
  return { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? "All" : undefined };
}

function deleteBody(opts: DeleteOptions): object {
  const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1" };
  if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
  if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
  if (opts.preconditions) body.preconditions = opts.preconditions;
  if (opts.dryRun) body.dryRun = ["All"];
  return body;
}

export function queryString(query: Query | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : "";
}
