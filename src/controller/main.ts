// Process wiring for `raven controller`: options -> runController, signals, exit codes.
import { createLogger } from "../util/log.ts";
import { DEFAULT_CONFIG } from "./context.ts";
import { runController } from "./run.ts";

export interface ControllerCommandOptions {
  kubeconfig?: string;
  inCluster?: boolean;
  backend: "embedded" | "neutron";
  /** neutron: the cloud in clouds.yaml (default OS_CLOUD, else the OS_* variables). */
  osCloud?: string;
  /** neutron: names this cluster's objects (default: the kube-system namespace's UID). */
  clusterId?: string;
  /** neutron: port pools per network and node (0: none). */
  portPoolMin: number;
  portPoolBatch: number;
  portPoolMax: number;
  installCrds?: boolean;
  annotationPrefix: string;
  annotationNames: "raven" | "kuryr";
  podCidr: string;
  namespacePrefixLength: number;
  defaultNamespaceCidr: string;
  serviceCidr: string;
  externalCidr: string;
  podWorkers: number;
  serviceWorkers: number;
  endpointBatchMs: number;
  ipReuseCooldown: number;
  leaderElect: boolean;
  leaderElectNamespace: string;
  leaderElectName: string;
  identity?: string;
  leaseDuration: number;
  listen: string;
  uninstall?: boolean;
}

export async function runControllerCommand(o: ControllerCommandOptions): Promise<void> {
  const log = createLogger("raven-controller");
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const config = {
    ...DEFAULT_CONFIG,
    podCidr: o.podCidr,
    namespacePrefixLength: o.namespacePrefixLength,
    defaultNamespaceCidr: o.defaultNamespaceCidr,
    serviceCidr: o.serviceCidr,
    externalCidr: o.externalCidr,
    podWorkers: o.podWorkers,
    serviceWorkers: o.serviceWorkers,
    endpointBatchMs: o.endpointBatchMs,
    addressCooldownMs: o.ipReuseCooldown * 1000,
  };
  try {
    await runController(
      {
        // Loaded in a child process: client-node would otherwise stay resident (~40 MiB).
        kubeconfig: o.inCluster ? { inCluster: true, isolate: true } : { path: o.kubeconfig, isolate: true },
        config,
        annotationPrefix: o.annotationPrefix,
        annotationNaming: o.annotationNames,
        backend: async (client, informers, logger, registry) => {
          if (o.backend === "neutron") {
            const { clusterIdFor, createNeutronBackend } = await import("../sdn/neutron/create.ts");
            const clusterId = await clusterIdFor(client, o.clusterId);
            return createNeutronBackend({
              cloud: o.osCloud,
              clusterId,
              podCidr: config.podCidr,
              namespaceSubnetPrefix: config.namespacePrefixLength,
              reservedCidrs: [config.defaultNamespaceCidr],
              logger,
              registry,
              portPool: { min: o.portPoolMin, batch: o.portPoolBatch, max: o.portPoolMax },
            });
          }
          const { EmbeddedBackend } = await import("../sdn/embedded/backend.ts");
          if (o.installCrds) {
            const { installCrds } = await import("../sdn/embedded/crds.ts");
            await installCrds(client);
          }
          return new EmbeddedBackend({
            client,
            informers,
            podCidr: config.podCidr,
            namespaceSubnetPrefix: config.namespacePrefixLength,
            reservedCidrs: [config.defaultNamespaceCidr],
            addressCooldownMs: config.addressCooldownMs,
            logger,
          });
        },
        leaderElection: o.leaderElect
          ? {
              namespace: o.leaderElectNamespace,
              name: o.leaderElectName,
              identity: o.identity,
              leaseDurationMs: o.leaseDuration * 1000,
              renewDeadlineMs: Math.round(o.leaseDuration * 1000 * (2 / 3)),
              retryPeriodMs: Math.max(500, Math.round((o.leaseDuration * 1000) / 7.5)),
            }
          : undefined,
        listen: o.uninstall ? "" : o.listen,
        uninstall: o.uninstall
          ? {
              leaseWaitMs: 3 * o.leaseDuration * 1000,
              onDone: (r) =>
                process.stdout.write(
                  `raven uninstalled: released ${r.floatingIps} floating IPs, ${r.loadBalancers} load balancers, ${r.ports} ports, ${r.networks} networks; cleaned ${r.objectsCleaned} pods, Services and namespaces\n`,
                ),
            }
          : undefined,
        log,
      },
      abort.signal,
    );
  } catch (err) {
    log.fatal({ err }, "raven-controller stopped");
    process.exit(1);
  }
  process.exit(0);
}
