// The embedded backend's compiled NetworkPolicies: one raven.io/v1 CompiledPolicy per
// NetworkPolicy, in its namespace and under its name, owned by it (so Kubernetes' GC removes it
// with the policy even without Raven). raven-controller writes them; every raven-agent watches
// them and enforces its own pods' share.
import { type CompiledPolicy, parseCompiledPolicy } from "../../api/compiled-policy.ts";
import { isAlreadyExists, isNotFound } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import type { InformerScope } from "../../kube/informer-factory.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { sameJson } from "../../util/same-json.ts";
import type { PolicyStore } from "../backend.ts";
import { API_VERSION, COMPILEDPOLICIES, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "./resources.ts";
import type { CrClient, InformerSource } from "./store.ts";

const rvNumber = (o: KubeObject | undefined) => Number(o?.metadata.resourceVersion ?? 0) || 0;

export class EmbeddedPolicies implements PolicyStore {
  private readonly client: CrClient;
  private readonly informer: SharedInformer;
  /** What this process last wrote per key, until the cache has caught up with it. */
  private readonly written = new Map<string, { spec: CompiledPolicy; rv: number }>();

  constructor(client: CrClient, informers: InformerSource, scope: InformerScope = {}) {
    this.client = client;
    this.informer = informers.informerFor(COMPILEDPOLICIES, scope);
  }

  waitForSync(signal: AbortSignal): Promise<boolean> {
    return this.informer.waitForSync(signal);
  }

  onChange(listener: () => void): void {
    this.informer.addEventHandler({
      onAdd: () => listener(),
      onUpdate: (a, b) => {
        if (a !== b) listener();
      },
      onDelete: () => listener(),
    });
  }

  list(): CompiledPolicy[] {
    return this.informer.list().flatMap((o) => this.parse(o));
  }

  /** Each cached object's policy, parsed once (a new version is a new object). */
  private readonly parsed = new WeakMap<KubeObject, CompiledPolicy[]>();

  private parse(o: KubeObject): CompiledPolicy[] {
    const cached = this.parsed.get(o);
    if (cached) return cached;
    let out: CompiledPolicy[];
    try {
      out = [parseCompiledPolicy(o.spec)];
    } catch {
      out = []; // not one Raven wrote: enforced by no one
    }
    this.parsed.set(o, out);
    return out;
  }

  /** The stored spec: ours when the cache has not caught up with our write. */
  private stored(key: string): unknown {
    const cached = this.informer.get(key);
    const mine = this.written.get(key);
    if (mine && (!cached || rvNumber(cached) <= mine.rv)) return mine.spec;
    if (mine) this.written.delete(key);
    return cached?.spec;
  }

  async ensure(p: CompiledPolicy): Promise<void> {
    const { namespace, name, uid } = p.policy;
    const key = `${namespace}/${name}`;
    const stored = this.stored(key);
    if (stored !== undefined && sameJson(stored, p)) return;
    const owner = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name, uid, controller: true };
    const create = () =>
      this.client.create(COMPILEDPOLICIES, {
        apiVersion: API_VERSION,
        kind: "CompiledPolicy",
        metadata: {
          name,
          namespace,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          ownerReferences: [owner],
        },
        spec: p,
      });
    // A merge patch of the whole spec: every array in it is replaced whole.
    const patch = () =>
      this.client.patch(COMPILEDPOLICIES, namespace, name, "merge", {
        metadata: { ownerReferences: [owner] },
        spec: p,
      });
    let out: KubeObject;
    try {
      out = stored === undefined ? await create() : await patch();
    } catch (err) {
      // The cache was behind: it is there after all, or gone already.
      if (isAlreadyExists(err)) out = await patch();
      else if (isNotFound(err)) out = await create();
      else throw err;
    }
    this.written.set(key, { spec: p, rv: rvNumber(out) });
  }

  async releaseAll(): Promise<void> {
    for (const p of this.list()) await this.delete(p.policy.namespace, p.policy.name);
  }

  async delete(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const wrote = this.written.delete(key);
    if (!wrote && !this.informer.get(key)) return;
    try {
      await this.client.delete(COMPILEDPOLICIES, namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
