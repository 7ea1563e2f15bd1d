// Hands out one shared informer per (resource, namespace, label selector, field selector), so
// controllers in one process that watch the same things share a single watch and cache
// (client-go's SharedInformerFactory).

import { type InformerOptions, SharedInformer } from "./informer.ts";
import type { ListerWatcher } from "./list-watch.ts";
import type { KubeObject } from "./objects.ts";
import { type ApiResource, apiVersionOf } from "./resource.ts";

export interface InformerScope {
  /** Omit (or "") for all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** What can produce list/watch calls; KubeClient is one. */
export interface ListerWatcherSource {
  listerWatcher<T extends KubeObject>(res: ApiResource, scope: InformerScope): ListerWatcher<T>;
}

export class SharedInformerFactory {
  private readonly source: ListerWatcherSource;
  private readonly defaults: InformerOptions<KubeObject>;
  private readonly informers = new Map<string, SharedInformer<KubeObject>>();
  private readonly running = new Map<SharedInformer<KubeObject>, Promise<void>>();

  constructor(source: ListerWatcherSource, defaults: InformerOptions<KubeObject> = {}) {
    this.source = source;
    this.defaults = defaults;
  }

  /**
   * The informer for this resource and scope, created on first request. `opts` only count
   * for the call that creates it; indexers can be added later with `addIndexer`.
   */
  informerFor<T extends KubeObject = KubeObject>(
    res: ApiResource,
    scope: InformerScope = {},
    opts: InformerOptions<T> = {},
  ): SharedInformer<T> {
    const key = [
      apiVersionOf(res),
      res.plural,
      scope.namespace ?? "",
      scope.labelSelector ?? "",
      scope.fieldSelector ?? "",
    ].join("|");
    let informer = this.informers.get(key) as SharedInformer<T> | undefined;
    if (!informer) {
      const name = [res.plural, scope.namespace, scope.labelSelector, scope.fieldSelector]
        .filter(Boolean)
        .join(" ");
      informer = new SharedInformer<T>(this.source.listerWatcher<T>(res, scope), {
        name,
        ...(this.defaults as unknown as InformerOptions<T>),
        ...opts,
      });
      this.informers.set(key, informer as unknown as SharedInformer<KubeObject>);
    }
    return informer;
  }

  /** Starts every informer not yet running; call again after asking for more. */
  start(signal: AbortSignal): void {
    for (const informer of this.informers.values()) {
      if (this.running.has(informer)) continue;
      this.running.set(informer, informer.start(signal));
    }
  }

  /** Resolves true when every informer handed out so far has synced, false if `signal` aborts first. */
  async waitForCacheSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  /** Resolves once every started informer has stopped. */
  async stopped(): Promise<void> {
    await Promise.all(this.running.values());
  }
}
