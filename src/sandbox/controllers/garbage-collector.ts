// The garbage collector: deletes objects whose owners are gone, and carries out the
// Foreground and Orphan propagation policies the API server records as finalizers.
//
// It watches every resource that can be listed, watched and deleted (found by discovery,
// refreshed periodically and whenever CRDs change), feeds a UID graph of who owns whom, and
// queues UIDs that need a look; GcWorker does the looking. Built-in resources are watched
// through the shared informer factory (pods are not watched twice); resources of CRDs get
// private, metadata-only informers, because those must stop when their CRD goes and the
// factory cannot stop one informer.

import { SharedInformer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { CRDS } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";
import {
  type DiscoveredResource,
  type DiscoveryClient,
  discover,
  type ResourceMap,
  resourceId,
  supports,
} from "./discovery.ts";
import { GcWorker } from "./gc-worker.ts";
import { OwnerGraph } from "./owner-graph.ts";

export interface GarbageCollectorOptions {
  /** How often discovery is re-read for new and vanished resources. Default 30 s. */
  discoveryIntervalMs?: number;
  /** Concurrent syncs. Default 8. */
  workers?: number;
  /** How long to wait for the first list of every watched resource before acting. Default 60 s. */
  initialSyncTimeoutMs?: number;
  /** Discovery; replaceable in tests. */
  discover?: (client: DiscoveryClient, signal: AbortSignal) => Promise<ResourceMap>;
}

interface Monitor {
  resource: DiscoveredResource;
  informer: SharedInformer;
  unregister: () => void;
  /** Set for private informers: stops them. */
  stop?: AbortController;
}

// Events are never owners worth waiting for and far too many to watch (upstream skips them too).
const IGNORED = new Set(["/events", "events.k8s.io/events"]);

export class GarbageCollector implements Controller {
  readonly name = "garbagecollector";
  private readonly opts: GarbageCollectorOptions;
  private readonly queue = new WorkQueue();
  private readonly graph = new OwnerGraph<DiscoveredResource>();
  private readonly monitors = new Map<string, Monitor>();
  private resources: ResourceMap | undefined;
  private crds!: SharedInformer;
  private wake: (() => void) | undefined;
  private kicked = false;

  constructor(opts: GarbageCollectorOptions = {}) {
    this.opts = opts;
  }

  setup(ctx: ControllerContext): void {
    this.crds = ctx.informers.informerFor(CRDS);
    const kick = () => this.kickDiscovery();
    this.crds.addEventHandler({ onAdd: kick, onUpdate: kick, onDelete: kick });
  }

  async run(ctx: ControllerContext): Promise<void> {
    const log = ctx.log.child({ controller: this.name });
    const recorder = ctx.recorder("garbage-collector-controller");
    const worker = new GcWorker({
      client: ctx.client,
      graph: this.graph,
      resources: () => this.resources,
      enqueue: (uid) => this.queue.add(uid),
      warn: (obj, reason, message) => recorder.event(obj, "Warning", reason, message),
    });
    // The first discovery must succeed before anything can be judged.
    for (let delay = 500; !ctx.signal.aborted; delay = Math.min(delay * 2, 10_000)) {
      try {
        await this.refresh(ctx);
        break;
      } catch (err) {
        log.warn({ err: String(err) }, "discovery failed; retrying");
        await waitFor(delay, ctx.signal);
      }
    }
    // Judge only once the graph is complete, or an owner not yet listed costs a live GET.
    const synced = await this.waitForMonitors(ctx.signal, this.opts.initialSyncTimeoutMs ?? 60_000);
    if (!synced && !ctx.signal.aborted)
      log.warn("not every watched resource has synced; collecting garbage anyway");
    log.info({ resources: this.monitors.size, objects: this.graph.size }, "garbage collector running");
    await Promise.all([
      runQueue(ctx, this.name, this.queue, this.opts.workers ?? 8, (uid) => worker.sync(uid)),
      this.discoveryLoop(ctx, log),
    ]);
    for (const m of this.monitors.values()) m.stop?.abort();
  }

  /** Resources currently watched, as `group/plural` (for tests and debugging). */
  watchedResources(): string[] {
    return [...this.monitors.keys()].sort();
  }

  private kickDiscovery(): void {
    this.kicked = true;
    this.wake?.();
  }

  private async discoveryLoop(ctx: ControllerContext, log: ControllerContext["log"]): Promise<void> {
    const interval = this.opts.discoveryIntervalMs ?? 30_000;
    while (!ctx.signal.aborted) {
      if (!this.kicked)
        await waitFor(interval, ctx.signal, (wake) => {
          this.wake = wake;
        });
      this.wake = undefined;
      if (ctx.signal.aborted) return;
      await waitFor(200, ctx.signal); // let a burst of CRD changes settle
      this.kicked = false;
      try {
        await this.refresh(ctx);
      } catch (err) {
        log.warn({ err: String(err) }, "discovery failed; keeping the resources watched so far");
      }
    }
  }

  /** Re-reads discovery and starts or stops watching resources to match. */
  private async refresh(ctx: ControllerContext): Promise<void> {
    const map = await (this.opts.discover ?? discover)(ctx.client, ctx.signal);
    const custom = new Set(
      this.crds.list().map((c: KubeObject) => `${c.spec?.group}/${c.spec?.names?.plural}`),
    );
    const wanted = new Map<string, DiscoveredResource>();
    for (const r of map.preferred()) {
      const id = resourceId(r);
      if (!IGNORED.has(id) && supports(r, "list", "watch", "delete")) wanted.set(id, r);
    }
    for (const [id, m] of this.monitors) {
      const next = wanted.get(id);
      // A group that failed discovery keeps its monitors: failing to ask is not absence.
      if (!next && map.groupFailed(m.resource.group)) continue;
      if (!next || next.version !== m.resource.version) this.removeMonitor(id);
    }
    for (const [id, r] of wanted) if (!this.monitors.has(id)) this.addMonitor(ctx, r, custom.has(id));
    this.resources = map;
    ctx.informers.start(ctx.signal);
  }

  private addMonitor(ctx: ControllerContext, resource: DiscoveredResource, custom: boolean): void {
    const plain = {
      group: resource.group,
      version: resource.version,
      plural: resource.plural,
      namespaced: resource.namespaced,
    };
    let informer: SharedInformer;
    let stop: AbortController | undefined;
    if (custom) {
      stop = new AbortController();
      informer = new SharedInformer(ctx.client.listerWatcher(plain), {
        name: `gc ${resourceId(resource)}`,
        transform: metadataOnly,
        logger: ctx.log,
      });
      const signal = AbortSignal.any([ctx.signal, stop.signal]);
      void informer.start(signal);
    } else {
      informer = ctx.informers.informerFor(plain);
    }
    const enqueueAll = (uids: string[]) => {
      for (const uid of uids) this.queue.add(uid);
    };
    const unregister = informer.addEventHandler({
      onAdd: (obj) => enqueueAll(this.graph.observe(obj, resource)),
      onUpdate: (_old, obj) => enqueueAll(this.graph.observe(obj, resource)),
      onDelete: (obj) => enqueueAll(this.graph.forget(obj.metadata.uid ?? "")),
    });
    this.monitors.set(resourceId(resource), { resource, informer, unregister, stop });
  }

  private removeMonitor(id: string): void {
    const m = this.monitors.get(id);
    if (!m) return;
    m.unregister();
    m.stop?.abort();
    this.monitors.delete(id);
    // Objects of a resource no longer served are gone; their dependents need a look.
    for (const node of this.graph.nodesOf((r) => resourceId(r) === id))
      for (const uid of this.graph.forget(node.uid)) this.queue.add(uid);
  }

  private async waitForMonitors(signal: AbortSignal, timeoutMs: number): Promise<boolean> {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const results = await Promise.all(
      [...this.monitors.values()].map((m) => m.informer.waitForSync(timeout)),
    );
    return results.every(Boolean);
  }
}

/** What the graph needs of an object; the rest is not worth keeping in memory. */
function metadataOnly(obj: KubeObject): KubeObject {
  const m = obj.metadata;
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      deletionTimestamp: m.deletionTimestamp,
      finalizers: m.finalizers,
      ownerReferences: m.ownerReferences,
    },
  };
}

/** Resolves after `ms`, on abort, or when the function handed to `onWake` is called. */
function waitFor(ms: number, signal: AbortSignal, onWake?: (wake: () => void) => void): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    onWake?.(done);
  });
}
