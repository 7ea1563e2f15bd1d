// What every raven-controller reconciler shares: configuration, the API writes it makes,
// cache reads, the SDN backend, annotation keys, the event recorder and metrics. The
// reconcilers see narrow interfaces (what they call, nothing more), so their unit tests run
// them against fakes (testing.ts) and compare what they did.

import type { AnnotationKeys } from "../api/annotations.ts";
import type { ObjectReference } from "../kube/events.ts";
import type { Logger } from "../kube/log.ts";
import type { KubeObject } from "../kube/objects.ts";
import type { ApiResource } from "../kube/resource.ts";
import type { SdnBackend } from "../sdn/backend.ts";
import type { Owner } from "../sdn/model.ts";
import type { ControllerMetrics } from "./metrics.ts";

export interface ControllerConfig {
  /** Pod networks are carved from this range, one subnet per namespace. */
  podCidr: string;
  /** Prefix length of the subnet each namespace gets from podCidr. */
  namespacePrefixLength: number;
  /** The `default` namespace's subnet (the seeds' 192.168.0.0/24). */
  defaultNamespaceCidr: string;
  /** The Services' ClusterIP range (the VIPs' subnet). */
  serviceCidr: string;
  /** Floating IPs come from here; externalIPs outside it are ignored. */
  externalCidr: string;
  podWorkers: number;
  serviceWorkers: number;
  namespaceWorkers: number;
  policyWorkers: number;
  /** How long a Service waits after an EndpointSlice change, to take a burst of them in one sync. */
  endpointBatchMs: number;
  /** A released address goes out again within this only when nothing else is free (with an Event). */
  addressCooldownMs: number;
}

export const DEFAULT_CONFIG: ControllerConfig = {
  podCidr: "192.168.0.0/16",
  namespacePrefixLength: 24,
  defaultNamespaceCidr: "192.168.0.0/24",
  serviceCidr: "10.0.0.0/24",
  externalCidr: "172.16.0.0/24",
  podWorkers: 64,
  serviceWorkers: 16,
  namespaceWorkers: 2,
  policyWorkers: 4,
  endpointBatchMs: 500,
  addressCooldownMs: 120_000,
};

/** What a reconciler reads from an informer's cache (SharedInformer satisfies it). */
export interface Lister {
  get(key: string): KubeObject | undefined;
  list(): KubeObject[];
  byIndex(indexName: string, value: string): KubeObject[];
}

export interface Listers {
  pods: Lister;
  services: Lister;
  namespaces: Lister;
  /** Indexed by "service" (`namespace/name` of the owning Service). */
  endpointSlices: Lister;
  /** NetworkAttachmentDefinitions (`namespace/name`), when the cluster has the CRD. */
  nads?: Lister;
  networkPolicies?: Lister;
}

/** The API writes reconcilers make: metadata and status patches (KubeClient satisfies it). */
export interface PatchClient {
  patch(
    res: ApiResource,
    namespace: string,
    name: string,
    patchType: "strategic" | "merge",
    body: unknown,
    opts?: { subresource?: string },
  ): Promise<KubeObject>;
}

/** Where reconcilers report what happened (EventRecorder satisfies it). */
export interface Recorder {
  event(obj: KubeObject | ObjectReference, type: "Normal" | "Warning", reason: string, message: string): void;
}

export interface ControllerDeps {
  config: ControllerConfig;
  client: PatchClient;
  backend: SdnBackend;
  informers: Listers;
  keys: AnnotationKeys;
  recorder: Recorder;
  metrics: ControllerMetrics;
  log: Logger;
}

/** The owner of the cluster-wide networks (services, external): never an orphan. */
export const CLUSTER_OWNER: Owner = { kind: "Cluster", namespace: "", name: "cluster", uid: "cluster" };

export function ownerOf(
  kind: Owner["kind"],
  obj: { metadata: { namespace?: string; name?: string; uid?: string } },
): Owner {
  return {
    kind,
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name ?? "",
    uid: obj.metadata.uid ?? "",
  };
}
