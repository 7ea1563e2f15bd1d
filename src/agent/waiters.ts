// Waiting for a cache to show something, driven by its change notifications (never polling):
// each waiter re-checks its condition when the source says something changed, and gives up
// when its signal aborts.

export class Waiters {
  private readonly waiting = new Set<() => void>();

  /** Tell every waiter to look again (call from the cache's event handler). */
  changed(): void {
    for (const w of [...this.waiting]) w();
  }

  /** Resolves with `found()`'s first answer other than undefined; rejects when `signal` aborts. */
  waitFor<T>(found: () => T | undefined, signal: AbortSignal): Promise<T> {
    const now = found();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        let v: T | undefined;
        try {
          v = found();
        } catch (err) {
          done();
          reject(err);
          return;
        }
        if (v === undefined) return;
        done();
        resolve(v);
      };
      const onAbort = () => {
        done();
        reject(signal.reason ?? new Error("aborted"));
      };
      const done = () => {
        this.waiting.delete(check);
        signal.removeEventListener("abort", onAbort);
      };
      if (signal.aborted) return onAbort();
      this.waiting.add(check);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
