// Reports the binding state of this node's ports to the backend: ACTIVE once a pod is bound to
// its port, DOWN once unbound. Level-triggered: the wanted state per port is kept until the
// backend has it (retries with backoff through a work queue), and at start the agent derives it
// from what the node really has (the node ends of pod veths name their ports), so a port bound
// or unbound while the agent was down still ends up right.
import type { Logger } from "../kube/log.ts";
import { runWorkers, WorkQueue } from "../kube/workqueue.ts";
import type { Port, PortState } from "../sdn/model.ts";

export interface PortStatusWriter {
  setPortStatus(portId: string, state: PortState): Promise<void>;
}

export class PortStatusReporter {
  private readonly wanted = new Map<string, PortState>();
  private readonly queue = new WorkQueue();
  private readonly writer: PortStatusWriter;
  private readonly log: Logger;

  constructor(writer: PortStatusWriter, log: Logger) {
    this.writer = writer;
    this.log = log;
  }

  set(portId: string, state: PortState): void {
    this.wanted.set(portId, state);
    this.queue.add(portId);
  }

  /**
   * The node as it is: `bound` are the ports whose veths exist here; every other port bound to
   * this node (`ports`) that the backend shows ACTIVE is not bound any more.
   */
  resync(bound: ReadonlySet<string>, ports: Port[]): void {
    for (const id of bound) this.set(id, "ACTIVE");
    for (const p of ports) if (!bound.has(p.id) && p.status === "ACTIVE") this.set(p.id, "DOWN");
  }

  /** Works the queue until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener("abort", () => this.queue.shutDown(), { once: true });
    await runWorkers(this.queue, 2, (id) => this.sync(id), {
      logger: this.log,
      onError: (key, err, requeues) =>
        this.log.warn({ port: key, err: String(err), requeues }, "port status not written; will retry"),
    });
  }

  private async sync(portId: string): Promise<void> {
    const state = this.wanted.get(portId);
    if (!state) return;
    await this.writer.setPortStatus(portId, state);
    // A newer wish (set while writing) queued the key again; keep it for that turn.
    if (this.wanted.get(portId) === state) this.wanted.delete(portId);
  }
}
