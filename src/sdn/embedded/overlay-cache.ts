// An informer's cache with this process's own recent writes laid over it, so a read right
// after a write sees the write before its watch event arrives (client-go's MutationCache).
// An entry gives way as soon as the informer holds the same or a newer version of the object;
// versions are compared as integers, as etcd-backed API servers issue them. Entries also
// expire, so an entry the informer never confirms (its event was folded into a relist) cannot
// shadow the truth for long.
//
// Correctness never rests on this cache: every claim is an atomic create on the server. The
// overlay only saves the retries a stale read would cost, and gives read-your-writes.
import type { SharedInformer } from "../../kube/informer.ts";
import { type KubeObject, objectKey } from "../../kube/objects.ts";
import type { IndexFunc } from "../../kube/store.ts";

interface Entry<T> {
  /** Undefined for a deletion. */
  obj: T | undefined;
  uid: string | undefined;
  rv: string | undefined;
  at: number;
}

export interface OverlayOptions {
  /** How long an unconfirmed entry lives. Default 60 s. */
  ttlMs?: number;
  now?: () => number;
}

/** Numeric comparison of resourceVersions; undefined when either is not an integer. */
export function compareVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export class OverlayCache<T extends KubeObject> {
  private readonly informer: SharedInformer<T>;
  private readonly indexers: Record<string, IndexFunc<T>>;
  private readonly entries = new Map<string, Entry<T>>();
  /**
   * Keys of the entries per index and value of the entry's object, so byIndex looks at the few
   * entries that can matter rather than at all of them (thousands during a cold start, with a
   * lookup per port created).
   */
  private readonly entryIndex = new Map<string, Map<string, Set<string>>>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(
    informer: SharedInformer<T>,
    indexers: Record<string, IndexFunc<T>>,
    opts: OverlayOptions = {},
  ) {
    this.informer = informer;
    this.indexers = indexers;
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Drops entries as the informer catches up; answers the function that detaches it. */
  attach(): () => void {
    return this.informer.addEventHandler({
      onAdd: (obj) => this.confirm(obj),
      onUpdate: (_old, obj) => this.confirm(obj),
      onDelete: (obj) => {
        const key = objectKey(obj);
        const e = this.entries.get(key);
        if (e && (!e.uid || !obj.metadata.uid || e.uid === obj.metadata.uid)) this.drop(key);
      },
    });
  }

  /** Records an object as the server just answered it (create, update, patch or get). */
  observe(obj: T): void {
    const key = objectKey(obj);
    const e = this.entries.get(key);
    // Never replace a newer entry with an older answer (two writes may finish out of order).
    if (e && e.uid === obj.metadata.uid && (compareVersions(e.rv, obj.metadata.resourceVersion) ?? 0) > 0)
      return;
    this.put(key, {
      obj,
      uid: obj.metadata.uid,
      rv: obj.metadata.resourceVersion,
      at: this.now(),
    });
  }

  /** Records a deletion of `obj` (the last version known of it). */
  observeDelete(obj: T): void {
    this.put(objectKey(obj), {
      obj: undefined,
      uid: obj.metadata.uid,
      rv: obj.metadata.resourceVersion,
      at: this.now(),
    });
  }

  get(key: string): T | undefined {
    const e = this.entry(key);
    return e ? e.obj : this.informer.get(key);
  }

  list(): T[] {
    this.sweep();
    const out = new Map<string, T>();
    for (const obj of this.informer.list()) out.set(objectKey(obj), obj);
    for (const key of [...this.entries.keys()]) {
      const e = this.entry(key);
      if (!e) continue;
      if (e.obj) out.set(key, e.obj);
      else out.delete(key);
    }
    return [...out.values()];
  }

  byIndex(name: string, value: string): T[] {
    this.sweep();
    const fn = this.indexers[name];
    if (!fn) throw new Error(`index ${name} does not exist`);
    const out = new Map<string, T>();
    // The entries that matter: those over an object the informer files under `value` (they may
    // move it elsewhere or delete it) and those whose own object is filed under it.
    const keys = new Set(this.entryIndex.get(name)?.get(value));
    for (const obj of this.informer.byIndex(name, value)) {
      const key = objectKey(obj);
      out.set(key, obj);
      if (this.entries.has(key)) keys.add(key);
    }
    for (const key of keys) {
      const e = this.entry(key);
      if (!e) continue;
      if (e.obj && fn(e.obj).includes(value)) out.set(key, e.obj);
      else out.delete(key);
    }
    return [...out.values()];
  }

  /** Unconfirmed entries (for tests and metrics). */
  get pending(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.entryIndex.clear();
  }

  private put(key: string, e: Entry<T>): void {
    this.drop(key);
    this.entries.set(key, e);
    this.indexEntry(key, e, true);
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.indexEntry(key, e, false);
  }

  /** Files `key` under (or removes it from) the index values of the entry's object. */
  private indexEntry(key: string, e: Entry<T>, add: boolean): void {
    if (!e.obj) return;
    for (const [name, fn] of Object.entries(this.indexers)) {
      let byValue = this.entryIndex.get(name);
      if (!byValue) {
        byValue = new Map();
        this.entryIndex.set(name, byValue);
      }
      for (const value of fn(e.obj)) {
        let keys = byValue.get(value);
        if (add) {
          if (!keys) {
            keys = new Set();
            byValue.set(value, keys);
          }
          keys.add(key);
        } else if (keys) {
          keys.delete(key);
          if (!keys.size) byValue.delete(value);
        }
      }
    }
  }

  private confirm(obj: T): void {
    const key = objectKey(obj);
    const e = this.entries.get(key);
    if (e && this.superseded(e, obj)) this.drop(key);
  }

  /** The entry for `key` if it still stands over what the informer holds. */
  private entry(key: string): Entry<T> | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const cached = this.informer.get(key);
    if (this.now() - e.at > this.ttlMs || (cached && this.superseded(e, cached))) {
      this.drop(key);
      return undefined;
    }
    return e;
  }

  private superseded(e: Entry<T>, cached: T): boolean {
    const cmp = compareVersions(cached.metadata.resourceVersion, e.rv);
    if (cmp === undefined) {
      // Opaque versions: the same version confirms a write; another object ends a deletion.
      return e.obj ? cached.metadata.resourceVersion === e.rv : cached.metadata.uid !== e.uid;
    }
    // A write is confirmed by its own version; a deletion only by a newer object.
    return e.obj ? cmp >= 0 : cmp > 0;
  }

  /** Drops expired entries; at most once a second, as it walks them all. */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < 1000 && now >= this.lastSweep) return;
    this.lastSweep = now;
    for (const [key, e] of this.entries) if (now - e.at > this.ttlMs) this.drop(key);
  }
}
