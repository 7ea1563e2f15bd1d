// Which pods a Service selects and which Services select a pod, answered from the informer
// caches. Pods are indexed by `namespace/key=value` for each label, so a Service's pods are
// one index lookup (for its rarest selector pair) plus a filter, not a scan of the namespace:
// readiness flips must reach the endpoint objects in milliseconds even with many pods.

import type { SharedInformer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { selectorMatches, serviceSelector } from "./endpoint-compute.ts";

export const POD_LABEL_INDEX = "raven.endpoints/label";

const labelPair = (namespace: string, key: string, value: string) => `${namespace}/${key}=${value}`;

export function podLabelIndex(pod: KubeObject): string[] {
  const ns = pod.metadata.namespace ?? "";
  return Object.entries(pod.metadata.labels ?? {}).map(([k, v]) => labelPair(ns, k, v));
}

/** Adds the label index unless the other endpoint controller sharing the informer already did. */
export function ensurePodLabelIndex(pods: SharedInformer): void {
  try {
    pods.indexKeys(POD_LABEL_INDEX, "");
  } catch {
    pods.addIndexer(POD_LABEL_INDEX, podLabelIndex);
  }
}

/** The pods of `namespace` matching every pair of `selector` (non-empty). */
export function podsForSelector(
  pods: SharedInformer,
  namespace: string,
  selector: Record<string, string>,
): KubeObject[] {
  let best: string[] | undefined;
  for (const [k, v] of Object.entries(selector)) {
    const keys = pods.indexKeys(POD_LABEL_INDEX, labelPair(namespace, k, v));
    if (!best || keys.length < best.length) best = keys;
    if (!keys.length) break;
  }
  const out: KubeObject[] = [];
  for (const key of best ?? []) {
    const pod = pods.get(key);
    if (pod && selectorMatches(selector, pod.metadata.labels)) out.push(pod);
  }
  return out;
}

/** The pods a Service's endpoints are made of (none for Services the controllers skip). */
export function podsForService(pods: SharedInformer, svc: KubeObject): KubeObject[] {
  const sel = serviceSelector(svc);
  return sel ? podsForSelector(pods, svc.metadata.namespace!, sel) : [];
}

/** Keys of the Services in the pod's namespace whose selector matches the pod's labels. */
export function serviceKeysForPod(services: SharedInformer, pod: KubeObject): string[] {
  const out: string[] = [];
  for (const svc of services.byIndex("namespace", pod.metadata.namespace ?? "")) {
    const sel = serviceSelector(svc);
    if (sel && selectorMatches(sel, pod.metadata.labels))
      out.push(`${svc.metadata.namespace}/${svc.metadata.name}`);
  }
  return out;
}

function readyStatus(pod: KubeObject): string | undefined {
  return (pod.status?.conditions ?? []).find((c: any) => c.type === "Ready")?.status;
}

const ips = (pod: KubeObject) =>
  JSON.stringify([pod.status?.podIP ?? "", (pod.status?.podIPs ?? []).map((p: any) => p?.ip)]);

/**
 * Whether an update can change the pod's endpoints (upstream's podEndpointsChanged, plus the
 * phase, which decides whether a finished pod still counts): `labels` when its Service
 * membership may have changed, `endpoint` when its endpoint itself may have.
 */
export function podChange(old: KubeObject, cur: KubeObject): { labels: boolean; endpoint: boolean } {
  const labels =
    JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(cur.metadata.labels ?? {}) ||
    old.spec?.hostname !== cur.spec?.hostname ||
    old.spec?.subdomain !== cur.spec?.subdomain;
  const endpoint =
    old.metadata.deletionTimestamp !== cur.metadata.deletionTimestamp ||
    readyStatus(old) !== readyStatus(cur) ||
    old.status?.phase !== cur.status?.phase ||
    old.spec?.nodeName !== cur.spec?.nodeName ||
    ips(old) !== ips(cur);
  return { labels, endpoint };
}
