// What a Service's endpoints are, pod by pod, as both endpoint controllers see them
// (upstream's k8s.io/endpointslice utils and endpointutil): which pods belong, their
// conditions, addresses and resolved ports, plus the last-change-trigger-time bookkeeping.
// Pure functions over plain objects; the controllers feed them informer-cache contents.

import { type KubeObject, parseTime } from "../../kube/objects.ts";
import { isPodReady } from "./pod-control.ts";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const ENDPOINTSLICE_CONTROLLER_NAME = "endpointslice-controller.k8s.io";
export const HEADLESS_LABEL = "service.kubernetes.io/headless";
export const TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time";
export const ZONE_LABEL = "topology.kubernetes.io/zone";

export type AddressType = "IPv4" | "IPv6";

export interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/**
 * The selector the endpoint controllers act on, or undefined when they leave the Service
 * alone: ExternalName Services and Services without a selector get their endpoints from
 * elsewhere. An empty selector counts as none (the API server stores it as nil upstream).
 */
export function serviceSelector(svc: KubeObject): Record<string, string> | undefined {
  if (svc.spec?.type === "ExternalName") return undefined;
  const sel = svc.spec?.selector;
  if (!sel || typeof sel !== "object" || Object.keys(sel).length === 0) return undefined;
  return sel;
}

export function selectorMatches(
  sel: Record<string, string>,
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel)) if (l[k] !== v) return false;
  return true;
}

/** Succeeded or Failed: the pod will never serve again. */
export function isPodTerminal(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/**
 * Upstream's ShouldPodBeInEndpoints: not terminal, has an IP, and (unless terminating pods are
 * wanted) not being deleted. EndpointSlices include terminating pods; Endpoints only with
 * publishNotReadyAddresses.
 */
export function shouldPodBeInEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && !(pod.status?.podIPs ?? []).length) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  return true;
}

export function isServiceIPSet(svc: KubeObject): boolean {
  const ip = svc.spec?.clusterIP;
  return Boolean(ip) && ip !== "None";
}

const isIPv6 = (ip: string) => ip.includes(":");

/** The address families a Service's endpoints are published in (upstream getAddressTypesForService). */
export function addressTypesForService(svc: KubeObject): AddressType[] {
  const types = new Set<AddressType>();
  for (const f of svc.spec?.ipFamilies ?? []) {
    if (f === "IPv4") types.add("IPv4");
    if (f === "IPv6") types.add("IPv6");
  }
  if (types.size) return [...types];
  // Families not defaulted yet: a ClusterIP tells; a headless Service gets both.
  if (isServiceIPSet(svc)) return [isIPv6(svc.spec.clusterIP) ? "IPv6" : "IPv4"];
  return ["IPv4", "IPv6"];
}

/** The pod's IPs of one family, from status.podIPs (or podIP on old pods). */
export function podAddresses(pod: KubeObject, type: AddressType): string[] {
  const ips: string[] = (pod.status?.podIPs ?? []).map((p: any) => p?.ip).filter(Boolean);
  if (!ips.length && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips.filter((ip) => isIPv6(ip) === (type === "IPv6"));
}

/** A pod's hostname is published when it asks for the Service as its subdomain. */
export function shouldSetHostname(pod: KubeObject, svc: KubeObject): boolean {
  return (
    Boolean(pod.spec?.hostname) &&
    pod.spec?.subdomain === svc.metadata.name &&
    pod.metadata.namespace === svc.metadata.namespace
  );
}

/**
 * Upstream's FindPort: a numeric targetPort is used as is; a named one is looked up among the
 * pod's container ports (and restartable init containers) with the same protocol. Undefined
 * when the pod has no such port.
 */
export function findPort(pod: KubeObject, servicePort: any): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === "number") return target;
  const protocol = servicePort.protocol ?? "TCP";
  const search = (containers: any[]) => {
    for (const c of containers)
      for (const p of c.ports ?? [])
        if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort as number;
    return undefined;
  };
  const sidecars = (pod.spec?.initContainers ?? []).filter((c: any) => c.restartPolicy === "Always");
  return search(pod.spec?.containers ?? []) ?? search(sidecars);
}

/**
 * One EndpointPort per Service port the pod resolves (ports it cannot resolve are left out,
 * as upstream does). A headless Service without ports publishes none.
 */
export function endpointPorts(svc: KubeObject, pod: KubeObject): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? "", port, protocol: sp.protocol ?? "TCP" };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

/** The conditions of a pod's endpoint, exactly as upstream's podToEndpoint sets them. */
export function endpointConditions(
  pod: KubeObject,
  publishNotReady: boolean,
): { ready: boolean; serving: boolean; terminating: boolean } {
  const serving = isPodReady(pod);
  const terminating = Boolean(pod.metadata.deletionTimestamp);
  // "ready" stays false for a terminating pod, for clients that only look at it.
  const ready = publishNotReady || (serving && !terminating);
  return { ready, serving, terminating };
}

/** A discovery/v1 Endpoint for a pod (podToEndpoint); `node` supplies the zone when known. */
export function podToEndpoint(
  pod: KubeObject,
  node: KubeObject | undefined,
  svc: KubeObject,
  type: AddressType,
): any {
  const ep: any = {
    addresses: podAddresses(pod, type),
    conditions: endpointConditions(pod, Boolean(svc.spec?.publishNotReadyAddresses)),
  };
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec.hostname;
  ep.targetRef = {
    kind: "Pod",
    namespace: pod.metadata.namespace,
    name: pod.metadata.name,
    uid: pod.metadata.uid,
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata.labels?.[ZONE_LABEL];
  if (zone) ep.zone = zone;
  return ep;
}

/**
 * Identity of an endpoint across syncs (upstream's endpoint hash): its addresses, hostname
 * and pod. Conditions and the like may change while the identity stays.
 */
export function endpointKey(ep: any): string {
  const ref = ep.targetRef ?? {};
  return JSON.stringify([ep.addresses ?? [], ep.hostname ?? "", ref.namespace ?? "", ref.name ?? ""]);
}

/** Identity of a port list; pods that resolve ports differently land in different slices. */
export function portsKey(ports: readonly any[] | undefined): string {
  const norm = (ports ?? []).map((p) => [
    p.name ?? "",
    p.port ?? null,
    p.protocol ?? "TCP",
    p.appProtocol ?? "",
  ]);
  norm.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return JSON.stringify(norm);
}

/**
 * Upstream's TriggerTimeTracker: the trigger time of a sync is the earliest of the changes it
 * reacts to, i.e. pods whose Ready condition moved since the previous sync, and the Service's
 * creation if the Service is new to the tracker. Undefined when nothing changed.
 */
export class TriggerTimeTracker {
  private readonly states = new Map<string, { pods: Map<string, number>; service: number }>();

  compute(svc: KubeObject, pods: readonly KubeObject[]): number | undefined {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const prev = this.states.get(key);
    let trigger: number | undefined;
    const earliest = (t: number) => {
      trigger = trigger === undefined ? t : Math.min(trigger, t);
    };
    const next = { pods: new Map<string, number>(), service: parseTime(svc.metadata.creationTimestamp) };
    for (const pod of pods) {
      const t = podTriggerTime(pod);
      if (Number.isNaN(t)) continue;
      next.pods.set(pod.metadata.name!, t);
      const before = prev?.pods.get(pod.metadata.name!);
      if (before === undefined || t > before) earliest(t);
    }
    if (!Number.isNaN(next.service) && (prev === undefined || next.service > prev.service))
      earliest(next.service);
    this.states.set(key, next);
    return trigger;
  }

  delete(namespace: string, name: string): void {
    this.states.delete(`${namespace}/${name}`);
  }
}

function podTriggerTime(pod: KubeObject): number {
  const ready = (pod.status?.conditions ?? []).find((c: any) => c.type === "Ready");
  return parseTime(ready?.lastTransitionTime);
}

/** RFC 3339 as Go's RFC3339Nano prints it (no trailing zeros in the fraction). */
export function formatTriggerTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, "Z");
}
