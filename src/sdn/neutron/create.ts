// Builds the neutron backend from a cloud (clouds.yaml / OS_* variables): the transport with
// the cloud's TLS settings, Keystone or fixed endpoints, the project objects are created in
// (the token's, or auth.project_id without Keystone), and the cluster's identity.
import { readFileSync } from "node:fs";
import { Counter, type Registry } from "prom-client";
import type { Logger } from "../../kube/log.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { NAMESPACES } from "../../kube/resource.ts";
import { type Auth, KeystoneAuth, StaticAuth } from "./auth.ts";
import { NeutronBackend } from "./backend.ts";
import { OpenStackClient } from "./client.ts";
import { type CloudConfig, loadCloud, processSources } from "./clouds.ts";
import { JsonHttp } from "./http.ts";
import { NeutronApi } from "./neutron-api.ts";
import { OctaviaApi } from "./octavia-api.ts";
import type { PortPoolOptions } from "./port-pools.ts";

export interface CreateNeutronBackendOptions {
  /** The cloud's name (--os-cloud); default OS_CLOUD, else the OS_* variables. */
  cloud?: string;
  /** Names this cluster's objects in OpenStack (e.g. the kube-system namespace's UID). */
  clusterId: string;
  podCidr: string;
  namespaceSubnetPrefix: number;
  reservedCidrs: string[];
  logger: Logger;
  /** How often everything is listed again (default: the backend's). */
  resyncMs?: number;
  /** Port pools per network and node (none when absent or min is 0). */
  portPool?: PortPoolOptions;
  /** Counts the calls to Neutron and Octavia here (raven_openstack_requests_total). */
  registry?: Registry;
}

/**
 * The cluster's id in OpenStack: `given`, else the kube-system namespace's UID (Kubernetes'
 * de-facto cluster id), the same for raven-controller, raven-agent and `raven net`.
 */
export async function clusterIdFor(
  client: { get(res: typeof NAMESPACES, namespace: string, name: string): Promise<KubeObject> },
  given?: string,
): Promise<string> {
  return given ?? (await client.get(NAMESPACES, "", "kube-system")).metadata.uid ?? "kubernetes";
}

export function authFor(cloud: CloudConfig, http: JsonHttp): Auth {
  return cloud.authType === "none" ? new StaticAuth(cloud) : new KeystoneAuth(cloud, http);
}

export async function createNeutronBackend(o: CreateNeutronBackendOptions): Promise<NeutronBackend> {
  const cloud = loadCloud(processSources(), o.cloud);
  const http = new JsonHttp({
    ca: cloud.cacert ? readFileSync(cloud.cacert, "utf8") : undefined,
    verify: cloud.verify,
  });
  const auth = authFor(cloud, http);
  const calls = o.registry
    ? new Counter({
        name: "raven_openstack_requests_total",
        help: "Calls to OpenStack services, by service, method and outcome (HTTP status or error)",
        labelNames: ["service", "method", "outcome"],
        registers: [o.registry],
      })
    : undefined;
  const client = new OpenStackClient(
    auth,
    http,
    calls && ((service, method, outcome) => calls.inc({ service, method, outcome })),
  );
  o.logger.info(
    {
      cloud: cloud.name,
      source: cloud.source ?? "OS_* variables",
      auth: cloud.authType,
      clusterId: o.clusterId,
    },
    "neutron backend",
  );
  return new NeutronBackend({
    neutron: new NeutronApi(client),
    octavia: new OctaviaApi(client),
    clusterId: o.clusterId,
    // Keystone's scope says it once authenticated; without Keystone, the cloud's auth.project_id.
    projectId: cloud.authType === "none" ? cloud.projectId : undefined,
    podCidr: o.podCidr,
    namespaceSubnetPrefix: o.namespaceSubnetPrefix,
    reservedCidrs: o.reservedCidrs,
    logger: o.logger,
    ...(o.resyncMs ? { resyncMs: o.resyncMs } : {}),
    ...(o.portPool ? { portPool: o.portPool } : {}),
    onStop: () => http.close(),
  });
}
