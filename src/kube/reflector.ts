// Keeps a sink in step with the server by LIST then WATCH, forever (client-go's Reflector):
// paginated lists, watches resumed from the last seen resourceVersion, a relist only when the
// server says that version is gone, and jittered exponential backoff on every other failure.

import { Backoff, type BackoffOptions } from "./backoff.ts";
import { type Clock, sleep, systemClock } from "./clock.ts";
import { isGone, KubeApiError, type Status } from "./errors.ts";
import type { ListerWatcher } from "./list-watch.ts";
import { type Logger, stderrLogger } from "./log.ts";
import type { KubeList, KubeObject, WatchEvent } from "./objects.ts";

export interface ReflectorSink<T> {
  /** The complete set of objects from a (re)list. */
  replace(items: T[], resourceVersion: string): void;
  /** One ADDED, MODIFIED or DELETED event. */
  apply(event: WatchEvent<T>): void;
}

export interface ReflectorOptions {
  /** For log lines, e.g. `pods`. */
  name?: string;
  /** Items per LIST page. Default 500. */
  pageSize?: number;
  /** The server-side watch timeout is picked at random in this range, so watches of many clients don't all end together. Default 300–600 s. */
  minWatchTimeoutSeconds?: number;
  maxWatchTimeoutSeconds?: number;
  backoff?: BackoffOptions;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

// A watch that ends this soon without a single event made no progress; retrying it at once could spin.
const SHORT_WATCH_MS = 1000;

export class Reflector<T extends KubeObject = KubeObject> {
  private readonly lw: ListerWatcher<T>;
  private readonly sink: ReflectorSink<T>;
  private readonly name: string;
  private readonly pageSize: number;
  private readonly minTimeout: number;
  private readonly maxTimeout: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private rv = "";

  constructor(lw: ListerWatcher<T>, sink: ReflectorSink<T>, opts: ReflectorOptions = {}) {
    this.lw = lw;
    this.sink = sink;
    this.name = opts.name ?? "reflector";
    this.pageSize = opts.pageSize ?? 500;
    this.minTimeout = opts.minWatchTimeoutSeconds ?? 300;
    this.maxTimeout = opts.maxWatchTimeoutSeconds ?? 600;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.logger = opts.logger ?? stderrLogger;
    this.backoff = new Backoff({ random: this.random, ...opts.backoff });
  }

  /** The resourceVersion the next watch starts from: the last list's, advanced by every event and bookmark. */
  get lastSyncResourceVersion(): string {
    return this.rv;
  }

  /** Lists and watches until `signal` aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      if (needList) {
        try {
          await this.listAndReplace(signal);
          needList = false;
        } catch (err) {
          if (signal.aborted) break;
          const delay = this.backoff.next();
          this.logger.warn({ err, resource: this.name, retryInMs: delay }, "list failed");
          await sleep(this.clock, delay, signal);
          continue;
        }
      }
      const started = this.clock.now();
      let events = 0;
      let failure: unknown;
      try {
        await this.lw.watch(
          {
            resourceVersion: this.rv,
            allowWatchBookmarks: true,
            timeoutSeconds: this.watchTimeout(),
          },
          (event) => {
            events++;
            this.handle(event);
          },
          signal,
        );
      } catch (err) {
        failure = err;
      }
      if (signal.aborted) break;
      const progressed = events > 0 || this.clock.now() - started >= SHORT_WATCH_MS;
      if (progressed) this.backoff.reset();
      if (failure === undefined && progressed) continue; // the usual timeout: resume from the last RV
      if (isGone(failure)) {
        this.logger.info(
          { resource: this.name, resourceVersion: this.rv },
          "watch resource version gone; relisting",
        );
        needList = true;
        if (progressed) continue;
      }
      const delay = this.backoff.next();
      if (failure === undefined) {
        this.logger.warn({ resource: this.name, retryInMs: delay }, "watch closed without any event");
      } else if (!isGone(failure)) {
        this.logger.warn({ err: failure, resource: this.name, retryInMs: delay }, "watch failed");
      }
      await sleep(this.clock, delay, signal);
    }
  }

  private watchTimeout(): number {
    return Math.floor(this.minTimeout + this.random() * (this.maxTimeout - this.minTimeout));
  }

  private async listAndReplace(signal: AbortSignal): Promise<void> {
    let items: T[] = [];
    let rv = "";
    let token: string | undefined;
    try {
      do {
        const page = await this.lw.list({ limit: this.pageSize, continue: token, signal });
        for (const item of page.items ?? []) items.push(withTypeMeta(item, page));
        rv = page.metadata?.resourceVersion ?? "";
        token = page.metadata?.continue || undefined;
      } while (token);
    } catch (err) {
      // The continue token outlived etcd's compaction window: start over in one piece.
      if (!(token && isGone(err))) throw err;
      this.logger.info({ resource: this.name }, "list continuation expired; listing without paging");
      const all = await this.lw.list({ signal });
      items = (all.items ?? []).map((item) => withTypeMeta(item, all));
      rv = all.metadata?.resourceVersion ?? "";
    }
    if (signal.aborted) return;
    this.sink.replace(items, rv);
    this.rv = rv;
  }

  private handle(event: WatchEvent<T>): void {
    if (event.type === "ERROR") {
      const status = event.object as unknown as Status;
      throw new KubeApiError("WATCH", this.name, { ...status, code: status.code || 500 });
    }
    const rv = event.object?.metadata?.resourceVersion;
    if (event.type !== "BOOKMARK") {
      if (!event.object?.metadata?.name) {
        this.logger.warn(
          { resource: this.name, type: event.type },
          "watch event without an object name; skipped",
        );
        return;
      }
      this.sink.apply(event);
    }
    if (rv) this.rv = rv;
  }
}

// List items arrive without kind/apiVersion while watch objects carry them; fill them in so
// cached objects look the same whichever way they came.
function withTypeMeta<T extends KubeObject>(item: T, list: KubeList<T>): T {
  if (!item.kind && list.kind?.endsWith("List")) item.kind = list.kind.slice(0, -4);
  if (!item.apiVersion && list.apiVersion) item.apiVersion = list.apiVersion;
  return item;
}
