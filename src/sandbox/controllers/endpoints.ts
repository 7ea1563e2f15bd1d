// The Endpoints controller: the legacy core/v1 Endpoints object of every Service with a
// selector, named like the Service: ready pods under `addresses`, the others under
// `notReadyAddresses`, repacked into subsets by shared ports. Services without a selector
// (such as `kubernetes`) keep whatever Endpoints their owner writes.

import { isAlreadyExists, isConflict, isNotFound } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import { type KubeObject, objectKey, splitKey } from "../../kube/objects.ts";
import { ENDPOINTS, PODS, SERVICES } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";
import {
  formatTriggerTime,
  HEADLESS_LABEL,
  isServiceIPSet,
  serviceSelector,
  TRIGGER_TIME_ANNOTATION,
  TriggerTimeTracker,
} from "./endpoint-compute.ts";
import {
  buildSubsets,
  countAddresses,
  MAX_ENDPOINTS_ADDRESSES,
  OVER_CAPACITY_ANNOTATION,
  truncateSubsets,
} from "./endpoints-subsets.ts";
import { errorMessage } from "./pod-control.ts";
import { ensurePodLabelIndex, podChange, podsForService, serviceKeysForPod } from "./service-pods.ts";
import { canonicalJson } from "./template-hash.ts";

/** Marks the Endpoints this controller owns (1.33+), as opposed to user-written ones. */
export const ENDPOINTS_MANAGED_BY_LABEL = "endpoints.kubernetes.io/managed-by";
export const ENDPOINT_CONTROLLER_NAME = "endpoint-controller";

/** The labels of a Service's Endpoints: the Service's, the headless marker, and ours. */
export function endpointsLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (isServiceIPSet(svc)) delete labels[HEADLESS_LABEL];
  else labels[HEADLESS_LABEL] = "";
  labels[ENDPOINTS_MANAGED_BY_LABEL] = ENDPOINT_CONTROLLER_NAME;
  return labels;
}

export interface EndpointsControllerOptions {
  /** Services synced in parallel (upstream's --concurrent-endpoint-syncs). Default 5. */
  workers?: number;
}

export class EndpointsController implements Controller {
  readonly name = "endpoint-controller";
  private readonly queue = new WorkQueue();
  private readonly workers: number;
  private readonly triggerTimes = new TriggerTimeTracker();
  /** Service key → the resourceVersion our last update replaced (seeing it again means a stale cache). */
  private readonly replaced = new Map<string, string>();
  private services!: SharedInformer;
  private pods!: SharedInformer;
  private endpoints!: SharedInformer;

  constructor(opts: EndpointsControllerOptions = {}) {
    this.workers = opts.workers ?? 5;
  }

  setup(ctx: ControllerContext): void {
    this.services = ctx.informers.informerFor(SERVICES);
    this.pods = ctx.informers.informerFor(PODS);
    this.endpoints = ctx.informers.informerFor(ENDPOINTS);
    ensurePodLabelIndex(this.pods);
    const enqueue = (key: string) => this.queue.add(key);
    this.services.addEventHandler({
      onAdd: (s) => enqueue(objectKey(s)),
      onUpdate: (_o, s) => enqueue(objectKey(s)),
      onDelete: (s) => enqueue(objectKey(s)),
    });
    this.pods.addEventHandler({
      onAdd: (p) => serviceKeysForPod(this.services, p).forEach(enqueue),
      onUpdate: (old, cur) => {
        if (old === cur) return;
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
    // Someone deleted Endpoints we maintain: put them back.
    this.endpoints.addEventHandler({ onDelete: (ep) => enqueue(objectKey(ep)) });
  }

  run(ctx: ControllerContext): Promise<void> {
    // Endpoints we made for Services deleted while we were down are found at start.
    for (const ep of this.endpoints.list())
      if (ep.metadata.labels?.[ENDPOINTS_MANAGED_BY_LABEL] === ENDPOINT_CONTROLLER_NAME)
        this.queue.add(objectKey(ep));
    const recorder = ctx.recorder("endpoint-controller");
    return runQueue(ctx, this.name, this.queue, this.workers, (key) => this.sync(ctx, recorder, key));
  }

  private async sync(
    ctx: ControllerContext,
    recorder: ReturnType<ControllerContext["recorder"]>,
    key: string,
  ) {
    const { namespace, name } = splitKey(key);
    const svc = this.services.get(key);
    const current = this.endpoints.get(key);
    if (!svc) {
      this.triggerTimes.delete(namespace, name);
      this.replaced.delete(key);
      if (current?.metadata.labels?.[ENDPOINTS_MANAGED_BY_LABEL] !== ENDPOINT_CONTROLLER_NAME) return;
      try {
        await ctx.client.delete(ENDPOINTS, namespace, name, { preconditions: { uid: current.metadata.uid } });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
      return;
    }
    if (!serviceSelector(svc)) return;
    if (current && this.replaced.get(key) === current.metadata.resourceVersion) {
      // The cache has not caught up with our last update yet; its event will requeue us.
      this.queue.addAfter(key, 1000);
      return;
    }
    const pods = podsForService(this.pods, svc);
    const trigger = this.triggerTimes.compute(svc, pods);
    const subsets = buildSubsets(svc, pods);
    const labels = endpointsLabels(svc);
    const overCapacity = countAddresses(subsets) > MAX_ENDPOINTS_ADDRESSES;
    if (
      current &&
      canonicalJson(current.subsets ?? []) === canonicalJson(subsets) &&
      canonicalJson(current.metadata.labels ?? {}) === canonicalJson(labels) &&
      !overCapacity &&
      current.metadata.annotations?.[OVER_CAPACITY_ANNOTATION] === undefined
    )
      return;

    const annotations = { ...(current?.metadata.annotations ?? {}) };
    if (trigger !== undefined) annotations[TRIGGER_TIME_ANNOTATION] = formatTriggerTime(trigger);
    else delete annotations[TRIGGER_TIME_ANNOTATION];
    const truncated = truncateSubsets(subsets);
    if (truncated) annotations[OVER_CAPACITY_ANNOTATION] = "truncated";
    else delete annotations[OVER_CAPACITY_ANNOTATION];
    const metadata: KubeObject["metadata"] = current
      ? { ...current.metadata, labels, annotations }
      : { name, namespace, labels, annotations };
    if (!Object.keys(annotations).length) delete metadata.annotations;
    const desired: KubeObject = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata,
      subsets: truncated ?? subsets,
    };
    try {
      if (!current) {
        await ctx.client.create(ENDPOINTS, desired);
      } else {
        const updated = await ctx.client.update(ENDPOINTS, desired);
        if (updated.metadata.resourceVersion !== current.metadata.resourceVersion)
          this.replaced.set(key, current.metadata.resourceVersion!);
      }
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) throw err; // a stale cache: the retry sees fresh data
      const what = current ? "FailedToUpdateEndpoint" : "FailedToCreateEndpoint";
      const message = current
        ? `Failed to update endpoint ${key}: ${errorMessage(err)}`
        : `Failed to create endpoint for service ${key}: ${errorMessage(err)}`;
      recorder.event(desired, "Warning", what, message);
      throw err;
    }
  }
}
