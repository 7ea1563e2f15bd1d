// How a client names a resource on the wire, and the REST paths that follow from it.

export interface ApiResource {
  /** API group; "" for the core group served under /api. */
  group: string;
  version: string;
  /** Lower-case plural as it appears in URLs: `pods`, `leases`. */
  plural: string;
  namespaced: boolean;
}

export interface PathParts {
  /** Required for namespaced resources except when listing/watching across all namespaces. */
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** `v1` or `apps/v1`, as apiVersion fields spell it. */
export function apiVersionOf(res: ApiResource): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}

/** `/api/v1` or `/apis/apps/v1`. */
export function groupVersionPath(res: ApiResource): string {
  return res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
}

/**
 * The URL path of a collection, an object or a subresource, e.g.
 * `/api/v1/namespaces/ns/pods/name/status`. An empty or missing namespace on a namespaced
 * resource addresses all namespaces, which only makes sense without a name.
 */
export function resourcePath(res: ApiResource, parts: PathParts = {}): string {
  let p = groupVersionPath(res);
  if (res.namespaced && parts.namespace) p += `/namespaces/${seg(parts.namespace)}`;
  else if (res.namespaced && parts.name !== undefined)
    throw new Error(`${res.plural} is namespaced: a namespace is needed to address ${parts.name}`);
  p += `/${res.plural}`;
  if (parts.name !== undefined) {
    if (!parts.name) throw new Error(`an empty name does not address a ${res.plural} object`);
    p += `/${seg(parts.name)}`;
  }
  if (parts.subresource) {
    if (parts.name === undefined) throw new Error(`subresource ${parts.subresource} needs an object name`);
    p += `/${parts.subresource}`;
  }
  return p;
}

// Names are DNS-ish, but encode anyway so a stray "/" or "?" cannot redirect a request.
const seg = (s: string) => encodeURIComponent(s);

// The resources the project's controllers touch, so callers need not spell them out.
export const PODS: ApiResource = { group: "", version: "v1", plural: "pods", namespaced: true };
export const NODES: ApiResource = { group: "", version: "v1", plural: "nodes", namespaced: false };
export const NAMESPACES: ApiResource = { group: "", version: "v1", plural: "namespaces", namespaced: false };
export const SERVICES: ApiResource = { group: "", version: "v1", plural: "services", namespaced: true };
/** The NPWG's NetworkAttachmentDefinitions (deploy/crds). */
export const NETWORK_ATTACHMENT_DEFINITIONS: ApiResource = {
  group: "k8s.cni.cncf.io",
  version: "v1",
  plural: "network-attachment-definitions",
  namespaced: true,
};
export const ENDPOINTS: ApiResource = { group: "", version: "v1", plural: "endpoints", namespaced: true };
export const CONFIGMAPS: ApiResource = { group: "", version: "v1", plural: "configmaps", namespaced: true };
export const SECRETS: ApiResource = { group: "", version: "v1", plural: "secrets", namespaced: true };
export const EVENTS: ApiResource = { group: "", version: "v1", plural: "events", namespaced: true };
export const LEASES: ApiResource = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  namespaced: true,
};
export const ENDPOINTSLICES: ApiResource = {
  group: "discovery.k8s.io",
  version: "v1",
  plural: "endpointslices",
  namespaced: true,
};
export const NETWORKPOLICIES: ApiResource = {
  group: "networking.k8s.io",
  version: "v1",
  plural: "networkpolicies",
  namespaced: true,
};
export const SERVICEACCOUNTS: ApiResource = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  namespaced: true,
};
export const DEPLOYMENTS: ApiResource = {
  group: "apps",
  version: "v1",
  plural: "deployments",
  namespaced: true,
};
export const REPLICASETS: ApiResource = {
  group: "apps",
  version: "v1",
  plural: "replicasets",
  namespaced: true,
};
export const DAEMONSETS: ApiResource = {
  group: "apps",
  version: "v1",
  plural: "daemonsets",
  namespaced: true,
};
export const JOBS: ApiResource = { group: "batch", version: "v1", plural: "jobs", namespaced: true };
export const CRDS: ApiResource = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  namespaced: false,
};

const rbac = (plural: string, namespaced: boolean): ApiResource => ({
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural,
  namespaced,
});
export const ROLES = rbac("roles", true);
export const ROLEBINDINGS = rbac("rolebindings", true);
export const CLUSTERROLES = rbac("clusterroles", false);
export const CLUSTERROLEBINDINGS = rbac("clusterrolebindings", false);
