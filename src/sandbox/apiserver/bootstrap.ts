// Objects every cluster starts with: the default RBAC policy, the system namespaces and the
// `kubernetes` Service.

import { intToIp, parseCidr } from "./allocators.ts";
import { ApiError } from "./errors.ts";
import { BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP_CLUSTER_ROLES } from "./rbac/bootstrap-policy.ts";
import type { Rest } from "./rest.ts";

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 409)) throw err;
  }
}

/**
 * The default ClusterRoles and ClusterRoleBindings: created when missing, and brought back to
 * the defaults when they carry `rbac.authorization.kubernetes.io/autoupdate: "true"` (as
 * upstream reconciles them at every start; an admin opts out by setting it to "false").
 */
export async function bootstrapRbac(rest: Rest): Promise<void> {
  const kinds = [
    ["clusterroles", BOOTSTRAP_CLUSTER_ROLES, ["rules"]],
    ["clusterrolebindings", BOOTSTRAP_CLUSTER_ROLE_BINDINGS, ["roleRef", "subjects"]],
  ] as const;
  for (const [plural, objects, fields] of kinds) {
    const def = rest.registry.lookup("rbac.authorization.k8s.io", "v1", plural)!;
    for (const obj of objects) {
      let current: any;
      try {
        current = await rest.get(def, "", obj.metadata.name!);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
        await ignoreExists(rest.create(def, "", structuredClone(obj), {}));
        continue;
      }
      if (current.metadata.annotations?.["rbac.authorization.kubernetes.io/autoupdate"] !== "true") continue;
      const want = structuredClone(obj) as any;
      if (fields.every((f) => JSON.stringify(current[f]) === JSON.stringify(want[f]))) continue;
      // roleRef is immutable: a changed one means a new binding.
      if (
        plural === "clusterrolebindings" &&
        JSON.stringify(current.roleRef) !== JSON.stringify(want.roleRef)
      )
        continue;
      for (const f of fields) current[f] = want[f];
      await rest.update(def, "", obj.metadata.name!, current, {});
    }
  }
}

/** Where pods reach the API server: an address on the nodes' underlay, and the port. */
export interface Advertised {
  address: string;
  port: number;
}

export async function bootstrap(
  rest: Rest,
  serviceCidr: string,
  port: () => number,
  advertise?: Advertised,
): Promise<void> {
  const ns = rest.registry.lookup("", "v1", "namespaces")!;
  for (const name of SYSTEM_NAMESPACES)
    await ignoreExists(
      rest.create(ns, "", { metadata: { name, labels: { "kubernetes.io/metadata.name": name } } }, {}),
    );
  const svc = rest.registry.lookup("", "v1", "services")!;
  const ip = intToIp(parseCidr(serviceCidr).base + 1);
  await ignoreExists(
    rest.create(
      svc,
      "default",
      {
        metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
        spec: {
          type: "ClusterIP",
          clusterIP: ip,
          ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: port() || 6443 }],
        },
      },
      {},
    ),
  );
  await kubernetesEndpoints(rest, advertise);
}

/**
 * The `kubernetes` Service's Endpoints and EndpointSlice, as upstream's endpoint reconciler
 * writes them: the advertised address (the nodes' underlay gateway, where pods reach the API
 * server through the Service proxy). Without real nodes the API server listens on loopback only,
 * which Endpoints may not hold, so there are none.
 */
async function kubernetesEndpoints(rest: Rest, advertise: Advertised | undefined): Promise<void> {
  const endpoints = rest.registry.lookup("", "v1", "endpoints")!;
  const slices = rest.registry.lookup("discovery.k8s.io", "v1", "endpointslices")!;
  const labels = { "kubernetes.io/service-name": "kubernetes" };
  const wanted = advertise && {
    endpoints: {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: {
        name: "kubernetes",
        namespace: "default",
        labels: { "endpointslice.kubernetes.io/skip-mirror": "true" },
      },
      subsets: [
        {
          addresses: [{ ip: advertise.address }],
          ports: [{ name: "https", port: advertise.port, protocol: "TCP" }],
        },
      ],
    },
    slice: {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "kubernetes", namespace: "default", labels },
      addressType: "IPv4",
      endpoints: [{ addresses: [advertise.address], conditions: { ready: true } }],
      ports: [{ name: "https", port: advertise.port, protocol: "TCP" }],
    },
  };
  for (const [def, want] of [
    [endpoints, wanted?.endpoints],
    [slices, wanted?.slice],
  ] as const) {
    let current: any;
    try {
      current = await rest.get(def, "default", "kubernetes");
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
    if (!want) {
      if (current) await rest.delete(def, "default", "kubernetes", {});
      continue;
    }
    if (!current) {
      await ignoreExists(rest.create(def, "default", structuredClone(want), {}));
      continue;
    }
    const next = {
      ...structuredClone(want),
      metadata: { ...want.metadata, resourceVersion: current.metadata.resourceVersion },
    };
    await rest.update(def, "default", "kubernetes", next, {});
  }
}
