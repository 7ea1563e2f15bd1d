// The EndpointSlice controller: for every Service with a selector, discovery.k8s.io/v1
// EndpointSlices listing the matching pods (addresses, ready/serving/terminating, node, ports),
// at most 100 endpoints a slice. Raven's load-balancer members come from these slices, so pod
// events enqueue their Services at once (no batching) and a sync writes only what changed.

import { isConflict, isNotFound } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import { type KubeObject, objectKey, splitKey } from "../../kube/objects.ts";
import { ENDPOINTSLICES, NODES, PODS, SERVICES } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";
import {
  ENDPOINTSLICE_CONTROLLER_NAME,
  formatTriggerTime,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  serviceSelector,
  TRIGGER_TIME_ANNOTATION,
  TriggerTimeTracker,
} from "./endpoint-compute.ts";
import {
  DEFAULT_MAX_ENDPOINTS_PER_SLICE,
  desiredEndpoints,
  planEndpointSlices,
} from "./endpointslice-plan.ts";
import { EndpointSliceTracker } from "./endpointslice-tracker.ts";
import { errorMessage } from "./pod-control.ts";
import { ensurePodLabelIndex, podChange, podsForService, serviceKeysForPod } from "./service-pods.ts";

/** Managed slices by the key of their Service. */
const SLICE_SERVICE_INDEX = "raven.endpointslice/service";

function sliceServiceKey(slice: KubeObject): string | undefined {
  const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  if (!svc || slice.metadata.labels?.[MANAGED_BY_LABEL] !== ENDPOINTSLICE_CONTROLLER_NAME) return undefined;
  return `${slice.metadata.namespace}/${svc}`;
}

export interface EndpointSliceControllerOptions {
  /** Services synced in parallel (upstream's --concurrent-service-endpoint-syncs). Default 5. */
  workers?: number;
  /** Default 100 (upstream's --max-endpoints-per-slice). */
  maxEndpointsPerSlice?: number;
}

export class EndpointSliceController implements Controller {
  readonly name = "endpointslice-controller";
  private readonly queue = new WorkQueue();
  private readonly workers: number;
  private readonly maxPerSlice: number;
  private readonly tracker = new EndpointSliceTracker();
  private readonly triggerTimes = new TriggerTimeTracker();
  private services!: SharedInformer;
  private pods!: SharedInformer;
  private slices!: SharedInformer;
  private nodes!: SharedInformer;

  constructor(opts: EndpointSliceControllerOptions = {}) {
    this.workers = opts.workers ?? 5;
    this.maxPerSlice = opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
  }

  setup(ctx: ControllerContext): void {
    this.services = ctx.informers.informerFor(SERVICES);
    this.pods = ctx.informers.informerFor(PODS);
    this.slices = ctx.informers.informerFor(ENDPOINTSLICES);
    this.nodes = ctx.informers.informerFor(NODES);
    ensurePodLabelIndex(this.pods);
    this.slices.addIndexer(SLICE_SERVICE_INDEX, (s) => {
      const key = sliceServiceKey(s);
      return key ? [key] : [];
    });

    const enqueue = (key: string) => this.queue.add(key);
    this.services.addEventHandler({
      onAdd: (s) => enqueue(objectKey(s)),
      onUpdate: (_o, s) => enqueue(objectKey(s)),
      onDelete: (s) => enqueue(objectKey(s)),
    });
    this.pods.addEventHandler({
      onAdd: (p) => serviceKeysForPod(this.services, p).forEach(enqueue),
      onUpdate: (old, cur) => {
        if (old === cur) return; // resync: nothing new
        const change = podChange(old, cur);
        if (change.labels) {
          for (const k of new Set([
            ...serviceKeysForPod(this.services, old),
            ...serviceKeysForPod(this.services, cur),
          ]))
            enqueue(k);
        } else if (change.endpoint) {
          serviceKeysForPod(this.services, cur).forEach(enqueue);
        }
      },
      onDelete: (p) => serviceKeysForPod(this.services, p).forEach(enqueue),
    });
    // Our own writes coming back need no sync; anyone else's change to our slices does.
    this.slices.addEventHandler({
      onAdd: (s) => {
        const key = sliceServiceKey(s);
        if (key && this.tracker.shouldSync(key, s)) enqueue(key);
      },
      onUpdate: (old, s) => {
        const key = sliceServiceKey(s);
        const oldKey = sliceServiceKey(old);
        if (oldKey && oldKey !== key) enqueue(oldKey);
        if (key && this.tracker.shouldSync(key, s)) enqueue(key);
      },
      onDelete: (s) => {
        const key = sliceServiceKey(s);
        if (key && this.tracker.observeDeletion(key, s.metadata.name!)) enqueue(key);
      },
    });
  }

  run(ctx: ControllerContext): Promise<void> {
    const recorder = ctx.recorder("endpointslice-controller");
    return runQueue(ctx, this.name, this.queue, this.workers, async (key) => {
      const svc = this.services.get(key);
      const managed = this.slices.byIndex(SLICE_SERVICE_INDEX, key);
      if (!svc || !serviceSelector(svc)) {
        // Gone, or no longer ours to manage: its slices go too.
        await this.deleteAll(ctx, key, managed);
        const { namespace, name } = splitKey(key);
        this.triggerTimes.delete(namespace, name);
        return;
      }
      // The garbage collector is removing the Service's slices; do not race it.
      if (svc.metadata.deletionTimestamp) return;
      if (this.tracker.stale(key, managed)) {
        // Our last writes have not reached the cache; their events will requeue the Service.
        this.queue.addAfter(key, 1000);
        return;
      }
      const pods = podsForService(this.pods, svc);
      const trigger = this.triggerTimes.compute(svc, pods);
      const desired = desiredEndpoints(svc, pods, (name) => this.nodes.get(name));
      const plan = planEndpointSlices(svc, desired.groups, managed, this.maxPerSlice);
      try {
        await this.apply(ctx, key, plan, trigger);
      } catch (err) {
        if (!isConflict(err))
          recorder.event(
            svc,
            "Warning",
            "FailedToUpdateEndpointSlices",
            `Error updating Endpoint Slices for Service ${key}: ${errorMessage(err)}`,
          );
        throw err;
      }
      if (desired.podsOnUnknownNodes.length)
        throw new Error(`pods of ${key} on unknown nodes left out: ${desired.podsOnUnknownNodes.join(", ")}`);
    });
  }

  /** Creates and updates first, deletes last, so endpoints never vanish in between. */
  private async apply(
    ctx: ControllerContext,
    key: string,
    plan: { create: KubeObject[]; update: KubeObject[]; delete: KubeObject[] },
    trigger: number | undefined,
  ): Promise<void> {
    const stamp = (slice: KubeObject): KubeObject => {
      const annotations = { ...(slice.metadata.annotations ?? {}) };
      if (trigger !== undefined) annotations[TRIGGER_TIME_ANNOTATION] = formatTriggerTime(trigger);
      else delete annotations[TRIGGER_TIME_ANNOTATION];
      const metadata: KubeObject["metadata"] = { ...slice.metadata, annotations };
      if (!Object.keys(annotations).length) delete metadata.annotations;
      return { ...slice, metadata };
    };
    await Promise.all([
      ...plan.create.map(async (s) =>
        this.tracker.written(key, await ctx.client.create(ENDPOINTSLICES, stamp(s))),
      ),
      ...plan.update.map(async (s) =>
        this.tracker.written(key, await ctx.client.update(ENDPOINTSLICES, stamp(s))),
      ),
    ]);
    await this.deleteAll(ctx, key, plan.delete);
  }

  private async deleteAll(ctx: ControllerContext, key: string, slices: readonly KubeObject[]): Promise<void> {
    await Promise.all(
      slices.map(async (s) => {
        try {
          await ctx.client.delete(ENDPOINTSLICES, s.metadata.namespace!, s.metadata.name!, {
            preconditions: { uid: s.metadata.uid },
          });
        } catch (err) {
          if (!isNotFound(err) && !isConflict(err)) throw err;
        }
        this.tracker.deleted(key, s.metadata.name!);
      }),
    );
  }
}
