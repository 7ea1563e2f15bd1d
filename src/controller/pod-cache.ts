// What raven-controller keeps of a pod in its cache: the metadata (without managedFields) and
// the few spec and status fields its decisions read (and named container ports, for policies). The controller caches every pod of the
// cluster, and containers, volumes and status conditions are most of a pod's size (client-go
// controllers trim their caches the same way, with SetTransform).
import type { KubeObject } from "../kube/objects.ts";

/** The pod as the controller caches it; the informer hands it the freshly decoded object. */
export function trimPod(pod: KubeObject): KubeObject {
  const { managedFields: _m, ...metadata } = pod.metadata ?? {};
  const spec: Record<string, unknown> = {};
  if (pod.spec?.nodeName !== undefined) spec.nodeName = pod.spec.nodeName;
  if (pod.spec?.hostNetwork !== undefined) spec.hostNetwork = pod.spec.hostNetwork;
  // Named container ports, which NetworkPolicies can name (only those: the rest is never read).
  const containers = ((pod.spec?.containers ?? []) as { ports?: { name?: string }[] }[]).map((c) => ({
    ports: (c.ports ?? []).filter((p) => p.name),
  }));
  if (containers.some((c) => c.ports.length)) spec.containers = containers.filter((c) => c.ports.length);
  const status: Record<string, unknown> = {};
  if (pod.status?.phase !== undefined) status.phase = pod.status.phase;
  return { apiVersion: pod.apiVersion, kind: pod.kind, metadata, spec, status } as KubeObject;
}
