// LIST (with selectors and limit/continue pagination) and WATCH (replay from a
// resourceVersion, selector-aware ADDED/DELETED transitions, bookmarks, 410 when too old).
import {
  type FieldRequirement,
  FieldSelectorError,
  matchesFields,
  parseFieldSelector,
} from "../../kube/fields.ts";
import { matches, parseSelector, type Requirement, SelectorError } from "../../kube/labels.ts";
import { ETCD_COMPACTED, EtcdError, prefixEnd } from "../etcd/client.ts";
import { ApiError, errBadRequest, errGone } from "./errors.ts";
import type { Store } from "./storage/store.ts";
import { type CachedObject, type CacheEvent, decodeObject } from "./storage/watch-cache.ts";
import { type ResourceDef, storagePrefix } from "./types.ts";

export interface ListQuery {
  namespace: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface Filter {
  namespace: string;
  labels: Requirement[];
  fields: FieldRequirement[];
}

export interface ListResult {
  items: CachedObject[];
  resourceVersion: number;
  continue?: string;
  remainingItemCount?: number;
}

const BASE_FIELDS = ["metadata.name", "metadata.namespace"];

export function compileFilter(
  def: ResourceDef,
  q: { namespace: string; labelSelector?: string; fieldSelector?: string },
  sample: (def: ResourceDef) => string[],
): Filter {
  let labels: Requirement[] = [];
  let fields: FieldRequirement[] = [];
  try {
    labels = parseSelector(q.labelSelector ?? "");
  } catch (e) {
    if (e instanceof SelectorError)
      throw errBadRequest(
        `unable to parse requirement: ${e.message.replace(/^unable to parse requirement: /, "")}`,
      );
    throw e;
  }
  try {
    fields = parseFieldSelector(q.fieldSelector ?? "");
  } catch (e) {
    if (e instanceof FieldSelectorError) throw errBadRequest(e.message);
    throw e;
  }
  const allowed = new Set([...BASE_FIELDS, ...sample(def)]);
  for (const f of fields)
    if (!allowed.has(f.field)) throw errBadRequest(`field label not supported: ${f.field}`);
  return { namespace: q.namespace, labels, fields };
}

export function passes(f: Filter, o: CachedObject): boolean {
  if (f.namespace && o.namespace !== f.namespace) return false;
  if (f.labels.length && !matches(f.labels, o.labels)) return false;
  if (
    f.fields.length &&
    !matchesFields(f.fields, { "metadata.name": o.name, "metadata.namespace": o.namespace, ...o.fields })
  )
    return false;
  return true;
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: t.rv, start: t.start })).toString("base64url");
}

function decodeContinue(s: string): ContinueToken {
  try {
    const j = JSON.parse(Buffer.from(s, "base64url").toString());
    if (j.v !== "meta.k8s.io/v1" || typeof j.rv !== "number" || typeof j.start !== "string")
      throw new Error();
    return { rv: j.rv, start: j.start };
  } catch {
    throw errBadRequest(
      "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
    );
  }
}

export async function list(
  store: Store,
  def: ResourceDef,
  filter: Filter,
  q: ListQuery,
): Promise<ListResult> {
  const prefix = storagePrefix(def);
  const limit = q.limit && q.limit > 0 ? q.limit : 0;
  if (q.continue) return listFromEtcd(store, def, filter, decodeContinue(q.continue), limit);
  const rv = q.resourceVersion ? Number(q.resourceVersion) : Number.NaN;
  if (q.resourceVersion && (!Number.isInteger(rv) || rv < 0))
    throw errBadRequest(
      `Invalid value: "${q.resourceVersion}": resourceVersion must be a non-negative integer`,
    );
  if (q.resourceVersionMatch === "Exact" && rv > 0) {
    return listFromEtcd(store, def, filter, { rv, start: "" }, limit);
  }
  if (!q.resourceVersion) await store.cache.fresh();
  else if (rv > 0) await waitForRv(store, rv);
  // Synchronous from here on: the snapshot is exactly the cache at `revision`.
  const revision = store.cache.revision;
  const all = store.cache.bucket(prefix).sorted();
  const items: CachedObject[] = [];
  let i = 0;
  for (; i < all.length; i++) {
    if (!passes(filter, all[i])) continue;
    if (limit && items.length === limit) break;
    items.push(all[i]);
  }
  const out: ListResult = { items, resourceVersion: revision };
  if (limit && i < all.length) {
    const last = items[items.length - 1];
    out.continue = encodeContinue({ rv: revision, start: `${last.key.slice(prefix.length)}\0` });
    if (!filter.labels.length && !filter.fields.length && !filter.namespace)
      out.remainingItemCount = all.length - i;
  }
  return out;
}

async function waitForRv(store: Store, rv: number): Promise<void> {
  try {
    await store.cache.waitFor(rv, 3000);
  } catch {
    throw new ApiError(
      504,
      "Timeout",
      `Too large resource version: ${rv}, current: ${store.cache.revision}`,
      {
        causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
        retryAfterSeconds: 1,
      },
    );
  }
}

/** Continuation pages are read from etcd at the first page's revision, so the list is consistent. */
async function listFromEtcd(
  store: Store,
  def: ResourceDef,
  filter: Filter,
  tok: ContinueToken,
  limit: number,
): Promise<ListResult> {
  const prefix = storagePrefix(def);
  const end = prefixEnd(prefix);
  const fieldsFn = store.cache.bucket(prefix).fieldsFn;
  const items: CachedObject[] = [];
  let key = prefix + tok.start;
  let more = false;
  try {
    for (;;) {
      const page = await store.etcd.range(key, {
        end,
        revision: tok.rv,
        limit: limit ? Math.max(limit, 100) : 0,
      });
      for (const kv of page.kvs) {
        const o = decodeObject(kv, kv.modRevision, fieldsFn);
        if (!passes(filter, o)) continue;
        if (limit && items.length === limit) {
          more = true;
          break;
        }
        items.push(o);
      }
      if (more || !page.more || !page.kvs.length) break;
      key = `${page.kvs[page.kvs.length - 1].key}\0`;
    }
  } catch (e) {
    if (e instanceof EtcdError && e.code === ETCD_COMPACTED)
      throw errGone(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
      );
    throw e;
  }
  const out: ListResult = { items, resourceVersion: tok.rv };
  if (more)
    out.continue = encodeContinue({
      rv: tok.rv,
      start: `${items[items.length - 1].key.slice(prefix.length)}\0`,
    });
  return out;
}

// ---------------------------------------------------------------------------- watch

export interface WatchSink {
  /** Writes one event line; returns false when the client is too slow and must be dropped. */
  send(type: "ADDED" | "MODIFIED" | "DELETED", obj: CachedObject): boolean;
  bookmark(rv: number): void;
  error(status: ApiError): void;
  close(): void;
}

export interface WatchQuery {
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  sendInitialEvents?: boolean;
}

const BOOKMARK_INTERVAL_MS = 60_000;

/** Starts a watch; returns a stop function. Events are delivered synchronously in revision order. */
export async function watch(
  store: Store,
  def: ResourceDef,
  filter: Filter,
  q: WatchQuery,
  sink: WatchSink,
): Promise<() => void> {
  const bucket = store.cache.bucket(storagePrefix(def));
  const rvText = q.resourceVersion ?? "";
  const rv = rvText === "" ? 0 : Number(rvText);
  if (!Number.isInteger(rv) || rv < 0)
    throw errBadRequest(`Invalid value: "${rvText}": resourceVersion must be a non-negative integer`);
  if (rv === 0) await store.cache.fresh();
  else await waitForRv(store, rv);

  // From here to subscribing is synchronous, so no event can fall between replay and live.
  let replay: { type: "ADDED" | "MODIFIED" | "DELETED"; obj: CachedObject }[] = [];
  if (rv === 0 || q.sendInitialEvents) {
    for (const o of bucket.sorted()) if (passes(filter, o)) replay.push({ type: "ADDED", obj: o });
  } else {
    const events = bucket.eventsSince(rv);
    if (!events) {
      sink.error(errGone(`too old resource version: ${rv} (${bucket.historyStart})`));
      sink.close();
      return () => {};
    }
    replay = events.flatMap((ev) => {
      const t = transition(filter, ev);
      return t ? [{ type: t, obj: ev.object }] : [];
    });
  }
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];
  const stop = () => {
    if (stopped) return;
    stopped = true;
    bucket.listeners.delete(listener);
    for (const t of timers) clearTimeout(t);
    sink.close();
  };
  const listener = (ev: CacheEvent) => {
    if (stopped) return;
    const t = transition(filter, ev);
    if (t && !sink.send(t, ev.object)) stop();
  };
  bucket.listeners.add(listener);
  for (const r of replay) {
    if (!sink.send(r.type, r.obj)) {
      stop();
      return stop;
    }
  }
  if (q.sendInitialEvents && q.allowWatchBookmarks) sink.bookmark(store.cache.revision);
  if (q.allowWatchBookmarks) {
    const tick = () => {
      if (stopped) return;
      sink.bookmark(store.cache.revision);
      timers[0] = setTimeout(tick, BOOKMARK_INTERVAL_MS);
    };
    timers[0] = setTimeout(tick, BOOKMARK_INTERVAL_MS);
  }
  if (q.timeoutSeconds && q.timeoutSeconds > 0) timers.push(setTimeout(stop, q.timeoutSeconds * 1000));
  return stop;
}

/** What a filtered watcher sees of one event: objects moving in or out of the filter appear as ADDED/DELETED. */
function transition(filter: Filter, ev: CacheEvent): "ADDED" | "MODIFIED" | "DELETED" | undefined {
  const now = ev.type !== "DELETED" && passes(filter, ev.object);
  const before = ev.prev !== undefined && passes(filter, ev.prev);
  if (ev.type === "DELETED") return before ? "DELETED" : undefined;
  if (now && before) return "MODIFIED";
  if (now) return "ADDED";
  if (before) return "DELETED";
  return undefined;
}
