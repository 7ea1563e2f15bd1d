// Test support only (production code never imports this): an in-memory API server for the
// workload controllers' unit tests. Writes are visible to the shared informers through
// watches, which a test can hold back to reproduce a cache lagging behind the server.

import { type Logger, pino } from "pino";
import type { KubeClient } from "../../kube/client.ts";
import { KubeApiError } from "../../kube/errors.ts";
import type { EventRecorder } from "../../kube/events.ts";
import { type ListerWatcherSource, SharedInformerFactory } from "../../kube/informer-factory.ts";
import type { ListerWatcher } from "../../kube/list-watch.ts";
import { silentLogger } from "../../kube/log.ts";
import { formatTime, type KubeObject, type WatchEvent } from "../../kube/objects.ts";
import type { ApiResource } from "../../kube/resource.ts";
import type { Controller, ControllerContext } from "./context.ts";

export interface RecordedEvent {
  object: string;
  type: string;
  reason: string;
  message: string;
}

interface Watcher {
  plural: string;
  cursor: number;
  onEvent: (e: WatchEvent) => void;
}

const key = (ns: string | undefined, name: string | undefined) => `${ns ?? ""}/${name ?? ""}`;

function apiError(code: number, reason: string, message: string): KubeApiError {
  return new KubeApiError("FAKE", "/", { kind: "Status", status: "Failure", code, reason, message });
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: any, patch: any): any {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out = target && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

let nameSeq = 0;
const randomSuffix = () => (nameSeq++).toString(36).padStart(5, "x").slice(-5);

export class FakeCluster {
  /** Every write, e.g. `create pods`, `update replicasets demo-1`, `delete pods p1`. */
  readonly calls: string[] = [];
  readonly events: RecordedEvent[] = [];
  /** Asked before each write; an Error it returns fails that write. */
  failWrite: (verb: string, plural: string, obj: KubeObject | undefined) => Error | undefined = () =>
    undefined;
  /** Advanced by one second per write unless a test sets it, for distinct creation times. */
  now = Date.parse("2025-01-01T00:00:00Z");
  private rv = 1;
  private uidSeq = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly log: { plural: string; rv: number; event: WatchEvent }[] = [];
  private readonly watchers = new Set<Watcher>();
  private held = false;

  /** Stops watch delivery (the informers' caches fall behind) until release(). */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    this.pump();
  }

  list(res: ApiResource, namespace?: string): KubeObject[] {
    const all = [...(this.objects.get(res.plural)?.values() ?? [])];
    return structuredClone(namespace ? all.filter((o) => o.metadata.namespace === namespace) : all);
  }

  get(res: ApiResource, namespace: string, name: string): KubeObject | undefined {
    const o = this.objects.get(res.plural)?.get(key(namespace, name));
    return o && structuredClone(o);
  }

  /** Creates an object without recording a call (test setup). */
  seed(res: ApiResource, obj: KubeObject): KubeObject {
    return this.doCreate(res, structuredClone(obj));
  }

  /** Replaces an object's status directly (what another controller would write). */
  setStatus(res: ApiResource, namespace: string, name: string, status: any): void {
    const cur = this.objects.get(res.plural)?.get(key(namespace, name));
    if (!cur) throw new Error(`no ${res.plural} ${namespace}/${name}`);
    this.store(res, { ...structuredClone(cur), status }, "MODIFIED");
  }

  /** Removes an object directly (a pod finishing its termination). */
  remove(res: ApiResource, namespace: string, name: string): void {
    const map = this.objects.get(res.plural);
    const cur = map?.get(key(namespace, name));
    if (!cur) return;
    map!.delete(key(namespace, name));
    this.emit(res.plural, "DELETED", {
      ...structuredClone(cur),
      metadata: { ...cur.metadata, resourceVersion: String(++this.rv) },
    });
  }

  listerWatcher(res: ApiResource): ListerWatcher {
    return {
      list: async () => ({
        apiVersion: "v1",
        kind: "List",
        metadata: { resourceVersion: String(this.rv) },
        items: this.list(res),
      }),
      watch: (opts, onEvent, signal) =>
        new Promise<void>((resolve) => {
          const w: Watcher = { plural: res.plural, cursor: Number(opts.resourceVersion ?? 0), onEvent };
          this.watchers.add(w);
          signal.addEventListener(
            "abort",
            () => {
              this.watchers.delete(w);
              resolve();
            },
            { once: true },
          );
          this.pump();
        }),
    };
  }

  /** The client the controllers write through (the subset they use). */
  readonly client = {
    get: async (res: ApiResource, namespace: string, name: string) => {
      const o = this.get(res, namespace, name);
      if (!o) throw apiError(404, "NotFound", `${res.plural} "${name}" not found`);
      return o;
    },
    create: async (res: ApiResource, obj: KubeObject) => {
      this.check("create", res, obj);
      return structuredClone(this.doCreate(res, structuredClone(obj)));
    },
    update: async (res: ApiResource, obj: KubeObject) => {
      this.check("update", res, obj);
      const cur = this.current(res, obj, obj.metadata.resourceVersion);
      const next = structuredClone(obj);
      next.status = cur.status;
      if (JSON.stringify(next.spec) !== JSON.stringify(cur.spec))
        next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
      return structuredClone(
        this.store(res, { ...next, metadata: { ...next.metadata, uid: cur.metadata.uid } }, "MODIFIED"),
      );
    },
    updateStatus: async (res: ApiResource, obj: KubeObject) => {
      this.check("updateStatus", res, obj);
      const cur = this.current(res, obj, obj.metadata.resourceVersion);
      return structuredClone(
        this.store(res, { ...structuredClone(cur), status: structuredClone(obj.status) }, "MODIFIED"),
      );
    },
    patch: async (
      res: ApiResource,
      namespace: string,
      name: string,
      type: string,
      body: any,
      opts: any = {},
    ) => {
      if (type !== "merge") throw new Error(`fake cluster: only merge patches (got ${type})`);
      const cur = this.objects.get(res.plural)?.get(key(namespace, name));
      this.check(opts.subresource === "status" ? "patchStatus" : "patch", res, cur);
      const pinned = body?.metadata?.resourceVersion;
      const base = this.current(res, { metadata: { namespace, name } }, pinned);
      const next = mergePatch(structuredClone(base), body);
      next.metadata.uid = base.metadata.uid;
      if (opts.subresource !== "status") next.status = base.status;
      return structuredClone(this.store(res, next, "MODIFIED"));
    },
    delete: async (res: ApiResource, namespace: string, name: string, opts: any = {}) => {
      const cur = this.objects.get(res.plural)?.get(key(namespace, name));
      this.check("delete", res, cur ?? { metadata: { namespace, name } });
      if (!cur) throw apiError(404, "NotFound", `${res.plural} "${name}" not found`);
      if (opts.preconditions?.uid && opts.preconditions.uid !== cur.metadata.uid)
        throw apiError(409, "Conflict", "Precondition failed: UID");
      this.remove(res, namespace, name);
      return {};
    },
  };

  get kubeClient(): KubeClient {
    return this.client as unknown as KubeClient;
  }

  private check(verb: string, res: ApiResource, obj: KubeObject | undefined): void {
    this.calls.push(`${verb} ${res.plural}${verb === "create" ? "" : ` ${obj?.metadata?.name}`}`);
    const err = this.failWrite(verb, res.plural, obj);
    if (err) throw err;
  }

  private current(res: ApiResource, obj: KubeObject, precondition: string | undefined): KubeObject {
    const cur = this.objects.get(res.plural)?.get(key(obj.metadata.namespace, obj.metadata.name));
    if (!cur) throw apiError(404, "NotFound", `${res.plural} "${obj.metadata.name}" not found`);
    if (precondition && precondition !== cur.metadata.resourceVersion)
      throw apiError(
        409,
        "Conflict",
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    return cur;
  }

  private doCreate(res: ApiResource, obj: KubeObject): KubeObject {
    const m = obj.metadata;
    if (!m.name && m.generateName) m.name = `${m.generateName}${randomSuffix()}`;
    if (this.objects.get(res.plural)?.has(key(m.namespace, m.name)))
      throw apiError(409, "AlreadyExists", `${res.plural} "${m.name}" already exists`);
    m.uid = `uid-${++this.uidSeq}`;
    m.generation = 1;
    m.creationTimestamp = formatTime(this.now);
    this.now += 1000;
    return this.store(res, obj, "ADDED");
  }

  private store(res: ApiResource, obj: KubeObject, type: "ADDED" | "MODIFIED"): KubeObject {
    let map = this.objects.get(res.plural);
    if (!map) {
      map = new Map();
      this.objects.set(res.plural, map);
    }
    obj.metadata.resourceVersion = String(++this.rv);
    map.set(key(obj.metadata.namespace, obj.metadata.name), obj);
    this.emit(res.plural, type, obj);
    return obj;
  }

  private emit(plural: string, type: WatchEvent["type"], object: KubeObject): void {
    this.log.push({
      plural,
      rv: Number(object.metadata.resourceVersion),
      event: { type, object: structuredClone(object) },
    });
    this.pump();
  }

  private pump(): void {
    if (this.held) return;
    for (const w of this.watchers)
      for (const entry of this.log) {
        if (entry.plural !== w.plural || entry.rv <= w.cursor) continue;
        w.cursor = entry.rv;
        w.onEvent(structuredClone(entry.event));
      }
  }
}

export const quietLog: Logger = pino({ level: "silent" });

/**
 * Sets up controllers against the fake cluster and syncs their informers, without starting
 * workers: the test calls the sync functions itself. Returns the context and a stop function.
 */
export async function setUpControllers(
  cluster: FakeCluster,
  controllers: Controller[],
): Promise<{ ctx: ControllerContext; stop: () => void }> {
  const abort = new AbortController();
  const informers = new SharedInformerFactory(cluster as unknown as ListerWatcherSource, {
    logger: silentLogger,
  });
  const ctx: ControllerContext = {
    client: cluster.kubeClient,
    informers,
    log: quietLog,
    signal: abort.signal,
    recorder: () =>
      ({
        event: (obj: KubeObject, type: string, reason: string, message: string) =>
          cluster.events.push({ object: obj.metadata.name ?? "", type, reason, message }),
      }) as unknown as EventRecorder,
  };
  for (const c of controllers) c.setup(ctx);
  informers.start(abort.signal);
  await informers.waitForCacheSync(abort.signal);
  // Let the reflectors open their watches.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return { ctx, stop: () => abort.abort() };
}
