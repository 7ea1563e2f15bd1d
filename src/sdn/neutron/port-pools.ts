// Port pools, as Kuryr had them: per network and node, ports made ahead of time in bulk, so a pod
// takes one with a single update (its name, device_id and owner) instead of a create. A pool is
// refilled in the background once it drops below `min` (`batch` ports in one bulk create), and
// a pod's port goes back to it when the pod goes, while the pool holds fewer than `max`. Pooled
// ports are ordinary Neutron ports whose description says `pooled=true` (ownership.ts), so a
// restarted controller finds its pools again; they are never a pod's and never orphans.
import type { Logger } from "../../kube/log.ts";
import type { NeutronApi, NeutronPort } from "./neutron-api.ts";
import { clusterTag, describe } from "./ownership.ts";
import type { NeutronState, OwnedPort } from "./state.ts";

export interface PortPoolOptions {
  /** Refill below this many free ports per network and node. */
  min: number;
  /** Ports per bulk create. */
  batch: number;
  /** Keep at most this many (a pod's port beyond it is deleted, not pooled); 0: no limit. */
  max: number;
}

export interface PortPoolDeps {
  neutron: NeutronApi;
  state: NeutronState;
  clusterId: string;
  projectId?: string;
  deviceOwner: string;
  logger: Logger;
  options: PortPoolOptions;
}

/** Who owns a pooled port: the cluster (never an orphan), marked pooled. */
export const POOL_OWNER = { kind: "Cluster" as const, namespace: "", name: "raven-pool", uid: "pool" };

const key = (networkId: string, hostId: string) => `${networkId}/${hostId}`;

export class PortPools {
  private readonly d: PortPoolDeps;
  /** Pooled ports handed to a pod whose update is not done yet. */
  private readonly taking = new Set<string>();
  /** Refills under way, per pool. */
  private readonly refilling = new Map<string, Promise<void>>();

  constructor(deps: PortPoolDeps) {
    this.d = deps;
  }

  /** The free pooled ports of a network on a node. */
  free(networkId: string, hostId: string): OwnedPort[] {
    return this.d.state
      .ownedOn(networkId)
      .filter(
        (p) => p.ownership.pooled && p.port["binding:host_id"] === hostId && !this.taking.has(p.port.id),
      );
  }

  /**
   * Gives a pooled port of the network and node to `owner` (one update), or undefined when the
   * pool is empty. Starts a refill when the pool runs low.
   */
  async take(
    networkId: string,
    subnetId: string,
    hostId: string,
    update: { name: string; device_id: string; description: string },
  ): Promise<NeutronPort | undefined> {
    const candidate = this.free(networkId, hostId).find((p) => p.port.fixed_ips[0]?.subnet_id === subnetId);
    if (!candidate) {
      this.refill(networkId, subnetId, hostId);
      return undefined;
    }
    this.taking.add(candidate.port.id);
    try {
      const port = await this.d.neutron.updatePort(candidate.port.id, update);
      this.d.state.putPort(port);
      return port;
    } catch (err) {
      this.d.logger.warn({ port: candidate.port.id, err: String(err) }, "could not take a pooled port");
      return undefined;
    } finally {
      this.taking.delete(candidate.port.id);
      this.refill(networkId, subnetId, hostId);
    }
  }

  /** A pod's port back into its pool (true), unless the pool is full or the port is not poolable. */
  async giveBack(port: NeutronPort): Promise<boolean> {
    const host = port["binding:host_id"];
    if (!host || port.fixed_ips.length !== 1) return false;
    const { max } = this.d.options;
    if (max > 0 && this.free(port.network_id, host).length >= max) return false;
    const pooled = await this.d.neutron.updatePort(port.id, {
      name: POOL_OWNER.name,
      device_id: "",
      description: describe(this.d.clusterId, POOL_OWNER, { pooled: true }),
    });
    this.d.state.putPort(pooled);
    return true;
  }

  /** Starts topping the pool up to `min` + `batch` in the background (one refill per pool at a time). */
  refill(networkId: string, subnetId: string, hostId: string): void {
    const k = key(networkId, hostId);
    if (this.refilling.has(k) || this.free(networkId, hostId).length >= this.d.options.min) return;
    const run = this.fill(networkId, subnetId, hostId)
      .catch((err) =>
        this.d.logger.warn(
          { pool: k, err: String(err) },
          "port pool refill failed; will retry on the next take",
        ),
      )
      .finally(() => this.refilling.delete(k));
    this.refilling.set(k, run);
  }

  /** Waits for the refills under way (tests, benchmarks, shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.refilling.values());
  }

  private async fill(networkId: string, subnetId: string, hostId: string): Promise<void> {
    const description = describe(this.d.clusterId, POOL_OWNER, { pooled: true });
    const ports = await this.d.neutron.createPorts(
      Array.from({ length: this.d.options.batch }, () => ({
        name: POOL_OWNER.name,
        network_id: networkId,
        fixed_ips: [{ subnet_id: subnetId }],
        device_owner: this.d.deviceOwner,
        device_id: "",
        "binding:host_id": hostId,
        description,
        ...(this.d.projectId ? { project_id: this.d.projectId } : {}),
      })),
    );
    for (const p of ports) this.d.state.putPort(p);
    this.d.logger.debug({ pool: key(networkId, hostId), made: ports.length }, "port pool refilled");
    for (const p of ports)
      await this.d.neutron.addTag("ports", p.id, clusterTag(this.d.clusterId)).catch(() => {});
  }

  /** Deletes the pooled ports of a network (before the network itself goes). */
  async drain(networkId: string): Promise<void> {
    for (const p of this.d.state.ownedOn(networkId))
      if (p.ownership.pooled) {
        await this.d.neutron.deletePort(p.port.id);
        this.d.state.removePort(p.port.id);
      }
  }
}
