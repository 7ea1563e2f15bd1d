// Remembers the EndpointSlices this controller wrote (upstream's EndpointSliceTracker), so it
// can tell its own writes coming back through the informer (nothing to do) from changes by
// others (resync the Service), and can tell when the cache has not caught up with its writes
// yet (syncing then would act on stale slices and, say, create a slice twice).

import type { KubeObject } from "../../kube/objects.ts";

const DELETED = -1;

/** How long a write may stay unobserved before it no longer holds the Service back. */
export const STALE_LIMIT_MS = 30_000;

interface Written {
  /** Generation written, or DELETED when a delete was issued. */
  gen: number;
  at: number;
}

export class EndpointSliceTracker {
  private readonly byService = new Map<string, Map<string, Written>>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  private slicesOf(serviceKey: string): Map<string, Written> {
    let m = this.byService.get(serviceKey);
    if (!m) {
      m = new Map();
      this.byService.set(serviceKey, m);
    }
    return m;
  }

  /** A create or update of ours succeeded with this result. */
  written(serviceKey: string, slice: KubeObject): void {
    this.slicesOf(serviceKey).set(slice.metadata.name!, {
      gen: slice.metadata.generation ?? 0,
      at: this.now(),
    });
  }

  /** A delete of ours succeeded. */
  deleted(serviceKey: string, name: string): void {
    this.slicesOf(serviceKey).set(name, { gen: DELETED, at: this.now() });
  }

  /** The informer reports a slice: does the Service need a sync, or is it just our write? */
  shouldSync(serviceKey: string, slice: KubeObject): boolean {
    const w = this.byService.get(serviceKey)?.get(slice.metadata.name!);
    if (w === undefined || w.gen === DELETED) return true;
    return (slice.metadata.generation ?? 0) > w.gen;
  }

  /** The informer reports a slice gone: answers whether that was not our own delete. */
  observeDeletion(serviceKey: string, name: string): boolean {
    const m = this.byService.get(serviceKey);
    const ours = m?.get(name)?.gen === DELETED;
    m?.delete(name);
    if (m?.size === 0) this.byService.delete(serviceKey);
    return !ours;
  }

  /**
   * Whether the cache still lags behind our writes for this Service: a slice we wrote missing
   * or older than what we wrote, or a slice we deleted still there. A write unobserved for
   * STALE_LIMIT_MS is given up on (someone may have relabelled the slice out of our sight).
   */
  stale(serviceKey: string, cached: readonly KubeObject[]): boolean {
    const m = this.byService.get(serviceKey);
    if (!m) return false;
    const byName = new Map(cached.map((s) => [s.metadata.name!, s]));
    const now = this.now();
    for (const [name, { gen, at }] of m) {
      if (now - at > STALE_LIMIT_MS) {
        m.delete(name);
        continue;
      }
      const s = byName.get(name);
      if (gen === DELETED) {
        if (s && !s.metadata.deletionTimestamp) return true;
      } else if (!s || (s.metadata.generation ?? 0) < gen) {
        return true;
      }
    }
    return false;
  }

  forget(serviceKey: string): void {
    this.byService.delete(serviceKey);
  }
}
