// Floating IPs on the external network. A FloatingIP is named after its address, so creating
// it claims the address across processes. One per owner and role: a Service's
// `spec.externalIPs[0]` (a given address) or its type LoadBalancer ingress (any free address).
import { isAlreadyExists, isConflict } from "../../kube/errors.ts";
import { KeyedLock } from "../../util/keyed-lock.ts";
import type { FloatingIpRequest } from "../backend.ts";
import { SdnError } from "../backend.ts";
import { firstFreeIp, ipToName, isAssignable } from "../ipam.ts";
import type { FloatingIp, FloatingIpRole } from "../model.ts";
import { type EmbeddedContext, MAX_ATTEMPTS } from "./context.ts";
import { newFloatingIpCr, toFloatingIp } from "./convert.ts";
import type { CompleteNetwork, Networks } from "./networks.ts";
import { Reservations } from "./reservations.ts";
import type { FloatingIpCr, FloatingIpSpec } from "./types.ts";

export class FloatingIps {
  private readonly ctx: EmbeddedContext;
  private readonly networks: Networks;
  private readonly lock = new KeyedLock();
  private readonly inFlight = new Reservations();

  constructor(ctx: EmbeddedContext, networks: Networks) {
    this.ctx = ctx;
    this.networks = networks;
  }

  ensure(req: FloatingIpRequest): Promise<FloatingIp> {
    return this.lock.run(`${req.owner.uid}/${req.role}`, () => this.converge(req));
  }

  find(ownerUid: string): (FloatingIp & { role: FloatingIpRole })[] {
    return this.ctx.store.byOwner("floatingIp", ownerUid).map((f) => toFloatingIp(f, this.ctx.tenantId));
  }

  async delete(id: string): Promise<void> {
    const cr = this.ctx.store.byUid("floatingIp", id);
    if (cr) await this.ctx.store.delete("floatingIp", cr);
  }

  private async converge(req: FloatingIpRequest): Promise<FloatingIp> {
    const ext = this.networks.external();
    if (!ext) throw new SdnError("NotFound", "there is no external network (yet)");
    const { allocationPools, gatewayIP, cidr } = ext.subnet.spec;
    if (req.address !== undefined && !isAssignable(req.address, allocationPools, gatewayIP))
      throw new SdnError(
        "Invalid",
        `${req.address} is not an assignable address of the external subnet ${cidr}`,
      );

    const mine = this.ctx.store.byOwner("floatingIp", req.owner.uid).filter((f) => f.spec.role === req.role);
    let keep =
      req.address === undefined ? mine[0] : mine.find((f) => f.spec.floatingIPAddress === req.address);
    // The owner has one floating IP per role: others (an old address, a crash's leftover) go first.
    for (const f of mine) if (f !== keep) await this.ctx.store.delete("floatingIp", f);
    if (!keep)
      keep =
        req.address === undefined ? await this.claimFree(req, ext) : await this.claim(req, ext, req.address);
    return toFloatingIp(await this.repoint(keep, req, ext), this.ctx.tenantId);
  }

  /** Claims `address`: the object, or SdnError IpInUse when another owner holds it. */
  private async claim(req: FloatingIpRequest, ext: CompleteNetwork, address: string): Promise<FloatingIpCr> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const held = await this.tryClaim(req, ext, address);
      if (held !== "taken") return held;
      const holder = await this.ctx.store.fetch("floatingIp", "", ipToName(address));
      if (!holder) continue; // released in between
      if (holder.spec.owner.uid === req.owner.uid && holder.spec.role === req.role) return holder;
      throw new SdnError(
        "IpInUse",
        `floating IP ${address} is in use by ${holder.spec.owner.kind} ${holder.spec.owner.namespace}/${holder.spec.owner.name}`,
      );
    }
    throw new SdnError("Unavailable", `floating IP ${address}: still racing after ${MAX_ATTEMPTS} attempts`);
  }

  /** Claims the lowest free address of the external subnet. */
  private async claimFree(req: FloatingIpRequest, ext: CompleteNetwork): Promise<FloatingIpCr> {
    const { allocationPools, gatewayIP, cidr } = ext.subnet.spec;
    const lost = new Set<string>();
    for (;;) {
      const used = new Set(lost);
      for (const f of this.ctx.store.list("floatingIp")) used.add(f.spec.floatingIPAddress);
      for (const ip of this.inFlight.of("external")) used.add(ip);
      for (const ip of req.avoid ?? []) used.add(ip);
      const address = firstFreeIp(allocationPools, used, gatewayIP);
      if (!address) throw new SdnError("PoolExhausted", `the external subnet ${cidr} has no free address`);
      this.inFlight.reserve("external", address);
      try {
        const held = await this.tryClaim(req, ext, address);
        if (held !== "taken") return held;
        lost.add(address);
      } finally {
        this.inFlight.release("external", address);
      }
    }
  }

  private async tryClaim(
    req: FloatingIpRequest,
    ext: CompleteNetwork,
    address: string,
  ): Promise<FloatingIpCr | "taken"> {
    try {
      return await this.ctx.store.create("floatingIp", newFloatingIpCr(this.spec(req, ext, address)));
    } catch (err) {
      if (isAlreadyExists(err)) return "taken";
      throw err;
    }
  }

  private spec(req: FloatingIpRequest, ext: CompleteNetwork, address: string): FloatingIpSpec {
    return {
      floatingIPAddress: address,
      floatingNetworkId: ext.network.metadata.uid!,
      fixedIPAddress: req.fixedIpAddress,
      portId: req.vipPortId,
      loadBalancer: { namespace: req.owner.namespace, name: req.owner.name, id: req.loadBalancerId },
      role: req.role,
      owner: req.owner,
    };
  }

  /** Points the floating IP at the request's VIP, if it points elsewhere. */
  private async repoint(
    fip: FloatingIpCr,
    req: FloatingIpRequest,
    ext: CompleteNetwork,
  ): Promise<FloatingIpCr> {
    let current = fip;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const spec = this.spec(req, ext, current.spec.floatingIPAddress);
      if (
        current.spec.fixedIPAddress === spec.fixedIPAddress &&
        current.spec.portId === spec.portId &&
        current.spec.loadBalancer?.id === spec.loadBalancer?.id &&
        current.spec.floatingNetworkId === spec.floatingNetworkId
      )
        return current;
      try {
        return await this.ctx.store.update("floatingIp", { ...structuredClone(current), spec });
      } catch (err) {
        if (!isConflict(err)) throw err;
        const fresh = await this.ctx.store.fetch("floatingIp", "", current.metadata.name!);
        if (!fresh) throw new SdnError("Conflict", `floating IP ${current.spec.floatingIPAddress} vanished`);
        current = fresh;
      }
    }
    throw new SdnError("Unavailable", `floating IP ${fip.spec.floatingIPAddress}: still racing`);
  }
}
