// Floating IPs on the external network, on a Service's VIP port: one per owner and role (its
// `spec.externalIPs[0]`, or its type LoadBalancer ingress). A given address is asked of Neutron
// by name (409 if someone holds it); a free one is picked here, lowest first, skipping every
// floating IP on the network (anyone's) and the addresses other Services ask for by name, so
// a pick never takes an address a user named.
import { KeyedLock } from "../../util/keyed-lock.ts";
import type { FloatingIpRequest } from "../backend.ts";
import { SdnError } from "../backend.ts";
import { firstFreeIp, isAssignable } from "../ipam.ts";
import type { FloatingIp, FloatingIpRole, Subnet } from "../model.ts";
import { OpenStackError } from "./http.ts";
import type { NeutronApi, NeutronFloatingIp } from "./neutron-api.ts";
import { clusterTag, describe } from "./ownership.ts";
import type { NeutronState } from "./state.ts";

export interface FloatingIpDeps {
  neutron: NeutronApi;
  state: NeutronState;
  clusterId: string;
  projectId?: string;
  /** The external network and its subnet, when there is one. */
  external: () => { networkId: string; subnet: Subnet } | undefined;
}

export class NeutronFloatingIps {
  private readonly d: FloatingIpDeps;
  private readonly lock = new KeyedLock();

  constructor(deps: FloatingIpDeps) {
    this.d = deps;
  }

  ensure(req: FloatingIpRequest): Promise<FloatingIp> {
    return this.lock.run(`${req.owner.uid}/${req.role}`, () => this.converge(req));
  }

  find(ownerUid: string): (FloatingIp & { role: FloatingIpRole })[] {
    return this.d.state.floatingIpsOf(ownerUid);
  }

  async delete(id: string): Promise<void> {
    await this.d.neutron.deleteFloatingIp(id);
    this.d.state.removeFloatingIp(id);
  }

  private async converge(req: FloatingIpRequest): Promise<FloatingIp> {
    const ext = this.d.external();
    if (!ext) throw new SdnError("NotFound", "there is no external network (yet)");
    const { allocation_pools: pools, gateway_ip: gateway, cidr } = ext.subnet;
    if (req.address !== undefined && !isAssignable(req.address, pools, gateway))
      throw new SdnError(
        "Invalid",
        `${req.address} is not an assignable address of the external subnet ${cidr}`,
      );
    const mine = this.find(req.owner.uid).filter((f) => f.role === req.role);
    const keep =
      req.address === undefined ? mine[0] : mine.find((f) => f.floating_ip_address === req.address);
    // One per owner and role: an old address, or a crash's leftover, goes first.
    for (const f of mine) if (f !== keep) await this.delete(f.id);
    let fip: NeutronFloatingIp;
    if (keep) {
      fip = keep as unknown as NeutronFloatingIp;
      if (keep.port_id !== req.vipPortId || keep.fixed_ip_address !== req.fixedIpAddress)
        fip = await this.d.neutron.updateFloatingIp(keep.id, {
          port_id: req.vipPortId,
          fixed_ip_address: req.fixedIpAddress,
        });
    } else {
      const address = req.address ?? (await this.pick(ext.networkId, ext.subnet, req.avoid));
      fip = await this.create(req, ext.networkId, address);
    }
    this.d.state.putFloatingIp(fip);
    return this.find(req.owner.uid).find((f) => f.id === fip.id)!;
  }

  private async create(
    req: FloatingIpRequest,
    networkId: string,
    address: string,
  ): Promise<NeutronFloatingIp> {
    let fip: NeutronFloatingIp;
    try {
      fip = await this.d.neutron.createFloatingIp({
        floating_network_id: networkId,
        floating_ip_address: address,
        port_id: req.vipPortId,
        fixed_ip_address: req.fixedIpAddress,
        description: describe(this.d.clusterId, req.owner, { role: req.role, name: req.owner.name }),
        ...(this.d.projectId ? { project_id: this.d.projectId } : {}),
      });
    } catch (err) {
      if (err instanceof OpenStackError && err.type === "FloatingIPPortAlreadyAssociated")
        // Neutron maps one floating IP to a fixed IP: a Service with both spec.externalIPs and
        // type LoadBalancer cannot have a second one on its VIP.
        throw new SdnError(
          "InUse",
          `the VIP ${req.fixedIpAddress} already has a floating IP, and Neutron allows one per fixed IP (${err.message})`,
        );
      if (err instanceof OpenStackError && err.status === 409) {
        const holder = this.d.state.allFloatingIps().find((f) => f.fip.floating_ip_address === address);
        const who = holder
          ? `${holder.ownership.owner.kind} ${holder.ownership.owner.namespace}/${holder.ownership.owner.name}`
          : "someone else";
        throw new SdnError("IpInUse", `floating IP ${address} is in use by ${who}`);
      }
      throw err;
    }
    await this.d.neutron.addTag("floatingips", fip.id, clusterTag(this.d.clusterId)).catch(() => {});
    return fip;
  }

  /**
   * The lowest free address of the external subnet: no one's floating IP or port (a router's
   * gateway has one), and no address another Service asks for.
   */
  private async pick(networkId: string, subnet: Subnet, avoid?: ReadonlySet<string>): Promise<string> {
    const [fips, ports] = await Promise.all([
      this.d.neutron.listFloatingIps({ floating_network_id: networkId }),
      this.d.neutron.listPorts({ network_id: networkId }),
    ]);
    const used = new Set([
      ...fips.map((f) => f.floating_ip_address),
      ...ports.flatMap((p) => p.fixed_ips.map((ip) => ip.ip_address)),
      ...(avoid ?? []),
    ]);
    const address = firstFreeIp(subnet.allocation_pools, used, subnet.gateway_ip);
    if (!address)
      throw new SdnError("PoolExhausted", `the external subnet ${subnet.cidr} has no free address`);
    return address;
  }
}
