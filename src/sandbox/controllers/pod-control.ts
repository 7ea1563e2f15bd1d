// What a pod-owning controller needs to know about pods and to make them: activeness,
// readiness and availability as upstream's podutil reads them, controller references, pods
// built from a template, and slow-start batches for issuing many creates.

import { KubeApiError } from "../../kube/errors.ts";
import { type KubeObject, type OwnerReference, parseTime } from "../../kube/objects.ts";

/** Not finished (Succeeded/Failed) and not being deleted: counts towards replicas. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata.deletionTimestamp;
}

function readyCondition(pod: KubeObject): any {
  return (pod.status?.conditions ?? []).find((c: any) => c.type === "Ready");
}

export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod)?.status === "True";
}

/** When the pod last became ready (ms since the epoch), or NaN when not ready or unknown. */
export function podReadySince(pod: KubeObject): number {
  return isPodReady(pod) ? parseTime(readyCondition(pod).lastTransitionTime) : Number.NaN;
}

/** Ready for at least `minReadySeconds` (upstream's IsPodAvailable). */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const since = podReadySince(pod);
  return !Number.isNaN(since) && since + minReadySeconds * 1000 < now;
}

export function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

/** The owner reference a controller puts on what it owns. */
export function controllerRefTo(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * A new pod from a controller's template (upstream's GetPodFromTemplate): the template's
 * labels, annotations, finalizers and spec, a generated name prefixed with the owner's name,
 * and the controller reference.
 */
export function podFromTemplate(template: any, owner: KubeObject, ref: OwnerReference): KubeObject {
  const meta = template?.metadata ?? {};
  const pod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      ownerReferences: [ref],
    },
    spec: structuredClone(template?.spec ?? {}),
  };
  if (meta.annotations && Object.keys(meta.annotations).length)
    pod.metadata.annotations = { ...meta.annotations };
  if (meta.finalizers?.length) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}

/** The batch sizes slowStartBatch uses: initial, then doubling, capped by what is left. */
export function slowStartBatchSizes(count: number, initial: number): number[] {
  const sizes: number[] = [];
  let remaining = count;
  for (let size = Math.min(remaining, initial); size > 0; size = Math.min(2 * size, remaining)) {
    sizes.push(size);
    remaining -= size;
  }
  return sizes;
}

/**
 * Calls `fn` `count` times in batches of 1, 2, 4, … (upstream's slowStartBatch), all calls of
 * a batch in parallel, and stops after the first batch with a failure: a create that fails
 * (quota, admission, an invalid template) then costs a handful of requests, not hundreds.
 */
export async function slowStartBatch(
  count: number,
  initial: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; error?: unknown }> {
  let successes = 0;
  for (const size of slowStartBatchSizes(count, initial)) {
    const results = await Promise.allSettled(Array.from({ length: size }, () => fn()));
    let error: unknown;
    for (const r of results) {
      if (r.status === "fulfilled") successes++;
      else error ??= r.reason;
    }
    if (error !== undefined) return { successes, error };
  }
  return { successes };
}

/** The server's own message for an API error (what upstream prints with %v), else the error text. */
export function errorMessage(err: unknown): string {
  if (err instanceof KubeApiError) return err.status.message || err.message;
  return err instanceof Error ? err.message : String(err);
}
