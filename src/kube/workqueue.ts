// A rate-limited work queue of object keys, as client-go's workqueue: a key waits at most once
// however often it is added, is never handed to two workers at once, and a key re-added while
// being processed comes round again once its worker calls done().

import { type Clock, systemClock } from "./clock.ts";
import { type Logger, stderrLogger } from "./log.ts";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate-limiter.ts";

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  clock?: Clock;
}

/** FIFO of strings with O(1) push and shift. */
class Fifo {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(s: string): void {
    this.items.push(s);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const s = this.items[this.head++];
    // Reclaim the consumed prefix now and then rather than on every shift.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return s;
  }
}

export class WorkQueue {
  private readonly queue = new Fifo();
  /** Keys that need processing: queued, or re-added while processing. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly delayed = new Map<string, { readyAt: number; cancel: () => void }>();
  private readonly rateLimiter: RateLimiter;
  private readonly clock: Clock;
  private shuttingDown = false;
  private drainWaiters: (() => void)[] = [];

  constructor(opts: WorkQueueOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter({ clock: this.clock });
  }

  /** Queues `key` unless it is already waiting; ignored after shutdown. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // done() will queue it again
    this.queue.push(key);
    this.dispatch();
  }

  /**
   * The next key to process, waiting for one if need be; undefined once the queue is shut
   * down and empty. Every key handed out must be passed to done().
   */
  get(): Promise<string | undefined> {
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` as processed; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.dispatch();
    }
    this.checkDrained();
  }

  /** Adds `key` after `ms`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending) {
      if (pending.readyAt <= readyAt) return;
      pending.cancel();
    }
    const cancel = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { readyAt, cancel });
  }

  /** Adds `key` once the rate limiter allows: per-key exponential backoff and an overall limit. */
  addRateLimited(key: string): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears the key's failure history; call after it was processed successfully (or given up). */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Keys waiting to be handed out (not counting delayed or in-process ones). */
  len(): number {
    return this.queue.length;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Stops accepting keys. Keys already queued are still handed out (as client-go does), then
   * get() answers undefined so workers exit. Delayed keys are dropped.
   */
  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) d.cancel();
    this.delayed.clear();
    if (this.queue.length === 0) for (const w of this.waiters.splice(0)) w(undefined);
    this.checkDrained();
  }

  /**
   * Stops at once: queued and delayed keys are dropped, and get() answers undefined, so each
   * worker exits after the key it holds (a leader that lost its lease must not start on more).
   */
  shutDownNow(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) d.cancel();
    this.delayed.clear();
    while (this.queue.shift() !== undefined);
    this.dirty.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
    this.checkDrained();
  }

  /**
   * Shuts down and resolves once every queued and in-process key has been done(). Needs
   * running workers, or it waits forever.
   */
  shutDownWithDrain(): Promise<void> {
    const drained = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    this.shutDown();
    return drained;
  }

  private take(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }

  private dispatch(): void {
    while (this.waiters.length > 0 && this.queue.length > 0) this.waiters.shift()!(this.take());
  }

  private checkDrained(): void {
    if (!this.shuttingDown || this.processing.size > 0 || this.queue.length > 0) return;
    for (const w of this.waiters.splice(0)) w(undefined);
    for (const w of this.drainWaiters.splice(0)) w();
  }
}

export interface RunWorkersOptions {
  /** Told about each failed sync (the key is then retried with backoff). */
  onError?: (key: string, err: unknown, requeues: number) => void;
  /** Give a key up (forget it) after this many consecutive failures. Default: retry forever. */
  maxRetries?: number;
  logger?: Logger;
}

/**
 * Runs `n` workers in the sample-controller loop: get → sync → forget on success, or
 * addRateLimited on failure → done. Resolves when the queue is shut down and drained.
 */
export async function runWorkers(
  queue: WorkQueue,
  n: number,
  sync: (key: string) => Promise<void>,
  opts: RunWorkersOptions = {},
): Promise<void> {
  const logger = opts.logger ?? stderrLogger;
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await sync(key);
        queue.forget(key);
      } catch (err) {
        const requeues = queue.numRequeues(key);
        try {
          if (opts.onError) opts.onError(key, err, requeues);
          else logger.warn({ err, key, requeues }, "sync failed; will retry");
        } catch (hookErr) {
          logger.error({ err: hookErr, key }, "onError threw");
        }
        if (opts.maxRetries !== undefined && requeues >= opts.maxRetries) {
          logger.warn({ key, requeues }, "giving up on key");
          queue.forget(key);
        } else {
          queue.addRateLimited(key);
        }
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
}
