// A shared informer: one reflector feeding one indexed cache, fanned out to any number of
// event handlers (client-go's SharedIndexInformer). Relists are turned into the adds, updates
// and deletes that separate the old cache from the new list, so handlers see one consistent
// stream whatever happened to the watch.
//
// Cached objects are shared by every handler and every reader: treat them as read-only. To
// change one, copy it first (deepClone from objects.ts) and write the copy to the server.

import type { BackoffOptions } from "./backoff.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { ListerWatcher } from "./list-watch.ts";
import { type Logger, stderrLogger } from "./log.ts";
import { type KubeObject, objectKey, type WatchEvent } from "./objects.ts";
import { Reflector } from "./reflector.ts";
import { type IndexFunc, NAMESPACE_INDEX, namespaceIndex, Store } from "./store.ts";

export interface DeleteInfo {
  /**
   * True when the deletion was inferred from a relist (the watch missed it), so `obj` is the
   * last state this cache saw rather than the state at deletion (client-go's
   * DeletedFinalStateUnknown).
   */
  finalStateUnknown: boolean;
}

/**
 * Callbacks run synchronously, in event order, one handler after another: keep them quick
 * (typically: compute a key and add it to a workqueue). They must not mutate their arguments.
 */
export interface EventHandler<T> {
  onAdd?(obj: T): void;
  /** Also called with `oldObj === newObj` on a periodic resync. */
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T, info: DeleteInfo): void;
}

export interface InformerOptions<T> {
  /** For log lines. */
  name?: string;
  /** Re-deliver every cached object as an update this often (0/undefined: never). */
  resyncPeriodMs?: number;
  /** Secondary indexes; a `namespace` index is always present. */
  indexers?: Record<string, IndexFunc<T>>;
  /**
   * Applied to every object before it is cached. The default drops `metadata.managedFields`,
   * which can be a third of an object's size and which controllers rarely read. Pass `null` to
   * cache objects exactly as served.
   */
  transform?: ((obj: T) => T) | null;
  /** Deep-freeze cached objects so a mutating handler throws (strict mode); costs CPU, meant for tests. */
  freeze?: boolean;
  pageSize?: number;
  backoff?: BackoffOptions;
  minWatchTimeoutSeconds?: number;
  maxWatchTimeoutSeconds?: number;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

/** Drops server-side-apply bookkeeping from an object. */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}

export class SharedInformer<T extends KubeObject = KubeObject> {
  private readonly lw: ListerWatcher<T>;
  private readonly opts: InformerOptions<T>;
  private readonly store = new Store<T>();
  private readonly handlers = new Set<EventHandler<T>>();
  private readonly transform: ((obj: T) => T) | null;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly name: string;
  private reflector: Reflector<T> | undefined;
  private synced = false;
  private syncWaiters: (() => void)[] = [];

  constructor(lw: ListerWatcher<T>, opts: InformerOptions<T> = {}) {
    this.lw = lw;
    this.opts = opts;
    this.name = opts.name ?? "informer";
    this.transform = opts.transform === undefined ? stripManagedFields : opts.transform;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? stderrLogger;
    this.store.addIndex(NAMESPACE_INDEX, namespaceIndex);
    for (const [name, fn] of Object.entries(opts.indexers ?? {})) this.addIndexer(name, fn);
  }

  /**
   * Registers a handler. If objects are already cached, it first gets an add for each of them
   * (and only it does). Returns a function that unregisters it.
   */
  addEventHandler(handler: EventHandler<T>): () => void {
    this.handlers.add(handler);
    for (const obj of this.store.values()) this.call("onAdd", () => handler.onAdd?.(obj));
    return () => {
      this.handlers.delete(handler);
    };
  }

  /** Adds an index, built at once over what is cached; allowed before or after start. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    // A throwing index function must not leave the cache half-updated: it indexes nothing instead.
    this.store.addIndex(name, (obj) => {
      try {
        return fn(obj);
      } catch (err) {
        this.logger.error(
          { err, informer: this.name, index: name, key: objectKey(obj) },
          "index function threw",
        );
        return [];
      }
    });
  }

  /** By `namespace/name` (or `name` for cluster-scoped objects). */
  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return this.store.list();
  }

  listKeys(): string[] {
    return this.store.keys();
  }

  byIndex(indexName: string, value: string): T[] {
    return this.store.byIndex(indexName, value);
  }

  indexKeys(indexName: string, value: string): string[] {
    return this.store.indexKeys(indexName, value);
  }

  get size(): number {
    return this.store.size;
  }

  /** True once the first complete list has been cached and delivered to the handlers. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced, or false if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => resolve(false);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      });
    });
  }

  /** The resourceVersion the informer has caught up to. */
  lastSyncResourceVersion(): string {
    return this.reflector?.lastSyncResourceVersion ?? "";
  }

  /** Lists, watches and resyncs until `signal` aborts; the promise settles then (it never rejects). */
  async start(signal: AbortSignal): Promise<void> {
    if (this.reflector) throw new Error(`${this.name}: informer already started`);
    this.reflector = new Reflector(
      this.lw,
      { replace: (items) => this.replace(items), apply: (event) => this.apply(event) },
      {
        name: this.name,
        pageSize: this.opts.pageSize,
        backoff: this.opts.backoff,
        minWatchTimeoutSeconds: this.opts.minWatchTimeoutSeconds,
        maxWatchTimeoutSeconds: this.opts.maxWatchTimeoutSeconds,
        clock: this.clock,
        random: this.opts.random,
        logger: this.logger,
      },
    );
    const stopResync = this.scheduleResync();
    try {
      await this.reflector.run(signal);
    } finally {
      stopResync();
    }
  }

  get started(): boolean {
    return this.reflector !== undefined;
  }

  private scheduleResync(): () => void {
    const period = this.opts.resyncPeriodMs;
    if (!period || period <= 0) return () => {};
    let cancel = () => {};
    const tick = () => {
      if (this.synced)
        for (const obj of this.store.values()) this.emit("onUpdate", (h) => h.onUpdate?.(obj, obj));
      cancel = this.clock.setTimer(tick, period);
    };
    cancel = this.clock.setTimer(tick, period);
    return () => cancel();
  }

  private prepare(obj: T): T {
    let out = obj;
    if (this.transform) {
      try {
        out = this.transform(obj);
      } catch (err) {
        this.logger.error(
          { err, informer: this.name, key: objectKey(obj) },
          "transform threw; caching the object as is",
        );
      }
    }
    return this.opts.freeze ? deepFreeze(out) : out;
  }

  /** A relist: emit what changed between the cache and the new list, then mark synced. */
  private replace(items: T[]): void {
    const fresh = new Map<string, T>();
    for (const item of items) fresh.set(objectKey(item), item);
    // Deletes first, so whatever the vanished objects held (addresses, leases) is released
    // before new objects claim it.
    for (const key of this.store.keys()) {
      if (fresh.has(key)) continue;
      const old = this.store.delete(key);
      if (old) this.emitDelete(old, true);
    }
    for (const [key, item] of fresh) {
      const old = this.store.get(key);
      if (old && sameUid(old, item) && old.metadata.resourceVersion === item.metadata.resourceVersion)
        continue;
      this.upsert(old, this.prepare(item));
    }
    if (!this.synced) {
      this.synced = true;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  private apply(event: WatchEvent<T>): void {
    const key = objectKey(event.object);
    const old = this.store.get(key);
    if (event.type === "DELETED") {
      if (!old) return; // never cached, as client-go's DeltaFIFO ignores it
      this.store.delete(key);
      this.emitDelete(this.prepare(event.object), false);
      return;
    }
    // A replayed event for a version already cached (possible right after a relist) is not news.
    if (
      old &&
      sameUid(old, event.object) &&
      old.metadata.resourceVersion === event.object.metadata.resourceVersion
    )
      return;
    this.upsert(old, this.prepare(event.object));
  }

  private upsert(old: T | undefined, obj: T): void {
    if (old && !sameUid(old, obj)) {
      // Same name, new object: the delete in between was missed. Report it as such, so
      // per-object state keyed by UID is torn down rather than silently carried over.
      this.store.delete(objectKey(old));
      this.emitDelete(old, true);
      old = undefined;
    }
    this.store.set(obj);
    if (old) this.emit("onUpdate", (h) => h.onUpdate?.(old, obj));
    else this.emit("onAdd", (h) => h.onAdd?.(obj));
  }

  private emitDelete(obj: T, finalStateUnknown: boolean): void {
    const info: DeleteInfo = { finalStateUnknown };
    this.emit("onDelete", (h) => h.onDelete?.(obj, info));
  }

  private emit(what: string, fn: (h: EventHandler<T>) => void): void {
    for (const h of this.handlers) this.call(what, () => fn(h));
  }

  // One failing handler must neither stop the informer nor starve the others.
  private call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err, informer: this.name, handler: what }, "event handler threw");
    }
  }
}

function sameUid(a: KubeObject, b: KubeObject): boolean {
  const x = a.metadata.uid;
  const y = b.metadata.uid;
  return !x || !y || x === y;
}

function deepFreeze<V>(v: V): V {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}
