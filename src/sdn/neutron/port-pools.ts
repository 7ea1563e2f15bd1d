// Port pools, as Kuryr had them: per network and node, ports made (and bound to the node) ahead
// of time in bulk, so a pod takes one without waiting for Neutron: the pod gets the port at once
// and its update (name, device_id, owner) follows in the background, retried until Neutron has
// it. Until then the state shows the port as the pod's, a resync included. The pod's annotation
// is the durable record of the take: a restarted controller reserves the pooled ports that live
// pods' annotations name, and gives each back to its pod (`claim`), never to another. A pool is
// refilled in the background once it drops below `min` (`batch` ports in one bulk create), and
// a pod's port goes back to it when the pod goes, while the pool holds fewer than `max`. Pooled
// ports are ordinary Neutron ports whose description says `pooled=true` (ownership.ts), so a
// restarted controller finds its pools again; they are never a pod's and never orphans.
import type { Logger } from "../../kube/log.ts";
import { KeyedLock } from "../../util/keyed-lock.ts";
import type { Owner } from "../model.ts";
import { OpenStackError } from "./http.ts";
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
  /** A taken port vanished before its update landed (deleted behind Raven's back): its pod needs another. */
  onLost?: (owner: Owner) => void;
  sleep?: (ms: number) => Promise<void>;
  /** The security groups a new port starts with (the one that allows everything). */
  securityGroups?: () => Promise<string[]>;
}

type PortUpdate = { name: string; device_id: string; description: string };

/** Who owns a pooled port: the cluster (never an orphan), marked pooled. */
export const POOL_OWNER = { kind: "Cluster" as const, namespace: "", name: "raven-pool", uid: "pool" };

const key = (networkId: string, hostId: string) => `${networkId}/${hostId}`;

export class PortPools {
  private readonly d: PortPoolDeps;
  /** Taken ports whose update Neutron has not confirmed yet, as the state shows them meanwhile. */
  private readonly pending = new Map<string, NeutronPort>();
  /** Pooled ports that live pods' annotations name (a take a crash cut short): theirs only. */
  private readonly reserved = new Set<string>();
  /** One Neutron update of a port at a time (a take's, then a give-back's). */
  private readonly portLock = new KeyedLock();
  /** Refills and updates under way. */
  private readonly refilling = new Map<string, Promise<void>>();
  private readonly updating = new Set<Promise<void>>();
  private stopped = false;

  constructor(deps: PortPoolDeps) {
    this.d = deps;
  }

  /** The free pooled ports of a network on a node (reserved ones included). */
  free(networkId: string, hostId: string): OwnedPort[] {
    return this.d.state
      .ownedOn(networkId)
      .filter((p) => p.ownership.pooled && p.port["binding:host_id"] === hostId);
  }

  /** Keeps the pooled ones of `portIds` (named by live pods' annotations) for those pods. */
  reserve(portIds: Iterable<string>): void {
    for (const id of portIds) if (this.d.state.port(id)?.ownership.pooled) this.reserved.add(id);
  }

  /**
   * Gives a pooled port of the network and node to `owner` at once, or undefined when the pool
   * is empty; its update follows in the background. `claim`: the port the pod's annotation
   * already names, if it is still pooled. Starts a refill when the pool runs low.
   */
  take(
    networkId: string,
    subnetId: string,
    hostId: string,
    update: PortUpdate,
    claim?: string,
  ): NeutronPort | undefined {
    const onSubnet = (p: OwnedPort | undefined) =>
      p?.ownership.pooled && p.port.network_id === networkId && p.port.fixed_ips[0]?.subnet_id === subnetId;
    const claimed = claim ? this.d.state.port(claim) : undefined;
    const candidate = onSubnet(claimed)
      ? claimed
      : this.free(networkId, hostId).find((p) => onSubnet(p) && !this.reserved.has(p.port.id));
    this.refill(networkId, subnetId, hostId, candidate ? 1 : 0);
    if (!candidate) return undefined;
    this.reserved.delete(candidate.port.id);
    const port: NeutronPort = { ...candidate.port, ...update };
    this.pending.set(port.id, port);
    this.d.state.putPort(port);
    this.track(this.portLock.run(port.id, () => this.commit(port, update)));
    return port;
  }

  /** The state again shows the takes Neutron has not confirmed yet (after a resync's listing). */
  overlay(): void {
    for (const p of this.pending.values()) this.d.state.putPort(p);
  }

  /** A taken port's update, retried (with backoff) until Neutron has it, the port is gone, or the take is undone. */
  private async commit(intended: NeutronPort, update: PortUpdate): Promise<void> {
    const sleep = this.d.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    for (let attempt = 0; this.pending.get(intended.id) === intended && !this.stopped; attempt++) {
      try {
        const port = await this.d.neutron.updatePort(intended.id, update);
        if (this.pending.get(intended.id) !== intended) return;
        this.pending.delete(intended.id);
        this.d.state.putPort(port);
        return;
      } catch (err) {
        if (err instanceof OpenStackError && err.status === 404) {
          this.pending.delete(intended.id);
          const gone = this.d.state.removePort(intended.id);
          if (gone) this.d.onLost?.(gone.ownership.owner);
          return;
        }
        (attempt < 2 ? this.d.logger.debug : this.d.logger.warn).call(
          this.d.logger,
          { port: intended.id, err: String(err), attempt },
          "a taken pooled port's update failed; retrying",
        );
        await sleep(Math.min(250 * 2 ** attempt, 10_000));
      }
    }
  }

  /** A taken port that is not to be updated after all (deleted, or back in the pool). */
  forget(portId: string): void {
    this.pending.delete(portId);
  }

  /** A pod's port back into its pool (true), unless the pool is full or the port is not poolable. */
  async giveBack(port: NeutronPort): Promise<boolean> {
    const host = port["binding:host_id"];
    if (!host || port.fixed_ips.length !== 1) return false;
    const { max } = this.d.options;
    if (max > 0 && this.free(port.network_id, host).length >= max) return false;
    // A take Neutron never saw need not be made first.
    this.forget(port.id);
    return this.portLock.run(port.id, async () => {
      const pooled = await this.d.neutron.updatePort(port.id, {
        name: POOL_OWNER.name,
        device_id: "",
        description: describe(this.d.clusterId, POOL_OWNER, { pooled: true }),
      });
      this.d.state.putPort(pooled);
      return true;
    });
  }

  private track(p: Promise<void>): void {
    this.updating.add(p);
    void p.finally(() => this.updating.delete(p));
  }

  /**
   * Starts topping the pool up to `min` + `batch` in the background (one refill per pool at a
   * time); `taking`: ports about to leave it.
   */
  refill(networkId: string, subnetId: string, hostId: string, taking = 0): void {
    const k = key(networkId, hostId);
    if (this.refilling.has(k) || this.free(networkId, hostId).length - taking >= this.d.options.min) return;
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

  /** Waits for the refills and updates under way (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.refilling.size || this.updating.size)
      await Promise.all([...this.refilling.values(), ...this.updating]);
  }

  /** Stops retrying updates (shutdown); waits for what is under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.settled();
  }

  private async fill(networkId: string, subnetId: string, hostId: string): Promise<void> {
    const description = describe(this.d.clusterId, POOL_OWNER, { pooled: true });
    const securityGroups = this.d.securityGroups ? { security_groups: await this.d.securityGroups() } : {};
    const ports = await this.d.neutron.createPorts(
      Array.from({ length: this.d.options.batch }, () => ({
        name: POOL_OWNER.name,
        network_id: networkId,
        fixed_ips: [{ subnet_id: subnetId }],
        device_owner: this.d.deviceOwner,
        device_id: "",
        "binding:host_id": hostId,
        description,
        ...securityGroups,
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
