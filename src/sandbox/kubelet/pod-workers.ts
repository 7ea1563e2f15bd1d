// One worker per pod: syncs of the same pod never overlap, syncs of different pods run
// concurrently. A sync requested while one runs is folded into a single follow-up run, and a
// pod can ask to be synced again later (a back-off ending, a periodic resync).
import type { Logger } from "../../kube/log.ts";

interface Worker {
  running: boolean;
  again: boolean;
  cancelTimer?: () => void;
  timerDue?: number;
  /** Forgotten while running: dropped once the run ends. */
  forgotten?: boolean;
}

export type SyncFn = (uid: string) => Promise<void>;

export class PodWorkers {
  private readonly workers = new Map<string, Worker>();
  private readonly sync: SyncFn;
  private readonly log: Logger;
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(sync: SyncFn, log: Logger) {
    this.sync = sync;
    this.log = log;
  }

  /** Syncs the pod as soon as its worker is free. */
  update(uid: string): void {
    if (this.stopped) return;
    let w = this.workers.get(uid);
    if (!w) {
      w = { running: false, again: false };
      this.workers.set(uid, w);
    }
    w.forgotten = false;
    if (w.running) {
      w.again = true;
      return;
    }
    void this.run(uid, w);
  }

  /** Syncs the pod after `ms` (an earlier request replaces a later one). */
  syncAfter(uid: string, ms: number): void {
    if (this.stopped) return;
    let w = this.workers.get(uid);
    if (!w) {
      w = { running: false, again: false };
      this.workers.set(uid, w);
    }
    const due = Date.now() + ms;
    if (w.cancelTimer && w.timerDue !== undefined && w.timerDue <= due) return;
    w.cancelTimer?.();
    const t = setTimeout(
      () => {
        w.cancelTimer = undefined;
        w.timerDue = undefined;
        this.update(uid);
      },
      Math.max(0, ms),
    );
    t.unref?.();
    w.cancelTimer = () => clearTimeout(t);
    w.timerDue = due;
  }

  /** Forgets a pod whose sync has nothing left to do (its timers included). */
  forget(uid: string): void {
    const w = this.workers.get(uid);
    if (!w) return;
    w.cancelTimer?.();
    w.cancelTimer = undefined;
    if (w.running) w.forgotten = true;
    else this.workers.delete(uid);
  }

  /** Pods with a worker. */
  keys(): string[] {
    return [...this.workers.keys()];
  }

  /** Resolves when no sync is running or queued. */
  idle(): Promise<void> {
    if (![...this.workers.values()].some((w) => w.running)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops accepting work; resolves once running syncs finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.workers.values()) w.cancelTimer?.();
    await this.idle();
  }

  private async run(uid: string, w: Worker): Promise<void> {
    w.running = true;
    try {
      do {
        w.again = false;
        try {
          await this.sync(uid);
        } catch (err) {
          this.log.warn({ uid, err: String((err as Error)?.stack ?? err) }, "pod sync failed; retrying");
          if (!this.stopped) this.syncAfter(uid, 2_000);
        }
      } while (w.again && !this.stopped);
    } finally {
      w.running = false;
      if (w.forgotten && this.workers.get(uid) === w) this.workers.delete(uid);
      if (![...this.workers.values()].some((x) => x.running)) {
        const waiters = this.idleWaiters.splice(0);
        for (const r of waiters) r();
      }
    }
  }
}
