// Writes go to etcd in transactions guarded by mod_revision (optimistic concurrency);
// reads come from the watch cache once it has caught up with this server's own writes.
import type { EtcdClient, LeaseId, Op } from "../../etcd/client.ts";
import { type CachedObject, copyOf, type WatchCache } from "./watch-cache.ts";

export type WriteResult = { ok: true; rv: number; object: any } | { ok: false; current?: CachedObject };

/** Serialises an object for etcd: resourceVersion is derived from mod_revision, never stored. */
function encode(obj: any): string {
  const rv = obj.metadata?.resourceVersion;
  if (rv === undefined) return JSON.stringify(obj);
  obj.metadata.resourceVersion = undefined;
  try {
    return JSON.stringify(obj);
  } finally {
    obj.metadata.resourceVersion = rv;
  }
}

function withRv(obj: any, rv: number): any {
  obj.metadata.resourceVersion = String(rv);
  return obj;
}

export class Store {
  readonly etcd: EtcdClient;
  readonly cache: WatchCache;

  constructor(etcd: EtcdClient, cache: WatchCache) {
    this.etcd = etcd;
    this.cache = cache;
  }

  async get(prefix: string, key: string): Promise<CachedObject | undefined> {
    await this.cache.fresh();
    return this.cache.bucket(prefix).items.get(key);
  }

  /** Current value straight from etcd (used to refresh after a lost race). */
  async getFromEtcd(prefix: string, key: string): Promise<CachedObject | undefined> {
    const kv = await this.etcd.get(key);
    if (!kv) return undefined;
    this.cache.observe(kv.modRevision);
    const obj = JSON.parse(kv.value.toString());
    obj.metadata.resourceVersion = String(kv.modRevision);
    const bucket = this.cache.bucket(prefix);
    return {
      key,
      raw: JSON.stringify(obj),
      rv: kv.modRevision,
      namespace: obj.metadata.namespace ?? "",
      name: obj.metadata.name ?? "",
      labels: obj.metadata.labels ?? {},
      fields: bucket.fieldsFn(obj),
      parsed: obj,
    };
  }

  /** Creates `key`; fails (ok: false) when it exists. `extra` ops commit atomically with it. */
  async create(
    key: string,
    obj: any,
    extra: Op[] = [],
    extraCompares: { key: string }[] = [],
    lease?: LeaseId,
  ): Promise<WriteResult> {
    const r = await this.etcd.txn(
      [
        { key, target: "CREATE", createRevision: 0 },
        ...extraCompares.map((c) => ({ key: c.key, target: "CREATE" as const, createRevision: 0 })),
      ],
      [{ put: { key, value: encode(obj), lease } }, ...extra],
    );
    this.cache.observe(r.revision);
    if (!r.succeeded) return { ok: false };
    return { ok: true, rv: r.revision, object: withRv(obj, r.revision) };
  }

  /** Replaces `key` if its mod_revision is still `expectedRv`. */
  async update(
    prefix: string,
    key: string,
    obj: any,
    expectedRv: number,
    extra: Op[] = [],
    lease?: LeaseId,
  ): Promise<WriteResult> {
    const r = await this.etcd.txn(
      [{ key, target: "MOD", modRevision: expectedRv }],
      [{ put: { key, value: encode(obj), lease } }, ...extra],
      [{ range: { key } }],
    );
    this.cache.observe(r.revision);
    if (!r.succeeded) return { ok: false, current: await this.fromFailure(prefix, key, r.ranges[0]) };
    return { ok: true, rv: r.revision, object: withRv(obj, r.revision) };
  }

  /** Deletes `key` if its mod_revision is still `expectedRv`. */
  async delete(prefix: string, key: string, expectedRv: number, extra: Op[] = []): Promise<WriteResult> {
    const r = await this.etcd.txn(
      [{ key, target: "MOD", modRevision: expectedRv }],
      [{ deleteRange: { key } }, ...extra],
      [{ range: { key } }],
    );
    this.cache.observe(r.revision);
    if (!r.succeeded) return { ok: false, current: await this.fromFailure(prefix, key, r.ranges[0]) };
    return { ok: true, rv: r.revision, object: undefined };
  }

  private async fromFailure(prefix: string, key: string, kvs: unknown): Promise<CachedObject | undefined> {
    if (Array.isArray(kvs) && kvs.length === 0) return undefined;
    return this.getFromEtcd(prefix, key);
  }

  /**
   * Read-modify-write with retries on conflict. `mutate` gets a private copy of the current
   * object (or undefined) and returns the new object, `null` to delete, or undefined for no change.
   */
  async guaranteedUpdate(
    prefix: string,
    key: string,
    mutate: (cur: any | undefined, rv: number) => Promise<any | null | undefined> | any | null | undefined,
  ): Promise<{ object: any | undefined; rv: number; changed: boolean }> {
    let cur = await this.get(prefix, key);
    for (let attempt = 0; ; attempt++) {
      const copy = cur ? copyOf(cur) : undefined;
      const next = await mutate(copy, cur?.rv ?? 0);
      if (next === undefined) return { object: copy, rv: cur?.rv ?? 0, changed: false };
      let res: WriteResult;
      if (!cur) {
        if (next === null) return { object: undefined, rv: 0, changed: false };
        res = await this.create(key, next);
        if (!res.ok) {
          cur = await this.getFromEtcd(prefix, key);
          continue;
        }
      } else if (next === null) {
        res = await this.delete(prefix, key, cur.rv);
      } else {
        res = await this.update(prefix, key, next, cur.rv);
      }
      if (res.ok) return { object: res.object ?? copy, rv: res.rv, changed: true };
      if (attempt > 50) throw new Error(`guaranteedUpdate of ${key}: too many conflicts`);
      cur = res.current;
    }
  }
}
