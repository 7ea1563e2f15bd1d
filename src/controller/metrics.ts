// Prometheus metrics of raven-controller (served on /metrics with the process defaults).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<"kind" | "result">;
  readonly reconcileSeconds: Histogram<"kind">;
  readonly backendOps: Counter<"op" | "result">;
  readonly leader: Gauge;
  readonly queueDepth: Gauge<"kind">;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "raven_controller_" });
    this.reconciles = new Counter({
      name: "raven_reconcile_total",
      help: "Reconciles by kind and result (ok, error)",
      labelNames: ["kind", "result"],
      registers: [this.registry],
    });
    this.reconcileSeconds = new Histogram({
      name: "raven_reconcile_duration_seconds",
      help: "Time spent in one reconcile",
      labelNames: ["kind"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [this.registry],
    });
    this.backendOps = new Counter({
      name: "raven_backend_operations_total",
      help: "SDN backend writes by operation and result",
      labelNames: ["op", "result"],
      registers: [this.registry],
    });
    this.leader = new Gauge({
      name: "raven_leader",
      help: "1 while this replica leads",
      registers: [this.registry],
    });
    this.queueDepth = new Gauge({
      name: "raven_workqueue_depth",
      help: "Keys waiting per work queue",
      labelNames: ["kind"],
      registers: [this.registry],
    });
  }

  /** Times `fn` as one reconcile of `kind`. */
  async observe<T>(kind: string, fn: () => Promise<T>): Promise<T> {
    const end = this.reconcileSeconds.startTimer({ kind });
    try {
      const r = await fn();
      this.reconciles.inc({ kind, result: "ok" });
      return r;
    } catch (err) {
      this.reconciles.inc({ kind, result: "error" });
      throw err;
    } finally {
      end();
    }
  }
}
