// OpenStack for a test: the real services (neutron-server, Octavia, PostgreSQL, RabbitMQ) that
// the sandbox runs, started on their own for tests that need no cluster, and the Neutron and
// Octavia clients a test reads them with (from a clouds.yaml, as any OpenStack tool would).
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OpenStackServices } from "../../src/sandbox/openstack/services.ts";
import { StaticAuth } from "../../src/sdn/neutron/auth.ts";
import { OpenStackClient } from "../../src/sdn/neutron/client.ts";
import { loadCloud, processSources } from "../../src/sdn/neutron/clouds.ts";
import { JsonHttp } from "../../src/sdn/neutron/http.ts";
import { NeutronApi } from "../../src/sdn/neutron/neutron-api.ts";
import { OctaviaApi } from "../../src/sdn/neutron/octavia-api.ts";

export interface OpenStackClients {
  neutron: NeutronApi;
  octavia: OctaviaApi;
  close(): Promise<void>;
}

/** Neutron and Octavia clients for `cloud` in the clouds.yaml at `cloudsYaml`. */
export function openStackClients(cloudsYaml: string, cloud: string): OpenStackClients {
  const http = new JsonHttp();
  const client = new OpenStackClient(
    new StaticAuth(loadCloud(processSources({ OS_CLIENT_CONFIG_FILE: cloudsYaml }), cloud)),
    http,
  );
  return { neutron: new NeutronApi(client), octavia: new OctaviaApi(client), close: () => http.close() };
}

export interface TestOpenStack extends OpenStackClients {
  services: OpenStackServices;
  /** The services' directory (a private HOME for the openstack CLI too). */
  dir: string;
  /** Stops the services and removes their files (logs kept under RAVEN_TEST_LOGS if set). */
  stop(): Promise<void>;
}

/** Starts the services in a temp dir, with clients on them. */
export async function startOpenStack(): Promise<TestOpenStack> {
  const dir = mkdtempSync(join(tmpdir(), "raven-openstack-"));
  const dataDir = `/tmp/raven-os-${process.pid}-db`;
  let services: OpenStackServices | undefined;
  const cleanUp = async () => {
    await services?.stop();
    if (process.env.RAVEN_TEST_LOGS)
      cpSync(join(dir, "logs"), join(process.env.RAVEN_TEST_LOGS, `openstack-${process.pid}`), {
        recursive: true,
      });
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    services = await OpenStackServices.start({ dir, dataDir, instance: `raven-test-${process.pid}` });
  } catch (err) {
    await cleanUp();
    throw err;
  }
  const clients = openStackClients(services.endpoints.cloudsYaml, services.endpoints.cloud);
  return {
    ...clients,
    services,
    dir,
    stop: async () => {
      await clients.close();
      await cleanUp();
    },
  };
}
