// The ServiceAccount controller: every active namespace has a `default` ServiceAccount, and
// gets it back if it is deleted.
import { isAlreadyExists, isForbidden, isNotFound } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { NAMESPACES, SERVICEACCOUNTS } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";

export interface ServiceAccountControllerOptions {
  /** The accounts every namespace gets. Default ["default"]. */
  names?: string[];
  /** Concurrent syncs. Default 2. */
  workers?: number;
}

export function isActive(ns: KubeObject | undefined): boolean {
  return Boolean(ns) && !ns!.metadata.deletionTimestamp && (ns!.status?.phase ?? "Active") === "Active";
}

export class ServiceAccountController implements Controller {
  readonly name = "serviceaccount-controller";
  private readonly names: string[];
  private readonly workers: number;
  private readonly queue = new WorkQueue();
  private namespaces!: SharedInformer;
  private accounts!: SharedInformer;

  constructor(opts: ServiceAccountControllerOptions = {}) {
    this.names = opts.names ?? ["default"];
    this.workers = opts.workers ?? 2;
  }

  setup(ctx: ControllerContext): void {
    this.namespaces = ctx.informers.informerFor(NAMESPACES);
    this.accounts = ctx.informers.informerFor(SERVICEACCOUNTS);
    const enqueue = (ns: KubeObject) => isActive(ns) && this.queue.add(ns.metadata.name!);
    this.namespaces.addEventHandler({ onAdd: enqueue, onUpdate: (_old, ns) => enqueue(ns) });
    this.accounts.addEventHandler({
      onDelete: (sa) => {
        if (this.names.includes(sa.metadata.name!)) this.queue.add(sa.metadata.namespace!);
      },
    });
  }

  run(ctx: ControllerContext): Promise<void> {
    return runQueue(ctx, this.name, this.queue, this.workers, async (namespace) => {
      if (!isActive(this.namespaces.get(namespace))) return;
      for (const name of this.names) {
        if (this.accounts.get(`${namespace}/${name}`)) continue;
        try {
          await ctx.client.create(SERVICEACCOUNTS, {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name, namespace },
          });
        } catch (err) {
          // Already there (the cache lags), or the namespace went or started terminating.
          if (isAlreadyExists(err) || isNotFound(err) || isForbidden(err)) continue;
          throw err;
        }
      }
    });
  }
}
