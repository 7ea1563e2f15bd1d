// The API server's view of etcd: every object under /registry/, kept current by one etcd
// watch, plus a bounded history of events per resource so watches can resume from a
// resourceVersion. Objects are held as the final JSON text (with resourceVersion set), so
// lists and watch events are string concatenation rather than re-serialisation.
import { ETCD_COMPACTED, type EtcdClient, EtcdError, type KeyValue, prefixEnd } from "../../etcd/client.ts";

export const REGISTRY_PREFIX = "/registry/";

/** One stored object as the cache holds it. */
export interface CachedObject {
  key: string;
  /** JSON text of the object with metadata.resourceVersion filled in. */
  raw: string;
  rv: number;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Field-selectable values (metadata.name, metadata.namespace, spec.nodeName, ...). */
  fields: Record<string, string>;
  /** Parsed object, created on demand and dropped when memory matters (never mutate). */
  parsed?: any;
}

export interface CacheEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  rv: number;
  /** The new state (for DELETED: the last state, with rv set to the deletion revision). */
  object: CachedObject;
  prev?: CachedObject;
}

export type FieldsFn = (obj: any) => Record<string, string>;

/** Subscriber of one bucket's events; called synchronously in revision order. */
export type CacheListener = (ev: CacheEvent) => void;

const HISTORY_LIMIT = 10_000;

/** Objects and recent history of one storage prefix (one resource). */
export class Bucket {
  readonly prefix: string;
  readonly items = new Map<string, CachedObject>();
  private history: CacheEvent[] = [];
  private historyHead = 0;
  /** Every event with rv > historyStart is in `history`. */
  historyStart: number;
  readonly listeners = new Set<CacheListener>();
  fieldsFn: FieldsFn;

  constructor(prefix: string, startRevision: number, fieldsFn: FieldsFn) {
    this.prefix = prefix;
    this.historyStart = startRevision;
    this.fieldsFn = fieldsFn;
  }

  /** Events with rv > after, in order; undefined when history no longer reaches back that far. */
  eventsSince(after: number): CacheEvent[] | undefined {
    if (after < this.historyStart) return undefined;
    const out: CacheEvent[] = [];
    for (let i = this.historyHead; i < this.history.length; i++) {
      const ev = this.history[i];
      if (ev.rv > after) out.push(ev);
    }
    return out;
  }

  record(ev: CacheEvent): void {
    this.history.push(ev);
    if (this.history.length - this.historyHead > HISTORY_LIMIT) {
      this.historyStart = this.history[this.historyHead].rv;
      this.historyHead++;
      // Compact the array now and then instead of shifting on every event.
      if (this.historyHead > HISTORY_LIMIT / 2) {
        this.history = this.history.slice(this.historyHead);
        this.historyHead = 0;
      }
    }
    for (const l of this.listeners) l(ev);
  }

  /** Items sorted by etcd key, as etcd (and so the real apiserver) lists them. */
  sorted(): CachedObject[] {
    return [...this.items.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

export function decodeObject(kv: KeyValue, rv: number, fieldsFn: FieldsFn): CachedObject {
  const obj = JSON.parse(kv.value.toString());
  obj.metadata ??= {};
  obj.metadata.resourceVersion = String(rv);
  return makeCached(kv.key, obj, rv, fieldsFn);
}

export function makeCached(key: string, obj: any, rv: number, fieldsFn: FieldsFn): CachedObject {
  const meta = obj.metadata ?? {};
  return {
    key,
    raw: JSON.stringify(obj),
    rv,
    namespace: meta.namespace ?? "",
    name: meta.name ?? "",
    labels: meta.labels ?? {},
    fields: fieldsFn(obj),
  };
}

/** A private, mutable copy of a cached object (parsing the JSON text beats cloning the parsed object). */
export function copyOf(o: CachedObject): any {
  return JSON.parse(o.raw);
}

export function parsedOf(o: CachedObject): any {
  // Parsing on demand keeps memory lean; callers must treat the result as read-only.
  o.parsed ??= JSON.parse(o.raw);
  return o.parsed;
}

/** The bucket prefix of a key: /registry/<plural>/ or /registry/<group>/<plural>/. */
export type PrefixResolver = (key: string) => string | undefined;

export interface WatchCacheOptions {
  etcd: EtcdClient;
  resolvePrefix: PrefixResolver;
  fieldsFor: (prefix: string) => FieldsFn;
  onFatal: (err: Error) => void;
}

export class WatchCache {
  private readonly etcd: EtcdClient;
  private readonly buckets = new Map<string, Bucket>();
  private readonly resolvePrefix: PrefixResolver;
  private readonly fieldsFor: (prefix: string) => FieldsFn;
  private readonly onFatal: (err: Error) => void;
  /** Highest revision applied to the cache. */
  revision = 0;
  /** Highest revision this server knows exists (from its own writes and etcd replies). */
  private knownRevision = 0;
  private waiters: { rv: number; resolve: () => void }[] = [];
  private readonly abort = new AbortController();
  /** Listeners for every event of every bucket (used by in-server hooks such as CRD serving). */
  readonly globalListeners = new Set<(prefix: string, ev: CacheEvent) => void>();

  constructor(opts: WatchCacheOptions) {
    this.etcd = opts.etcd;
    this.resolvePrefix = opts.resolvePrefix;
    this.fieldsFor = opts.fieldsFor;
    this.onFatal = opts.onFatal;
  }

  /** Loads everything under /registry/ and starts following etcd. */
  async start(): Promise<void> {
    const end = prefixEnd(REGISTRY_PREFIX);
    let key = REGISTRY_PREFIX;
    let revision = 0;
    const kvs: KeyValue[] = [];
    for (;;) {
      const page = await this.etcd.range(key, { end, limit: 1000, revision: revision || undefined });
      if (!revision) revision = page.revision;
      kvs.push(...page.kvs);
      if (!page.more || page.kvs.length === 0) break;
      key = `${page.kvs[page.kvs.length - 1].key}\0`;
    }
    this.revision = revision;
    this.knownRevision = revision;
    this.load(kvs);
    void this.follow(revision + 1);
  }

  /** Applies an initial snapshot; definitions (CRDs) must be registered by the caller first. */
  private load(kvs: KeyValue[]): void {
    for (const kv of kvs) {
      const prefix = this.resolvePrefix(kv.key);
      if (!prefix) continue;
      const bucket = this.bucket(prefix);
      bucket.items.set(kv.key, decodeObject(kv, kv.modRevision, bucket.fieldsFn));
    }
  }

  /** Raw snapshot access used at start-up to discover CRDs before other buckets are built. */
  async preload(prefix: string): Promise<any[]> {
    const r = await this.etcd.range(prefix, { end: prefixEnd(prefix) });
    return r.kvs.map((kv) => JSON.parse(kv.value.toString()));
  }

  private async follow(from: number): Promise<void> {
    let start = from;
    let delay = 100;
    while (!this.abort.signal.aborted) {
      try {
        await this.etcd.watch(
          REGISTRY_PREFIX,
          prefixEnd(REGISTRY_PREFIX),
          start,
          (batch) => {
            for (const ev of batch.events) this.apply(ev.type, ev.kv, ev.prevKv);
            const rev = batch.events.length
              ? batch.events[batch.events.length - 1].kv.modRevision
              : batch.revision;
            if (rev > this.revision) this.revision = rev;
            start = this.revision + 1;
            delay = 100;
            this.wake();
          },
          this.abort.signal,
        );
      } catch (err) {
        if (this.abort.signal.aborted) return;
        if (err instanceof EtcdError && err.code === ETCD_COMPACTED) {
          // History we never saw is gone: the cache can no longer be made exact.
          this.onFatal(new Error(`watch cache fell behind etcd compaction: ${err.message}`));
          return;
        }
      }
      if (this.abort.signal.aborted) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }

  private apply(type: "PUT" | "DELETE", kv: KeyValue, prevKv?: KeyValue): void {
    const prefix = this.resolvePrefix(kv.key);
    if (!prefix) return;
    const bucket = this.bucket(prefix);
    const prev = bucket.items.get(kv.key);
    let ev: CacheEvent;
    if (type === "PUT") {
      const cur = decodeObject(kv, kv.modRevision, bucket.fieldsFn);
      bucket.items.set(kv.key, cur);
      ev = { type: prev ? "MODIFIED" : "ADDED", rv: kv.modRevision, object: cur, prev };
    } else {
      const last = prev ?? (prevKv ? decodeObject(prevKv, prevKv.modRevision, bucket.fieldsFn) : undefined);
      bucket.items.delete(kv.key);
      if (!last) return;
      // A DELETED event carries the last state with the deletion's revision, as upstream does.
      const obj = JSON.parse(last.raw);
      obj.metadata.resourceVersion = String(kv.modRevision);
      const gone = makeCached(kv.key, obj, kv.modRevision, bucket.fieldsFn);
      ev = { type: "DELETED", rv: kv.modRevision, object: gone, prev: last };
    }
    bucket.record(ev);
    for (const l of this.globalListeners) l(prefix, ev);
  }

  bucket(prefix: string): Bucket {
    let b = this.buckets.get(prefix);
    if (!b) {
      b = new Bucket(prefix, this.revision, this.fieldsFor(prefix));
      this.buckets.set(prefix, b);
    }
    return b;
  }

  /** Drops a bucket's items (used when a CRD and all its objects are gone). */
  dropBucket(prefix: string): void {
    this.buckets.delete(prefix);
  }

  /** Records a revision the server knows to exist (e.g. the result of its own write). */
  observe(rv: number): void {
    if (rv > this.knownRevision) this.knownRevision = rv;
  }

  /** Resolves once the cache has applied every revision this server knows about (read-your-writes). */
  async fresh(timeoutMs = 10_000): Promise<void> {
    return this.waitFor(this.knownRevision, timeoutMs);
  }

  async waitFor(rv: number, timeoutMs = 10_000): Promise<void> {
    if (this.revision >= rv) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(`timed out waiting for the watch cache to reach revision ${rv} (at ${this.revision})`),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ rv, resolve: done });
    });
  }

  private wake(): void {
    if (!this.waiters.length) return;
    const ready = this.waiters.filter((w) => w.rv <= this.revision);
    if (!ready.length) return;
    this.waiters = this.waiters.filter((w) => w.rv > this.revision);
    for (const w of ready) w.resolve();
  }

  stop(): void {
    this.abort.abort();
  }
}
