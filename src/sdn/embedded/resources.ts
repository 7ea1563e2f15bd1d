// The raven.io/v1 custom resources that hold the embedded backend's state, and the labels
// every object Raven creates carries.
import type { ApiResource } from "../../kube/resource.ts";

export const GROUP = "raven.io";
export const VERSION = "v1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export const NETWORKS: ApiResource = {
  group: GROUP,
  version: VERSION,
  plural: "networks",
  namespaced: false,
};
export const SUBNETS: ApiResource = { group: GROUP, version: VERSION, plural: "subnets", namespaced: false };
export const PORTS: ApiResource = { group: GROUP, version: VERSION, plural: "ports", namespaced: true };
export const LOADBALANCERS: ApiResource = {
  group: GROUP,
  version: VERSION,
  plural: "loadbalancers",
  namespaced: true,
};
export const FLOATINGIPS: ApiResource = {
  group: GROUP,
  version: VERSION,
  plural: "floatingips",
  namespaced: false,
};

/** NetworkPolicies compiled to addresses (api/compiled-policy.ts), one per policy, in its namespace. */
export const COMPILEDPOLICIES: ApiResource = {
  group: GROUP,
  version: VERSION,
  plural: "compiledpolicies",
  namespaced: true,
};

/** The five kinds, by the short key the backend's store uses for them. */
export const EMBEDDED_RESOURCES = {
  network: { res: NETWORKS, kind: "Network" },
  subnet: { res: SUBNETS, kind: "Subnet" },
  port: { res: PORTS, kind: "Port" },
  loadBalancer: { res: LOADBALANCERS, kind: "LoadBalancer" },
  floatingIp: { res: FLOATINGIPS, kind: "FloatingIP" },
} as const;

export type EmbeddedKind = keyof typeof EMBEDDED_RESOURCES;

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "raven";
/** The Kubernetes UID of the object's owner (a Pod, Service, Namespace, or "cluster"). */
export const OWNER_UID_LABEL = "raven.io/owner-uid";

/** What `deviceOwner` says on ports of pods (Neutron's `device_owner`). */
export const POD_DEVICE_OWNER = "raven:pod";
