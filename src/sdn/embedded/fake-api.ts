// Test support only: an in-memory API server for the embedded backend's resources. Names are
// claimed atomically (409 AlreadyExists), updates are guarded by resourceVersion (409
// Conflict), deletes by UID preconditions, the status subresource is separate from the main
// resource; list + watch feed real informers, each view with its own watch delay so two
// "replicas" can see the world late and differently.
import { randomUUID } from "node:crypto";
import { KubeApiError } from "../../kube/errors.ts";
import type { InformerScope, ListerWatcherSource } from "../../kube/informer-factory.ts";
import type { ListerWatcher } from "../../kube/list-watch.ts";
import { formatTime, type KubeList, type KubeObject, type WatchEvent } from "../../kube/objects.ts";
import { type ApiResource, resourcePath } from "../../kube/resource.ts";
import type { CrClient } from "./store.ts";

interface Stored {
  plural: string;
  rv: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  obj: KubeObject;
}

interface Watcher {
  plural: string;
  namespace: string | undefined;
  delayMs: number;
  onEvent: (e: WatchEvent) => void;
}

export interface FakeApiOptions {
  /** Plurals served with a status subresource. Default: loadbalancers (as the CRDs say). */
  statusSubresources?: string[];
  /** Watch delay of `listerWatcher` (views may set their own). Default 0. */
  watchDelayMs?: number;
}

export interface WriteRecord {
  verb: "create" | "update" | "patch" | "delete";
  plural: string;
  key: string;
  ok: boolean;
}

const keyOf = (ns: string | undefined, name: string) => (ns ? `${ns}/${name}` : name);

function fail(method: string, path: string, code: number, reason: string, message: string): KubeApiError {
  return new KubeApiError(method, path, { kind: "Status", status: "Failure", code, reason, message });
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> =
    target && typeof target === "object" && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeApi implements CrClient, ListerWatcherSource {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: Stored[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly withStatus: Set<string>;
  private readonly watchDelayMs: number;
  private rv = 100;
  /** Every write attempt, in order. */
  readonly writes: WriteRecord[] = [];

  constructor(opts: FakeApiOptions = {}) {
    this.withStatus = new Set(opts.statusSubresources ?? ["loadbalancers", "ports"]);
    this.watchDelayMs = opts.watchDelayMs ?? 0;
  }

  /** A list/watch source whose watches deliver `watchDelayMs` late (a lagging replica). */
  view(watchDelayMs: number): ListerWatcherSource {
    return {
      listerWatcher: <T extends KubeObject>(res: ApiResource, scope: InformerScope) =>
        this.lw(res, scope, watchDelayMs) as unknown as ListerWatcher<T>,
    };
  }

  listerWatcher<T extends KubeObject>(res: ApiResource, scope: InformerScope = {}): ListerWatcher<T> {
    return this.lw(res, scope, this.watchDelayMs) as unknown as ListerWatcher<T>;
  }

  /** Objects of a resource as stored (copies). */
  all(res: ApiResource): KubeObject[] {
    return [...this.table(res.plural).values()].map((o) => structuredClone(o));
  }

  /** Puts an object in place as if someone else had created it. */
  seed(res: ApiResource, obj: KubeObject): KubeObject {
    const stored = this.stamp(structuredClone(obj));
    this.table(res.plural).set(keyOf(stored.metadata.namespace, stored.metadata.name!), stored);
    this.emit(res.plural, "ADDED", stored);
    return structuredClone(stored);
  }

  async get(res: ApiResource, namespace: string, name: string): Promise<KubeObject> {
    await tick();
    const obj = this.table(res.plural).get(keyOf(res.namespaced ? namespace : undefined, name));
    if (!obj) throw this.notFound("GET", res, namespace, name);
    return structuredClone(obj);
  }

  async create(res: ApiResource, obj: KubeObject): Promise<KubeObject> {
    await tick();
    const ns = res.namespaced ? obj.metadata.namespace : undefined;
    const name = obj.metadata.name!;
    const key = keyOf(ns, name);
    const table = this.table(res.plural);
    if (table.has(key)) {
      this.writes.push({ verb: "create", plural: res.plural, key, ok: false });
      throw fail(
        "POST",
        resourcePath(res, { namespace: ns }),
        409,
        "AlreadyExists",
        `${res.plural}.${res.group} "${name}" already exists`,
      );
    }
    const stored = structuredClone(obj);
    if (this.withStatus.has(res.plural)) delete stored.status;
    this.stamp(stored);
    table.set(key, stored);
    this.writes.push({ verb: "create", plural: res.plural, key, ok: true });
    this.emit(res.plural, "ADDED", stored);
    return structuredClone(stored);
  }

  async update(res: ApiResource, obj: KubeObject): Promise<KubeObject> {
    await tick();
    const ns = res.namespaced ? obj.metadata.namespace : undefined;
    const key = keyOf(ns, obj.metadata.name!);
    const old = this.table(res.plural).get(key);
    const path = resourcePath(res, { namespace: ns, name: obj.metadata.name });
    if (!old) {
      this.writes.push({ verb: "update", plural: res.plural, key, ok: false });
      throw this.notFound("PUT", res, ns ?? "", obj.metadata.name!);
    }
    if (obj.metadata.resourceVersion !== old.metadata.resourceVersion) {
      this.writes.push({ verb: "update", plural: res.plural, key, ok: false });
      throw fail(
        "PUT",
        path,
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${res.plural}.${res.group} "${obj.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const next = structuredClone(obj);
    if (this.withStatus.has(res.plural)) next.status = structuredClone(old.status);
    return this.replace(res, key, old, next, "update");
  }

  async patch(
    res: ApiResource,
    namespace: string,
    name: string,
    patchType: "merge",
    body: unknown,
    opts: { subresource?: string } = {},
  ): Promise<KubeObject> {
    await tick();
    if (patchType !== "merge") throw new Error(`the fake API only does merge patches, not ${patchType}`);
    const key = keyOf(res.namespaced ? namespace : undefined, name);
    const old = this.table(res.plural).get(key);
    if (!old) {
      this.writes.push({ verb: "patch", plural: res.plural, key, ok: false });
      throw this.notFound("PATCH", res, namespace, name);
    }
    const patched = mergePatch(old, body) as KubeObject;
    const next = structuredClone(old);
    if (opts.subresource === "status") next.status = patched.status;
    else {
      Object.assign(next, patched, { metadata: { ...patched.metadata, ...identity(old) } });
      if (this.withStatus.has(res.plural)) next.status = structuredClone(old.status);
    }
    return this.replace(res, key, old, next, "patch");
  }

  async delete(
    res: ApiResource,
    namespace: string,
    name: string,
    opts: { preconditions?: { uid?: string } } = {},
  ): Promise<unknown> {
    await tick();
    const key = keyOf(res.namespaced ? namespace : undefined, name);
    const table = this.table(res.plural);
    const old = table.get(key);
    if (!old) {
      this.writes.push({ verb: "delete", plural: res.plural, key, ok: false });
      throw this.notFound("DELETE", res, namespace, name);
    }
    const uid = opts.preconditions?.uid;
    if (uid && uid !== old.metadata.uid) {
      this.writes.push({ verb: "delete", plural: res.plural, key, ok: false });
      throw fail(
        "DELETE",
        resourcePath(res, { namespace, name }),
        409,
        "Conflict",
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    table.delete(key);
    this.writes.push({ verb: "delete", plural: res.plural, key, ok: true });
    const gone = structuredClone(old);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit(res.plural, "DELETED", gone);
    return structuredClone(old);
  }

  private replace(
    res: ApiResource,
    key: string,
    old: KubeObject,
    next: KubeObject,
    verb: "update" | "patch",
  ): KubeObject {
    next.metadata = { ...next.metadata, ...identity(old), resourceVersion: String(++this.rv) };
    this.table(res.plural).set(key, next);
    this.writes.push({ verb, plural: res.plural, key, ok: true });
    this.emit(res.plural, "MODIFIED", next);
    return structuredClone(next);
  }

  private lw(res: ApiResource, scope: InformerScope, delayMs: number): ListerWatcher {
    const ns = res.namespaced ? scope.namespace || undefined : undefined;
    return {
      list: async () => {
        await tick();
        const items = [...this.table(res.plural).values()]
          .filter((o) => !ns || o.metadata.namespace === ns)
          .map((o) => structuredClone(o));
        const list: KubeList = {
          apiVersion: `${res.group}/${res.version}`,
          kind: "List",
          metadata: { resourceVersion: String(this.rv) },
          items,
        };
        return list;
      },
      watch: (opts, onEvent, signal) => {
        const from = Number(opts.resourceVersion ?? 0);
        const w: Watcher = { plural: res.plural, namespace: ns, delayMs, onEvent };
        for (const s of this.history) if (s.rv > from) this.deliver(w, s);
        this.watchers.add(w);
        return new Promise<void>((resolve) => {
          const end = () => {
            this.watchers.delete(w);
            resolve();
          };
          if (signal.aborted) end();
          else signal.addEventListener("abort", end, { once: true });
        });
      },
    };
  }

  private emit(plural: string, type: Stored["type"], obj: KubeObject): void {
    const s: Stored = { plural, rv: Number(obj.metadata.resourceVersion), type, obj: structuredClone(obj) };
    this.history.push(s);
    for (const w of this.watchers) this.deliver(w, s);
  }

  private deliver(w: Watcher, s: Stored): void {
    if (s.plural !== w.plural) return;
    if (w.namespace && s.obj.metadata.namespace !== w.namespace) return;
    // Equal delays keep their order (Node runs timers of one duration first in, first out).
    setTimeout(() => {
      if (this.watchers.has(w)) w.onEvent({ type: s.type, object: structuredClone(s.obj) });
    }, w.delayMs);
  }

  private stamp(obj: KubeObject): KubeObject {
    obj.metadata.uid ??= randomUUID();
    obj.metadata.resourceVersion = String(++this.rv);
    obj.metadata.creationTimestamp ??= formatTime();
    obj.metadata.generation ??= 1;
    return obj;
  }

  private table(plural: string): Map<string, KubeObject> {
    let t = this.objects.get(plural);
    if (!t) {
      t = new Map();
      this.objects.set(plural, t);
    }
    return t;
  }

  private notFound(method: string, res: ApiResource, namespace: string, name: string): KubeApiError {
    return fail(
      method,
      resourcePath(res, { namespace: res.namespaced ? namespace : undefined, name }),
      404,
      "NotFound",
      `${res.plural}.${res.group} "${name}" not found`,
    );
  }
}

/** The metadata a write cannot change. */
function identity(old: KubeObject) {
  const { uid, name, namespace, creationTimestamp } = old.metadata;
  return { uid, name, namespace, creationTimestamp };
}

// Lets other calls in flight run first, as a round trip to a real server would.
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
