// Per-container restart back-off, with the semantics of client-go's flowcontrol.Backoff as the
// kubelet uses it: the first restart is immediate; each later one waits 10 s, 20 s, 40 s, ...
// capped at 300 s; an entry untouched for 2 x 300 s (the container ran 10 minutes) starts over.

export const INITIAL_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 300_000;

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(initialMs = INITIAL_BACKOFF_MS, maxMs = MAX_BACKOFF_MS) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
  }

  /** The current back-off for `key` (0 when there is none). */
  get(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /**
   * Records a restart at `now` after an exit at `eventTime`: the first sets the initial
   * back-off, later ones double it; an exit more than 10 minutes after the last restart starts over.
   */
  next(key: string, eventTime: number, now: number): void {
    const e = this.entries.get(key);
    if (!e || this.expired(e, eventTime)) {
      this.entries.set(key, { backoffMs: this.initialMs, lastUpdate: now });
      return;
    }
    e.backoffMs = Math.min(e.backoffMs * 2, this.maxMs);
    e.lastUpdate = now;
  }

  /**
   * True while `now` is within the back-off that followed `eventTime` (the container's last
   * exit): flowcontrol's IsInBackOffSince.
   */
  isInBackOffSince(key: string, eventTime: number, now: number): boolean {
    const e = this.entries.get(key);
    if (!e || this.expired(e, eventTime)) return false;
    return now - eventTime < e.backoffMs;
  }

  /** Milliseconds until the back-off after `eventTime` ends (0 when not backing off). */
  remaining(key: string, eventTime: number, now: number): number {
    if (!this.isInBackOffSince(key, eventTime, now)) return 0;
    return eventTime + this.get(key) - now;
  }

  /** Seeds an entry (adoption after a kubelet restart: the back-off continues where it was). */
  restore(key: string, backoffMs: number, lastUpdate: number): void {
    this.entries.set(key, {
      backoffMs: Math.min(Math.max(backoffMs, this.initialMs), this.maxMs),
      lastUpdate,
    });
  }

  /** Forgets every entry whose key starts with `prefix` (a removed pod). */
  forgetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /** Drops entries that expired by `now`. */
  gc(now: number): void {
    for (const [k, e] of this.entries) if (this.expired(e, now)) this.entries.delete(k);
  }

  private expired(e: Entry, now: number): boolean {
    return now - e.lastUpdate > 2 * this.maxMs;
  }
}

/** The back-off key of one container of one pod (the kubelet's uses name + uid + container). */
export function backoffKey(podUid: string, containerName: string): string {
  return `${podUid}/${containerName}`;
}

/** "20s", "5m0s": how Go prints a time.Duration of whole seconds, as the kubelet's messages do. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`;
}
