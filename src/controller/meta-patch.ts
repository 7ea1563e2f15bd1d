// Metadata writes as strategic merge patches: annotations merge key by key and finalizers
// merge as a set (patchStrategy=merge upstream), so a patch needs no resourceVersion and
// never conflicts with the kubelet's status writes or other controllers' finalizers. The
// object's uid rides along as a precondition: a patch computed from a cached object must not
// land on another object created under the same name since (409 Conflict instead).
import type { KubeObject } from "../kube/objects.ts";

export interface MetadataWant {
  /** Annotation values to set; null removes the key. */
  annotations?: Record<string, string | null>;
  /** A finalizer to have (true) or not have (false). */
  finalizer?: { name: string; present: boolean };
}

/** The patch that brings `obj` to `want`, or undefined when it already is there. */
export function metadataPatch(obj: KubeObject, want: MetadataWant): Record<string, unknown> | undefined {
  const current = obj.metadata.annotations ?? {};
  const annotations: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(want.annotations ?? {})) {
    if (v === null ? k in current : current[k] !== v) annotations[k] = v;
  }
  const metadata: Record<string, unknown> = {};
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  if (want.finalizer) {
    const has = obj.metadata.finalizers?.includes(want.finalizer.name) ?? false;
    if (want.finalizer.present && !has) metadata.finalizers = [want.finalizer.name];
    if (!want.finalizer.present && has)
      metadata["$deleteFromPrimitiveList/finalizers"] = [want.finalizer.name];
  }
  if (!Object.keys(metadata).length) return undefined;
  if (obj.metadata.uid) metadata.uid = obj.metadata.uid;
  return { metadata };
}
