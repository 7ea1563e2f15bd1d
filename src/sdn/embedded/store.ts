// The embedded backend's view of its five custom resources: reads from shared informers (with
// this process's own writes laid over them), writes through the API. Everything the backend
// knows about the world goes through here.
import { isConflict, isNotFound } from "../../kube/errors.ts";
import type { EventHandler, SharedInformer } from "../../kube/informer.ts";
import type { InformerScope, SharedInformerFactory } from "../../kube/informer-factory.ts";
import type { KubeObject } from "../../kube/objects.ts";
import type { ApiResource } from "../../kube/resource.ts";
import type { IndexFunc } from "../../kube/store.ts";
import { OverlayCache } from "./overlay-cache.ts";
import { EMBEDDED_RESOURCES, type EmbeddedKind, OWNER_UID_LABEL } from "./resources.ts";
import type { FloatingIpCr, LoadBalancerCr, NetworkCr, PortCr, SubnetCr } from "./types.ts";

/** The part of KubeClient the backend uses (KubeClient satisfies it; tests pass a fake). */
export interface CrClient {
  get(res: ApiResource, namespace: string, name: string): Promise<KubeObject>;
  create(res: ApiResource, obj: KubeObject): Promise<KubeObject>;
  update(res: ApiResource, obj: KubeObject): Promise<KubeObject>;
  patch(
    res: ApiResource,
    namespace: string,
    name: string,
    patchType: "merge",
    body: unknown,
    opts?: { subresource?: string },
  ): Promise<KubeObject>;
  delete(
    res: ApiResource,
    namespace: string,
    name: string,
    opts?: { preconditions?: { uid?: string } },
  ): Promise<unknown>;
}

/** What informers are made from (SharedInformerFactory satisfies it). */
export type InformerSource = Pick<SharedInformerFactory, "informerFor" | "start">;

export interface CrOf {
  network: NetworkCr;
  subnet: SubnetCr;
  port: PortCr;
  loadBalancer: LoadBalancerCr;
  floatingIp: FloatingIpCr;
}

// Namespaced names, so they cannot clash with indexes other users of a shared informer add.
export const UID_INDEX = "raven.io/embedded-uid";
export const OWNER_INDEX = "raven.io/embedded-owner-uid";
export const NETWORK_INDEX = "raven.io/embedded-network-id";
export const SUBNET_INDEX = "raven.io/embedded-subnet-id";

const byUid: IndexFunc<KubeObject> = (o) => (o.metadata.uid ? [o.metadata.uid] : []);
const byOwner: IndexFunc<KubeObject> = (o) => {
  const uid = o.metadata.labels?.[OWNER_UID_LABEL];
  return uid ? [uid] : [];
};
const bySpec =
  (field: string): IndexFunc<KubeObject> =>
  (o) => {
    const v = o.spec?.[field];
    return typeof v === "string" && v ? [v] : [];
  };

const INDEXERS: Record<EmbeddedKind, Record<string, IndexFunc<KubeObject>>> = {
  network: { [UID_INDEX]: byUid, [OWNER_INDEX]: byOwner },
  subnet: { [UID_INDEX]: byUid, [OWNER_INDEX]: byOwner, [NETWORK_INDEX]: bySpec("networkId") },
  port: {
    [UID_INDEX]: byUid,
    [OWNER_INDEX]: byOwner,
    [NETWORK_INDEX]: bySpec("networkId"),
    [SUBNET_INDEX]: bySpec("subnetId"),
  },
  loadBalancer: { [UID_INDEX]: byUid, [OWNER_INDEX]: byOwner },
  floatingIp: { [UID_INDEX]: byUid, [OWNER_INDEX]: byOwner },
};

const KINDS = Object.keys(EMBEDDED_RESOURCES) as EmbeddedKind[];

/** The cache key of an object: `namespace/name`, or `name` when cluster-scoped. */
export const keyOf = (obj: KubeObject) =>
  obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name!;

export class EmbeddedStore {
  private readonly client: CrClient;
  private readonly informers = new Map<EmbeddedKind, SharedInformer>();
  private readonly caches = new Map<EmbeddedKind, OverlayCache<KubeObject>>();
  private readonly source: InformerSource;
  private readonly listeners = new Set<() => void>();
  private readonly detach: (() => void)[] = [];

  constructor(client: CrClient, source: InformerSource, scope: InformerScope = {}) {
    this.client = client;
    this.source = source;
    for (const kind of KINDS) {
      const informer = source.informerFor(EMBEDDED_RESOURCES[kind].res, scope);
      for (const [name, fn] of Object.entries(INDEXERS[kind])) {
        // A second backend over the same factory finds the indexes already there.
        try {
          informer.addIndexer(name, fn);
        } catch (err) {
          if (!/already exists/.test(String(err))) throw err;
        }
      }
      const cache = new OverlayCache(informer, INDEXERS[kind]);
      this.detach.push(cache.attach());
      this.detach.push(
        informer.addEventHandler({
          onAdd: () => this.changed(),
          onUpdate: (a, b) => {
            if (a !== b) this.changed();
          },
          onDelete: () => this.changed(),
        }),
      );
      this.informers.set(kind, informer);
      this.caches.set(kind, cache);
    }
  }

  /** Starts the informers and waits for their first lists; false if `signal` aborted first. */
  async start(signal: AbortSignal): Promise<boolean> {
    this.source.start(signal);
    const synced = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    return synced.every(Boolean);
  }

  stop(): void {
    for (const d of this.detach.splice(0)) d();
    for (const c of this.caches.values()) c.clear();
    this.listeners.clear();
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Hears about every object of `kind` the informer adds, updates or deletes (whoever wrote it). */
  addHandler<K extends EmbeddedKind>(kind: K, handler: EventHandler<CrOf[K]>): void {
    this.detach.push(this.informers.get(kind)!.addEventHandler(handler as EventHandler<KubeObject>));
  }

  get<K extends EmbeddedKind>(kind: K, key: string): CrOf[K] | undefined {
    return this.cache(kind).get(key) as CrOf[K] | undefined;
  }

  list<K extends EmbeddedKind>(kind: K): CrOf[K][] {
    return this.cache(kind).list() as CrOf[K][];
  }

  byIndex<K extends EmbeddedKind>(kind: K, index: string, value: string): CrOf[K][] {
    return this.cache(kind).byIndex(index, value) as CrOf[K][];
  }

  byUid<K extends EmbeddedKind>(kind: K, uid: string): CrOf[K] | undefined {
    return this.byIndex(kind, UID_INDEX, uid)[0];
  }

  byOwner<K extends EmbeddedKind>(kind: K, ownerUid: string): CrOf[K][] {
    return this.byIndex(kind, OWNER_INDEX, ownerUid);
  }

  /** Creates; AlreadyExists (409) is the caller's to interpret. */
  async create<K extends EmbeddedKind>(kind: K, obj: CrOf[K]): Promise<CrOf[K]> {
    const out = (await this.client.create(EMBEDDED_RESOURCES[kind].res, obj)) as CrOf[K];
    this.cache(kind).observe(out);
    return out;
  }

  /** Replaces the object; a stale resourceVersion fails with Conflict (409). */
  async update<K extends EmbeddedKind>(kind: K, obj: CrOf[K]): Promise<CrOf[K]> {
    const out = (await this.client.update(EMBEDDED_RESOURCES[kind].res, obj)) as CrOf[K];
    this.cache(kind).observe(out);
    return out;
  }

  async patchStatus<K extends EmbeddedKind>(kind: K, obj: CrOf[K], status: unknown): Promise<CrOf[K]> {
    const { namespace, name } = obj.metadata;
    const out = (await this.client.patch(
      EMBEDDED_RESOURCES[kind].res,
      namespace ?? "",
      name!,
      "merge",
      { status },
      { subresource: "status" },
    )) as CrOf[K];
    this.cache(kind).observe(out);
    return out;
  }

  /** A live read, for when the cache has been shown stale (a 409); undefined when absent. */
  async fetch<K extends EmbeddedKind>(
    kind: K,
    namespace: string,
    name: string,
  ): Promise<CrOf[K] | undefined> {
    try {
      const out = (await this.client.get(EMBEDDED_RESOURCES[kind].res, namespace, name)) as CrOf[K];
      this.cache(kind).observe(out);
      return out;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // Whatever the cache still shows under that name is gone.
      const stale = this.get(kind, namespace ? `${namespace}/${name}` : name);
      if (stale) this.cache(kind).observeDelete(stale);
      return undefined;
    }
  }

  /**
   * Deletes exactly this object (a UID precondition, so a newer object of the same name
   * survives). Gone already, or replaced by another object: both count as done.
   */
  async delete<K extends EmbeddedKind>(kind: K, obj: CrOf[K]): Promise<void> {
    const { namespace, name, uid } = obj.metadata;
    let answer: unknown;
    try {
      answer = await this.client.delete(EMBEDDED_RESOURCES[kind].res, namespace ?? "", name!, {
        preconditions: { uid },
      });
    } catch (err) {
      // NotFound: gone already. Conflict: the UID precondition failed, another object has the name now.
      if (isNotFound(err) || isConflict(err)) {
        this.cache(kind).observeDelete(obj);
        return;
      }
      throw err;
    }
    // The server answers the deleted object (with its last version) or a Status.
    const last = answer as KubeObject | undefined;
    this.cache(kind).observeDelete(last && last.metadata?.uid === uid ? last : obj);
  }

  private cache(kind: EmbeddedKind): OverlayCache<KubeObject> {
    return this.caches.get(kind)!;
  }

  private changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        // A listener's failure is its own business; the others still hear about the change.
      }
    }
  }
}
