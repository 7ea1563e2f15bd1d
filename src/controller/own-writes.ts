// The resourceVersions of this controller's own latest writes, per object key, so a sync that
// runs before the informer has delivered its own write (the key was queued again meanwhile by
// an older event) can be skipped instead of repeating that write: the write's own event is
// on its way and queues the key again. Without this every pod and Service is patched twice,
// the second time as a no-op that still costs the API server a full patch.
import type { KubeObject } from "../kube/objects.ts";

/** -1, 0, 1 for integer resourceVersions (as etcd-backed servers issue); undefined otherwise. */
function compareRv(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export class OwnWrites {
  private readonly written = new Map<string, { uid: string | undefined; rv: string }>();

  /** Records what the server answered to this controller's write of `key`. */
  record(key: string, answer: KubeObject | undefined): void {
    const rv = answer?.metadata?.resourceVersion;
    if (rv) this.written.set(key, { uid: answer.metadata.uid, rv });
  }

  /**
   * Whether `cached` predates this controller's last write of it (the informer is behind).
   * Forgets the write once the cache has caught up with it, or shows another object.
   */
  isStale(key: string, cached: KubeObject): boolean {
    const w = this.written.get(key);
    if (!w) return false;
    if (w.uid && cached.metadata.uid && w.uid !== cached.metadata.uid) {
      this.written.delete(key);
      return false;
    }
    const cmp = compareRv(cached.metadata.resourceVersion, w.rv);
    if (cmp === undefined || cmp >= 0) {
      this.written.delete(key);
      return false;
    }
    return true;
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  get size(): number {
    return this.written.size;
  }
}
