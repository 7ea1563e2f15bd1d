// Controller expectations (upstream's UIDTrackingControllerExpectations): after a controller
// issues creates or deletes for an owner, it waits for its informer to observe them before
// acting for that owner again. Without this, a sync that runs before the watch events of its
// own writes arrive would count the old pods and create (or delete) the same pods twice.
// Expectations time out so that a lost event cannot wedge an owner forever.

import { type Clock, systemClock } from "../../kube/clock.ts";

/** Upstream's ExpectationsTimeout. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectation {
  /** Creations not yet observed. */
  adds: number;
  /** Keys of the pods whose deletion is not yet observed (a set, so a second sighting is harmless). */
  deletes: Set<string>;
  /** When the expectation was set. */
  at: number;
}

export interface ExpectationsOptions {
  clock?: Clock;
  timeoutMs?: number;
}

export class ControllerExpectations {
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly byOwner = new Map<string, Expectation>();

  constructor(opts: ExpectationsOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.timeoutMs ?? EXPECTATIONS_TIMEOUT_MS;
  }

  /** Records that `count` pods are being created for `owner` (replacing older expectations). */
  expectCreations(owner: string, count: number): void {
    this.byOwner.set(owner, { adds: count, deletes: new Set(), at: this.clock.now() });
  }

  /** Records that these pods (by key) are being deleted for `owner` (replacing older expectations). */
  expectDeletions(owner: string, podKeys: string[]): void {
    this.byOwner.set(owner, { adds: 0, deletes: new Set(podKeys), at: this.clock.now() });
  }

  /** The informer saw one of the owner's pods appear. */
  creationObserved(owner: string): void {
    const e = this.byOwner.get(owner);
    if (e && e.adds > 0) e.adds--;
  }

  /** `n` creations were never issued or failed, so no event will come for them. */
  creationsSkipped(owner: string, n: number): void {
    const e = this.byOwner.get(owner);
    if (e) e.adds = Math.max(0, e.adds - n);
  }

  /** The informer saw this pod go (or start terminating), or its deletion failed. */
  deletionObserved(owner: string, podKey: string): void {
    this.byOwner.get(owner)?.deletes.delete(podKey);
  }

  /**
   * Whether the controller may act for `owner`: nothing outstanding, nothing recorded (a new
   * owner, or a restarted controller), or the expectation has timed out.
   */
  satisfied(owner: string): boolean {
    const e = this.byOwner.get(owner);
    if (!e) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return this.clock.now() - e.at >= this.timeoutMs;
  }

  /** Milliseconds until the owner's unfulfilled expectation times out (0 when satisfied). */
  remainingMs(owner: string): number {
    if (this.satisfied(owner)) return 0;
    const e = this.byOwner.get(owner)!;
    return Math.max(0, e.at + this.timeoutMs - this.clock.now());
  }

  /** What is still outstanding, for logs and tests. */
  pending(owner: string): { adds: number; deletes: string[] } | undefined {
    const e = this.byOwner.get(owner);
    return e && { adds: e.adds, deletes: [...e.deletes] };
  }

  /** Drops the owner's record (the owner was deleted). */
  forget(owner: string): void {
    this.byOwner.delete(owner);
  }
}
