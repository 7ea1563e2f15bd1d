// When a Service is synced after an EndpointSlice change. The first change after a quiet
// period goes at once (a pod turning ready reaches the dataplane without waiting for a batch
// window); changes that follow within `windowMs` of that sync are folded into one more sync at
// the window's end, so a burst of pods turning ready one after another is still one load
// balancer write per window rather than one per pod.
import { type Clock, systemClock } from "../kube/clock.ts";
import type { WorkQueue } from "../kube/workqueue.ts";

export class EndpointBatcher {
  private readonly queue: WorkQueue;
  private readonly windowMs: number;
  private readonly clock: Clock;
  /** When each Service was last let through (pruned once its window is over). */
  private readonly last = new Map<string, number>();

  constructor(queue: WorkQueue, windowMs: number, clock: Clock = systemClock) {
    this.queue = queue;
    this.windowMs = windowMs;
    this.clock = clock;
  }

  changed(serviceKey: string): void {
    const now = this.clock.now();
    /** When the latest sync was let through, or is due (a pending one covers this change). */
    const last = this.last.get(serviceKey);
    if (last !== undefined && last > now) return;
    if (last === undefined || now - last >= this.windowMs) {
      this.let(serviceKey, now, 0);
      return;
    }
    // Within the window of the last sync: one more at its end.
    this.let(serviceKey, last + this.windowMs, last + this.windowMs - now);
  }

  private let(serviceKey: string, at: number, inMs: number): void {
    this.last.set(serviceKey, at);
    this.queue.addAfter(serviceKey, inMs);
    this.clock.setTimer(() => {
      if (this.last.get(serviceKey) === at) this.last.delete(serviceKey);
    }, inMs + this.windowMs);
  }
}
