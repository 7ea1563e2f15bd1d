// Test support only: a manually advanced Clock. Production code never imports this file.

import type { Clock } from "./clock.ts";

interface Timer {
  due: number;
  seq: number;
  fn: () => void;
}

/** Lets queued promise callbacks run (everything up to the next macrotask turn). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers = new Set<Timer>();

  constructor(start = Date.parse("2025-01-01T00:00:00Z")) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer = { due: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    return () => {
      this.timers.delete(timer);
    };
  }

  /** Number of timers waiting to fire. */
  pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms` without firing anything, as for a process that was frozen
   * (SIGSTOP): whatever runs first when it wakes sees the new time; `advance(0)` then fires
   * the timers that fell due meanwhile.
   */
  jump(ms: number): void {
    this.t += ms;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promise chains settle between them. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await flush();
    for (;;) {
      let next: Timer | undefined;
      for (const timer of this.timers) {
        if (timer.due > target) continue;
        if (!next || timer.due < next.due || (timer.due === next.due && timer.seq < next.seq)) next = timer;
      }
      if (!next) break;
      this.timers.delete(next);
      this.t = Math.max(this.t, next.due);
      next.fn();
      await flush();
    }
    this.t = target;
    await flush();
  }
}
