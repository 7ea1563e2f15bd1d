// A level-triggered sync of one whole thing (the node's networks, its Service rules): run once
// at start, then again after every change; changes that arrive while it runs fold into one
// more run (a work queue with one key), and a failed run is retried with backoff.
import type { Logger } from "../kube/log.ts";
import { runWorkers, WorkQueue } from "../kube/workqueue.ts";

export class SyncLoop {
  private readonly queue = new WorkQueue();
  private readonly sync: () => Promise<void>;
  private readonly log: Logger;
  /** What a failed run did not do, for the warning (e.g. "service rules not applied"). */
  private readonly failure: string;

  constructor(sync: () => Promise<void>, log: Logger, failure: string) {
    this.sync = sync;
    this.log = log;
    this.failure = failure;
  }

  /** Something changed: run soon (once, however many changes come meanwhile). */
  changed(): void {
    this.queue.add("sync");
  }

  /** Runs once now, then on every change until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener("abort", () => this.queue.shutDown(), { once: true });
    this.changed();
    await runWorkers(this.queue, 1, () => this.sync(), {
      logger: this.log,
      onError: (_key, err, requeues) =>
        this.log.warn({ err: String(err), requeues }, `${this.failure}; will retry`),
    });
  }
}
