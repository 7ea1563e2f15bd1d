// What every built-in controller gets: a client, the shared informers, event recorders and
// a logger, plus the sample-controller loop (informer events enqueue keys; workers sync them).
import type { Logger } from "pino";
import type { KubeClient } from "../../kube/client.ts";
import { EventRecorder, kubeEventSink } from "../../kube/events.ts";
import type { SharedInformerFactory } from "../../kube/informer-factory.ts";
import { runWorkers, WorkQueue } from "../../kube/workqueue.ts";

export interface ControllerContext {
  client: KubeClient;
  informers: SharedInformerFactory;
  log: Logger;
  signal: AbortSignal;
  recorder(component: string): EventRecorder;
}

export interface Controller {
  readonly name: string;
  /** Registers informers and handlers; called before the informers start. */
  setup(ctx: ControllerContext): void;
  /** Runs until ctx.signal aborts (called once the informers have synced). */
  run(ctx: ControllerContext): Promise<void>;
}

export interface Recorders {
  recorder(component: string): EventRecorder;
  /** Stops every recorder (pending events are dropped). */
  close(): Promise<void>;
}

/** One event recorder per component, created on first use. */
export function makeRecorders(client: KubeClient, log: Logger): Recorders {
  const recorders = new Map<string, EventRecorder>();
  return {
    recorder(component) {
      let r = recorders.get(component);
      if (!r) {
        r = new EventRecorder({ sink: kubeEventSink(client), component, logger: log, maxQueue: 5000 });
        recorders.set(component, r);
      }
      return r;
    },
    async close() {
      await Promise.all([...recorders.values()].map((r) => r.close()));
    },
  };
}

/** Runs `workers` workers over `queue` until the signal aborts, then drains. */
export async function runQueue(
  ctx: ControllerContext,
  name: string,
  queue: WorkQueue,
  workers: number,
  sync: (key: string) => Promise<void>,
): Promise<void> {
  const log = ctx.log.child({ controller: name });
  ctx.signal.addEventListener("abort", () => queue.shutDown(), { once: true });
  await runWorkers(queue, workers, sync, {
    logger: log,
    onError: (key, err, requeues) => {
      if (requeues < 3) log.debug({ key, err: String(err), requeues }, "sync failed; retrying");
      else log.warn({ key, err: String(err), requeues }, "sync keeps failing; retrying with backoff");
    },
  });
}

export { WorkQueue };
