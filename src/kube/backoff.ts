// Exponential backoff with jitter, for retry loops that must never give up but must not hammer
// a struggling API server either.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Each delay is stretched by up to this fraction at random, so many clients spread out. */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private current = 0;
  /** Failures since the last reset. */
  attempts = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 200;
    this.maxMs = opts.maxMs ?? 30_000;
    this.factor = opts.factor ?? 2;
    this.jitter = opts.jitter ?? 0.5;
    this.random = opts.random ?? Math.random;
  }

  /** The delay before the next attempt; each call grows it until `maxMs`. */
  next(): number {
    this.current = this.current === 0 ? this.initialMs : Math.min(this.maxMs, this.current * this.factor);
    this.attempts++;
    return Math.round(this.current * (1 + this.jitter * this.random()));
  }

  reset(): void {
    this.current = 0;
    this.attempts = 0;
  }
}
