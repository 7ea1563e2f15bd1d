// The list and watch calls an informer needs, as a small interface so tests can hand in a fake
// and KubeClient provides the real thing (KubeClient.listerWatcher).

import type { KubeList, KubeObject, WatchEvent } from "./objects.ts";

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: "Exact" | "NotOlderThan";
  signal?: AbortSignal;
}

export interface WatchOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  /** The server ends the watch after this long; the client then re-watches. */
  timeoutSeconds?: number;
}

/**
 * A list/watch pair already bound to one resource, namespace and selectors; the informer only
 * adds paging, resource versions and timeouts.
 */
export interface ListerWatcher<T extends KubeObject = KubeObject> {
  list(opts: ListOptions): Promise<KubeList<T>>;
  /**
   * Streams events until the server ends the watch (resolves) or it fails (rejects; a 410 as
   * a KubeApiError that isGone). Resolves when `signal` aborts.
   */
  watch(opts: WatchOptions, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void>;
}
