// What every raven-controller reconciler shares: configuration, the API client, informers,
// the SDN backend, annotation keys, the event recorder and metrics.
import type { Logger } from "pino";
import type { KubeClient } from "../kube/client.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { SharedInformer } from "../kube/informer.ts";
import type { SdnBackend } from "../sdn/backend.ts";
import type { Owner } from "../sdn/model.ts";
import type { AnnotationKeys } from "./annotations.ts";
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
  /** How long a Service waits after an EndpointSlice change, to take a burst of them in one sync. */
  endpointBatchMs: number;
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
  endpointBatchMs: 500,
};

export interface Informers {
  pods: SharedInformer;
  services: SharedInformer;
  namespaces: SharedInformer;
  endpointSlices: SharedInformer;
}

export interface ControllerDeps {
  config: ControllerConfig;
  client: KubeClient;
  backend: SdnBackend;
  informers: Informers;
  keys: AnnotationKeys;
  recorder: EventRecorder;
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
