// Pod ports and their addresses. A Port is named after its IP in the pod's namespace, so
// creating it is the claim: the API server lets exactly one writer have each address, whatever
// any cache says. Caches only choose which address to try first: the lowest never-released one
// (as Neutron's and the seeds' .2, .3, ...), else the least recently released (ipam.ts); a lost
// race costs one more try at the next address.
import { isAlreadyExists, isConflict, isNotFound } from "../../kube/errors.ts";
import { KeyedLock } from "../../util/keyed-lock.ts";
import type { PortRequest } from "../backend.ts";
import { SdnError } from "../backend.ts";
import { chooseFreeIp, ipToName, isAssignable } from "../ipam.ts";
import type { Port, PortState } from "../model.ts";
import { ReleaseHistory } from "../release-history.ts";
import { type EmbeddedContext, MAX_ATTEMPTS } from "./context.ts";
import { newPortCr, portNamespaceOf, toPort } from "./convert.ts";
import type { Networks } from "./networks.ts";
import { Reservations } from "./reservations.ts";
import { NETWORK_INDEX, SUBNET_INDEX } from "./store.ts";
import type { PortCr, SubnetCr } from "./types.ts";

export class Ports {
  private readonly ctx: EmbeddedContext;
  private readonly networks: Networks;
  private readonly lock = new KeyedLock();
  private readonly inFlight = new Reservations();
  readonly history: ReleaseHistory;
  private readonly cooldownMs: number;

  constructor(ctx: EmbeddedContext, networks: Networks, cooldownMs: number) {
    this.ctx = ctx;
    this.networks = networks;
    this.cooldownMs = cooldownMs;
    this.history = new ReleaseHistory(ctx.clock);
    // Every deletion frees an address, whoever deleted the port (us, another replica, the GC).
    ctx.store.addHandler("port", {
      onAdd: (p) => this.history.claimed(p.spec.subnetId, p.spec.ipAddress, p.metadata.uid!),
      onDelete: (p) => this.history.released(p.spec.subnetId, p.spec.ipAddress, p.metadata.uid!),
    });
  }

  create(req: PortRequest): Promise<Port> {
    // One pod's calls queue up, so a repeat finds the first one's port instead of racing it.
    return this.lock.run(`${req.owner.uid}/${req.networkId}/${req.name}`, () => this.createOnce(req));
  }

  find(ownerUid: string): Port[] {
    return this.ctx.store.byOwner("port", ownerUid).map((p) => toPort(p, this.ctx.tenantId));
  }

  onNetwork(networkId: string): Port[] {
    return this.ctx.store.byIndex("port", NETWORK_INDEX, networkId).map((p) => toPort(p, this.ctx.tenantId));
  }

  async delete(portId: string): Promise<void> {
    const port = this.ctx.store.byUid("port", portId);
    if (!port) return;
    await this.ctx.store.delete("port", port);
    // Now, not when the informer reports it: the cache already shows the address free.
    this.history.released(port.spec.subnetId, port.spec.ipAddress, port.metadata.uid!);
  }

  /** The binding state (the status subresource, so the agent needs no right to the spec). */
  async setState(portId: string, state: PortState): Promise<void> {
    const port = this.ctx.store.byUid("port", portId);
    if (!port || (port.status?.state ?? "DOWN") === state) return;
    try {
      await this.ctx.store.patchStatus("port", port, { state });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async createOnce(req: PortRequest): Promise<Port> {
    const store = this.ctx.store;
    // A pod may have more than one port on a network (attachments), each with its own name.
    const existing = store
      .byOwner("port", req.owner.uid)
      .find((p) => p.spec.networkId === req.networkId && p.spec.displayName === req.name);
    if (existing) return this.finish(existing, req);

    const subnet = store.byUid("subnet", req.subnetId);
    if (!subnet) throw new SdnError("NotFound", `subnet ${req.subnetId} not found`);
    if (subnet.spec.networkId !== req.networkId)
      throw new SdnError("Invalid", `subnet ${req.subnetId} is not on network ${req.networkId}`);
    const network = this.networks.byId(req.networkId);
    if (!network) throw new SdnError("NotFound", `network ${req.networkId} not found`);
    // Ports live in their pod's namespace and are named after their IP, so the claim is only
    // atomic among ports of one namespace: a network takes ports from one namespace only.
    const portNamespace = portNamespaceOf(network);
    if (portNamespace !== req.owner.namespace)
      throw new SdnError(
        "Invalid",
        portNamespace
          ? `network ${network.metadata.name} takes ports of namespace ${portNamespace} only, not ${req.owner.namespace}`
          : `network ${network.metadata.name} takes no pod ports`,
      );
    return req.ipAddress ? this.claimStatic(req, subnet, req.ipAddress) : this.claimFree(req, subnet);
  }

  private async claimStatic(req: PortRequest, subnet: SubnetCr, ip: string): Promise<Port> {
    const { allocationPools, gatewayIP, cidr } = subnet.spec;
    if (!isAssignable(ip, allocationPools, gatewayIP))
      throw new SdnError("Invalid", `${ip} is not an assignable address of subnet ${cidr}`);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        return await this.finish(await this.ctx.store.create("port", this.portCr(req, subnet, ip)), req);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const holder = await this.ctx.store.fetch("port", req.owner.namespace, ipToName(ip));
      if (!holder) continue; // released in between: try again
      if (
        holder.spec.owner.uid === req.owner.uid &&
        holder.spec.subnetId === subnet.metadata.uid &&
        holder.spec.displayName === req.name
      )
        return this.finish(holder, req);
      throw new SdnError("IpInUse", `${ip} is in use by ${holder.spec.owner.kind} ${holder.spec.owner.name}`);
    }
    throw new SdnError("Unavailable", `${ip}: still racing after ${MAX_ATTEMPTS} attempts`);
  }

  private async claimFree(req: PortRequest, subnet: SubnetCr): Promise<Port> {
    const subnetId = subnet.metadata.uid!;
    const { allocationPools, gatewayIP, cidr } = subnet.spec;
    // Addresses some other writer turned out to hold, though no cache showed them yet.
    const lost = new Set<string>();
    for (;;) {
      const used = new Set(lost);
      for (const p of this.ctx.store.byIndex("port", SUBNET_INDEX, subnetId)) used.add(p.spec.ipAddress);
      for (const ip of this.inFlight.of(subnetId)) used.add(ip);
      const choice = chooseFreeIp(allocationPools, used, gatewayIP, this.history.of(subnetId));
      if (!choice) throw new SdnError("SubnetFull", `subnet ${cidr} has no free address`);
      const ip = choice.ip;
      this.inFlight.reserve(subnetId, ip);
      try {
        const created = await this.ctx.store.create("port", this.portCr(req, subnet, ip));
        this.history.claimed(subnetId, ip, created.metadata.uid!);
        if (choice.releasedAt !== undefined) {
          const ago = this.ctx.clock.now() - choice.releasedAt;
          if (ago < this.cooldownMs) req.onRecentlyReleased?.(ip, ago);
        }
        return await this.finish(created, req);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        // The cache was behind. If the holder is this very pod (our own earlier attempt, or a
        // replica before us), that port is the answer: a second one would change the pod's IP.
        const holder = await this.ctx.store.fetch("port", req.owner.namespace, ipToName(ip));
        if (
          holder?.spec.owner.uid === req.owner.uid &&
          holder.spec.subnetId === subnetId &&
          holder.spec.displayName === req.name
        )
          return this.finish(holder, req);
        lost.add(ip);
        this.ctx.logger.debug(
          { subnet: cidr, ip, pod: req.name },
          "address claimed elsewhere first; trying the next",
        );
      } finally {
        this.inFlight.release(subnetId, ip);
      }
    }
  }

  private portCr(req: PortRequest, subnet: SubnetCr, ip: string): PortCr {
    return newPortCr({
      owner: req.owner,
      displayName: req.name,
      subnet,
      ipAddress: ip,
      hostId: req.hostId,
    });
  }

  /** Brings an existing port up to date (its node) and answers it. */
  private async finish(port: PortCr, req: PortRequest): Promise<Port> {
    let current = port;
    for (let attempt = 0; req.hostId && current.spec.hostId !== req.hostId; attempt++) {
      try {
        current = await this.ctx.store.update("port", {
          ...structuredClone(current),
          spec: { ...current.spec, hostId: req.hostId },
        });
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_ATTEMPTS) throw err;
        const fresh = await this.ctx.store.fetch("port", current.metadata.namespace!, current.metadata.name!);
        if (!fresh) throw new SdnError("NotFound", `port ${current.metadata.name} was deleted`);
        current = fresh;
      }
    }
    return toPort(current, this.ctx.tenantId);
  }
}
