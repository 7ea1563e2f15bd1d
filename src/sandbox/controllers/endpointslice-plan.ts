// The EndpointSlice reconciler's arithmetic (upstream's k8s.io/endpointslice Reconciler): from
// the endpoints a Service should have and the slices it has, which slices to create, update
// and delete. Slices keep their names: endpoints are updated in place, new endpoints fill
// slices that change anyway before untouched ones, a slice that would be deleted is reused
// for one that would be created, and a Service without endpoints keeps one empty placeholder.

import type { KubeObject } from "../../kube/objects.ts";
import {
  type AddressType,
  addressTypesForService,
  ENDPOINTSLICE_CONTROLLER_NAME,
  type EndpointPort,
  endpointKey,
  endpointPorts,
  HEADLESS_LABEL,
  isServiceIPSet,
  MANAGED_BY_LABEL,
  podToEndpoint,
  portsKey,
  SERVICE_NAME_LABEL,
  shouldPodBeInEndpoints,
} from "./endpoint-compute.ts";
import { controllerRefTo } from "./pod-control.ts";
import { canonicalJson } from "./template-hash.ts";

export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

/** Endpoints that share an address type and resolved ports, so they can share slices. */
export interface DesiredGroup {
  addressType: AddressType;
  ports: EndpointPort[];
  /** Keyed by endpointKey, in the order they should be added. */
  endpoints: Map<string, any>;
}

export interface DesiredEndpoints {
  groups: DesiredGroup[];
  /** Pods left out because the node they run on is unknown (upstream retries these). */
  podsOnUnknownNodes: string[];
}

export interface SlicePlan {
  create: KubeObject[];
  update: KubeObject[];
  delete: KubeObject[];
}

/** The endpoints of a Service, grouped by address type and ports (pods sorted by name). */
export function desiredEndpoints(
  svc: KubeObject,
  pods: readonly KubeObject[],
  nodeOf: (name: string) => KubeObject | undefined,
): DesiredEndpoints {
  const sorted = [...pods].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  const publishNotReady = Boolean(svc.spec?.publishNotReadyAddresses);
  const groups = new Map<string, DesiredGroup>();
  const unknown = new Set<string>();
  for (const addressType of addressTypesForService(svc)) {
    for (const pod of sorted) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const nodeName: string | undefined = pod.spec?.nodeName;
      const node = nodeName ? nodeOf(nodeName) : undefined;
      // Publishing a pod on a node that does not exist could leave it in the slice forever.
      if (!node && !publishNotReady) {
        unknown.add(pod.metadata.name!);
        continue;
      }
      const ep = podToEndpoint(pod, node, svc, addressType);
      if (!ep.addresses.length) continue;
      const ports = endpointPorts(svc, pod);
      const key = `${addressType}|${portsKey(ports)}`;
      let g = groups.get(key);
      if (!g) {
        g = { addressType, ports, endpoints: new Map() };
        groups.set(key, g);
      }
      g.endpoints.set(endpointKey(ep), ep);
    }
  }
  return { groups: [...groups.values()], podsOnUnknownNodes: [...unknown] };
}

/** The labels a Service's slices carry: the Service's own, plus the reserved ones. */
export function sliceLabels(
  svc: KubeObject,
  controllerName = ENDPOINTSLICE_CONTROLLER_NAME,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {}))
    if (k !== SERVICE_NAME_LABEL && k !== MANAGED_BY_LABEL && k !== HEADLESS_LABEL) labels[k] = v;
  if (!isServiceIPSet(svc)) labels[HEADLESS_LABEL] = "";
  labels[SERVICE_NAME_LABEL] = svc.metadata.name!;
  labels[MANAGED_BY_LABEL] = controllerName;
  return labels;
}

export function ownedBy(slice: KubeObject, svc: KubeObject): boolean {
  return (slice.metadata.ownerReferences ?? []).some(
    (r) => r.uid === svc.metadata.uid && r.kind === "Service" && r.apiVersion === "v1",
  );
}

export function newSlice(
  svc: KubeObject,
  addressType: AddressType,
  ports: EndpointPort[],
  labels: Record<string, string>,
): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      generateName: `${svc.metadata.name}-`,
      namespace: svc.metadata.namespace,
      labels,
      ownerReferences: [controllerRefTo(svc, "v1", "Service")],
    },
    addressType,
    endpoints: [],
    ports,
  };
}

const sameJson = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** A copy of a cached slice with new endpoints and labels (the cached object stays untouched). */
function revised(slice: KubeObject, endpoints: any[], labels: Record<string, string>): KubeObject {
  return { ...slice, metadata: { ...slice.metadata, labels }, endpoints };
}

/** Removes and answers the first entry of a map (the next endpoint to place). */
function popFirst(m: Map<string, any>): any {
  const [k, v] = m.entries().next().value!;
  m.delete(k);
  return v;
}

/** The unchanged slice that will be fullest after taking `n` endpoints, if any has room. */
function sliceToFill(slices: KubeObject[], n: number, max: number): KubeObject | undefined {
  let best: KubeObject | undefined;
  let bestDiff = max;
  for (const s of slices) {
    const diff = max - (n + (s.endpoints ?? []).length);
    if (diff >= 0 && diff < bestDiff) {
      bestDiff = diff;
      best = s;
      if (diff === 0) break;
    }
  }
  return best;
}

/** One group's slices: keep and refresh what is still desired, then place what is new. */
function planGroup(
  svc: KubeObject,
  existing: KubeObject[],
  group: DesiredGroup,
  labels: Record<string, string>,
  max: number,
): SlicePlan {
  const desired = new Map(group.endpoints);
  const unchanged: KubeObject[] = [];
  const toUpdate = new Map<string, KubeObject>();
  const toDelete: KubeObject[] = [];
  for (const slice of existing) {
    const old: any[] = slice.endpoints ?? [];
    const kept: any[] = [];
    let changed = false;
    for (const ep of old) {
      const key = endpointKey(ep);
      const want = desired.get(key);
      if (!want) continue;
      kept.push(want);
      if (!sameJson(want, ep)) changed = true;
      desired.delete(key);
    }
    if (changed || kept.length !== old.length) {
      if (kept.length === 0) toDelete.push(slice);
      else toUpdate.set(slice.metadata.name!, revised(slice, kept, labels));
    } else if (!sameJson(slice.metadata.labels ?? {}, labels)) {
      toUpdate.set(slice.metadata.name!, revised(slice, old, labels));
    } else {
      unchanged.push(slice);
    }
  }
  // Slices being written anyway take new endpoints first, fullest first.
  if (desired.size) {
    const filling = [...toUpdate.values()].sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const s of filling)
      while (desired.size && s.endpoints.length < max) s.endpoints.push(popFirst(desired));
  }
  const create: KubeObject[] = [];
  while (desired.size) {
    let target = desired.size < max ? sliceToFill(unchanged, desired.size, max) : undefined;
    if (target) {
      unchanged.splice(unchanged.indexOf(target), 1);
      target = revised(target, [...(target.endpoints ?? [])], labels);
      toUpdate.set(target.metadata.name!, target);
    } else {
      target = newSlice(svc, group.addressType, group.ports, labels);
      create.push(target);
    }
    while (desired.size && target.endpoints.length < max) target.endpoints.push(popFirst(desired));
  }
  return { create, update: [...toUpdate.values()], delete: toDelete };
}

/** An empty slice equivalent to the placeholder we would create (so it is kept, not churned). */
function isPlaceholderLike(slice: KubeObject, placeholder: KubeObject): boolean {
  return (
    slice.addressType === placeholder.addressType &&
    !(slice.endpoints ?? []).length &&
    !(slice.ports ?? []).length &&
    sameJson(slice.metadata.labels ?? {}, placeholder.metadata.labels) &&
    sameJson(slice.metadata.ownerReferences ?? [], placeholder.metadata.ownerReferences)
  );
}

function planAddressType(
  svc: KubeObject,
  addressType: AddressType,
  groups: DesiredGroup[],
  existing: KubeObject[],
  max: number,
): SlicePlan {
  const labels = sliceLabels(svc);
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const existingByPorts = new Map<string, KubeObject[]>();
  for (const s of existing) {
    // A slice left over from an older Service of the same name goes.
    if (!ownedBy(s, svc)) {
      plan.delete.push(s);
      continue;
    }
    const k = portsKey(s.ports);
    existingByPorts.set(k, [...(existingByPorts.get(k) ?? []), s]);
  }
  const wanted = new Set<string>();
  for (const g of groups) {
    const k = portsKey(g.ports);
    wanted.add(k);
    const p = planGroup(svc, existingByPorts.get(k) ?? [], g, labels, max);
    plan.create.push(...p.create);
    plan.update.push(...p.update);
    plan.delete.push(...p.delete);
  }
  for (const [k, slices] of existingByPorts) if (!wanted.has(k)) plan.delete.push(...slices);

  if (plan.delete.length === existing.length && plan.create.length === 0) {
    const placeholder = newSlice(svc, addressType, [], labels);
    if (plan.delete.length === 1 && isPlaceholderLike(plan.delete[0], placeholder)) plan.delete = [];
    else plan.create.push(placeholder);
  }

  // Reuse slices about to be deleted for slices about to be created: names stay stable and a
  // create plus a delete become one update.
  for (let i = 0; i < plan.delete.length && plan.create.length; ) {
    const old = plan.delete[i];
    if (old.addressType === addressType && ownedBy(old, svc)) {
      const fresh = plan.create.pop()!;
      const { generateName: _, ...meta } = fresh.metadata;
      plan.update.push({ ...fresh, metadata: { ...old.metadata, ...meta, name: old.metadata.name } });
      plan.delete.splice(i, 1);
    } else {
      i++;
    }
  }
  return plan;
}

/** What to write so that `existing` (the Service's managed slices) holds `desired`. */
export function planEndpointSlices(
  svc: KubeObject,
  desired: DesiredGroup[],
  existing: readonly KubeObject[],
  maxEndpointsPerSlice = DEFAULT_MAX_ENDPOINTS_PER_SLICE,
): SlicePlan {
  const types = addressTypesForService(svc);
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  for (const s of existing) if (!types.includes(s.addressType)) plan.delete.push(s);
  for (const type of types) {
    const p = planAddressType(
      svc,
      type,
      desired.filter((g) => g.addressType === type),
      existing.filter((s) => s.addressType === type),
      maxEndpointsPerSlice,
    );
    plan.create.push(...p.create);
    plan.update.push(...p.update);
    plan.delete.push(...p.delete);
  }
  return plan;
}
