// Records core/v1 Events about objects, like client-go's legacy EventRecorder: fire and forget
// for the caller, written in the background one at a time, with repeats of the same event for
// the same object folded into one Event whose count and lastTimestamp go up (a PATCH instead of
// a new object). The queue is bounded: when the API server is unreachable new events are
// dropped rather than piling up in memory.

import type { KubeClient } from "./client.ts";
import { type Clock, sleep, systemClock } from "./clock.ts";
import { isAlreadyExists, isNotFound, KubeApiError, KubeRequestError } from "./errors.ts";
import { type Logger, stderrLogger } from "./log.ts";
import { formatTime, type KubeObject } from "./objects.ts";
import { EVENTS } from "./resource.ts";

export type EventType = "Normal" | "Warning";

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface CoreEvent extends KubeObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  type: EventType;
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance: string;
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
}

/** Where events go; `kubeEventSink` writes them to the API server. */
export interface EventSink {
  create(namespace: string, event: CoreEvent): Promise<unknown>;
  /** A JSON merge patch of `count`, `lastTimestamp` and `message`. */
  patch(namespace: string, name: string, patch: Partial<CoreEvent>): Promise<unknown>;
}

// Merge patch rather than client-go's strategic merge: the patched fields are scalars, where
// both behave the same, and every API server implementation accepts merge patches.
export function kubeEventSink(client: KubeClient): EventSink {
  return {
    create: (namespace, event) =>
      client.create(EVENTS, { ...event, metadata: { ...event.metadata, namespace } }),
    patch: (namespace, name, patch) => client.patch(EVENTS, namespace, name, "merge", patch),
  };
}

export interface EventRecorderOptions {
  sink: EventSink;
  /** `source.component` and `reportingComponent`, e.g. `raven-controller`. */
  component: string;
  /** `source.host`, e.g. the node name. */
  host?: string;
  /** `reportingInstance`; defaults to the host, else the component. */
  instance?: string;
  /** Events waiting to be written; beyond this, new ones are dropped. Default 1000. */
  maxQueue?: number;
  /** Distinct events remembered for aggregation (least recently seen forgotten first). Default 4096. */
  cacheSize?: number;
  /** Repeats within this window update the existing Event. Default 10 minutes. */
  aggregationWindowMs?: number;
  /** Attempts per write when the server is unreachable or overloaded. Default 3. */
  maxAttempts?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Pending {
  ref: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  at: number;
}

interface Seen {
  namespace: string;
  name: string;
  count: number;
  first: number;
  last: number;
}

export class EventRecorder {
  private readonly opts: EventRecorderOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly maxQueue: number;
  private readonly cacheSize: number;
  private readonly windowMs: number;
  private readonly maxAttempts: number;
  private readonly queue: Pending[] = [];
  private readonly seen = new Map<string, Seen>();
  private working = false;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private seq = 0;
  /** Events dropped because the queue was full. */
  dropped = 0;

  constructor(opts: EventRecorderOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? stderrLogger;
    this.maxQueue = opts.maxQueue ?? 1000;
    this.cacheSize = opts.cacheSize ?? 4096;
    this.windowMs = opts.aggregationWindowMs ?? 10 * 60_000;
    this.maxAttempts = opts.maxAttempts ?? 3;
  }

  /** Records an event about `obj`. Never throws and never waits; the write happens in the background. */
  event(obj: KubeObject | ObjectReference, type: EventType, reason: string, message: string): void {
    try {
      if (this.closed) return;
      if (this.queue.length >= this.maxQueue) {
        this.dropped++;
        if (this.dropped % 100 === 1) {
          this.logger.warn({ dropped: this.dropped, reason }, "event queue full; dropping events");
        }
        return;
      }
      this.queue.push({ ref: referenceTo(obj), type, reason, message, at: this.clock.now() });
      if (!this.working) void this.work();
    } catch (err) {
      this.logger.error({ err, reason }, "cannot record event");
    }
  }

  /** Resolves once every queued event has been written (or given up). */
  flush(): Promise<void> {
    if (!this.working && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops accepting events and waits for the queued ones. */
  close(): Promise<void> {
    this.closed = true;
    return this.flush();
  }

  private async work(): Promise<void> {
    this.working = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        try {
          await this.write(next);
        } catch (err) {
          this.logger.warn({ err, reason: next.reason, object: next.ref.name }, "cannot write event");
        }
      }
    } finally {
      this.working = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async write(e: Pending): Promise<void> {
    const { component, host } = this.opts;
    const key = JSON.stringify([
      component,
      host ?? "",
      e.ref.kind,
      e.ref.apiVersion,
      e.ref.namespace,
      e.ref.name,
      e.ref.uid,
      e.type,
      e.reason,
      e.message,
    ]);
    const prior = this.seen.get(key);
    if (prior && e.at - prior.last <= this.windowMs) {
      prior.count++;
      prior.last = e.at;
      this.touch(key, prior);
      const patch = { count: prior.count, lastTimestamp: formatTime(e.at), message: e.message };
      try {
        await this.retrying(() => this.opts.sink.patch(prior.namespace, prior.name, patch));
        return;
      } catch (err) {
        // The Event expired (events have a TTL) or was deleted: start a new one, keeping the count.
        if (!isNotFound(err)) throw err;
      }
      prior.name = this.eventName(e.ref);
      await this.create(e, prior);
      return;
    }
    const entry: Seen = {
      namespace: e.ref.namespace || "default",
      name: this.eventName(e.ref),
      count: 1,
      first: e.at,
      last: e.at,
    };
    this.touch(key, entry);
    await this.create(e, entry);
  }

  private async create(e: Pending, s: Seen): Promise<void> {
    const { component, host } = this.opts;
    const event: CoreEvent = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: s.name, namespace: s.namespace },
      involvedObject: e.ref,
      reason: e.reason,
      message: e.message,
      type: e.type,
      source: host ? { component, host } : { component },
      reportingComponent: component,
      reportingInstance: this.opts.instance ?? host ?? component,
      firstTimestamp: formatTime(s.first),
      lastTimestamp: formatTime(s.last),
      count: s.count,
    };
    try {
      await this.retrying(() => this.opts.sink.create(s.namespace, event));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  // Retries only what may pass on a second try: no answer at all, 429 and 5xx.
  private async retrying(call: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await call();
        return;
      } catch (err) {
        const transient =
          err instanceof KubeRequestError ||
          (err instanceof KubeApiError && (err.code === 429 || err.code >= 500));
        if (!transient || attempt >= this.maxAttempts) throw err;
        await sleep(this.clock, 1000 * 2 ** (attempt - 1));
      }
    }
  }

  /** Records `entry` as most recently used, forgetting the least recently used beyond the cache size. */
  private touch(key: string, entry: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, entry);
    if (this.seen.size > this.cacheSize) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  /** `<object name>.<16 hex digits>`: nanoseconds since the epoch, as client-go names events. */
  private eventName(ref: ObjectReference): string {
    // Several events in one millisecond get distinct sub-millisecond parts.
    const nanos = BigInt(this.clock.now()) * 1_000_000n + BigInt(this.seq++ % 1_000_000);
    return `${ref.name}.${nanos.toString(16).padStart(16, "0")}`;
  }
}

/** The involvedObject for an object (or a reference passed through as is). */
export function referenceTo(obj: KubeObject | ObjectReference): ObjectReference {
  if (!("metadata" in obj) || !obj.metadata) return obj as ObjectReference;
  const o = obj as KubeObject;
  const ref: ObjectReference = {
    kind: o.kind,
    namespace: o.metadata.namespace,
    name: o.metadata.name,
    uid: o.metadata.uid,
    apiVersion: o.apiVersion,
    resourceVersion: o.metadata.resourceVersion,
  };
  for (const k of Object.keys(ref) as (keyof ObjectReference)[]) if (ref[k] === undefined) delete ref[k];
  return ref;
}
