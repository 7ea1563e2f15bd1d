// Reads a backend's state once (the embedded one's custom resources, or Neutron and Octavia)
// and prints one listing: the same tables from either.
import { KubeClient } from "../kube/client.ts";
import { SharedInformerFactory } from "../kube/informer-factory.ts";
import { silentLogger } from "../kube/log.ts";
import type { SdnBackend } from "../sdn/backend.ts";
import { EmbeddedBackend } from "../sdn/embedded/backend.ts";
import { boxTable, filterRows, type ListingKind, listing } from "../sdn/listing.ts";

export interface PrintOptions {
  namespace?: string;
  name?: string;
  column: string[];
  output: "table" | "json";
  kubeconfig?: string;
  backend: "embedded" | "neutron";
  osCloud?: string;
  clusterId?: string;
}

export async function printListing(kind: ListingKind, o: PrintOptions): Promise<void> {
  const client = await KubeClient.fromKubeConfig({ path: o.kubeconfig });
  const abort = new AbortController();
  const informers = new SharedInformerFactory(client, { logger: silentLogger });
  const shape = { podCidr: "192.168.0.0/16", namespaceSubnetPrefix: 24, reservedCidrs: [] };
  let backend: SdnBackend;
  if (o.backend === "neutron") {
    const { clusterIdFor, createNeutronBackend } = await import("../sdn/neutron/create.ts");
    const clusterId = await clusterIdFor(client, o.clusterId);
    backend = await createNeutronBackend({ cloud: o.osCloud, clusterId, logger: silentLogger, ...shape });
  } else backend = new EmbeddedBackend({ client, informers, ...shape });
  try {
    const started = backend.start(abort.signal);
    informers.start(abort.signal);
    if (!(await started)) throw new Error(`could not read the ${o.backend} backend's state`);
    const l = filterRows(listing(backend.inventory(), kind), { namespace: o.namespace, name: o.name });
    if (o.output === "json") {
      process.stdout.write(
        `${JSON.stringify(
          l.rows.map((r) => r.cells),
          null,
          2,
        )}\n`,
      );
      return;
    }
    const columns = o.column.length ? o.column : l.columns;
    process.stdout.write(
      boxTable(
        columns,
        l.rows.map((r) => r.cells),
      ),
    );
  } finally {
    abort.abort();
    await backend.stop();
    await client.close();
  }
}
