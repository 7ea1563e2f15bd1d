// Time as an injectable dependency, so the informer, workqueue, leader election and event
// recorder can be driven by a fake clock in tests instead of real waiting.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

/**
 * Waits `ms` on `clock`. Resolves `true` when the time passed and `false` as soon as `signal`
 * aborts: loops check the result instead of catching AbortErrors.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      cancel();
      resolve(false);
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** An AbortSignal that fires when `parent` aborts or after `ms` on `clock`; call `dispose` when done. */
export function deadlineSignal(
  clock: Clock,
  ms: number,
  parent?: AbortSignal,
): { signal: AbortSignal; dispose: () => void } {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(parent?.reason);
  parent?.addEventListener("abort", onAbort, { once: true });
  if (parent?.aborted) ctl.abort(parent.reason);
  const cancel = clock.setTimer(() => ctl.abort(new Error(`deadline of ${ms} ms exceeded`)), ms);
  return {
    signal: ctl.signal,
    dispose: () => {
      cancel();
      parent?.removeEventListener("abort", onAbort);
    },
  };
}
