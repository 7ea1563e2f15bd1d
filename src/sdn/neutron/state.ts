// What the neutron backend knows of its own objects in Neutron: the networks, subnets and ports
// whose description says they are this cluster's (ownership.ts), indexed the ways the
// controller and agent read them. Filled by a full listing at start and on every resync, and
// kept current between them by the backend's own writes. A resync reports what changed behind
// its back: ports gone (their addresses are free) and port status changes.
import type {
  FloatingIp,
  FloatingIpRole,
  LoadBalancerState,
  NetworkPurpose,
  Owner,
  Port,
  Subnet,
} from "../model.ts";
import type { NeutronFloatingIp, NeutronNetwork, NeutronPort, NeutronSubnet } from "./neutron-api.ts";
import { type Ownership, ownershipOf } from "./ownership.ts";

export interface OwnedNetwork {
  network: NeutronNetwork;
  ownership: Ownership & { purpose: NetworkPurpose };
}

export interface OwnedPort {
  port: NeutronPort;
  ownership: Ownership;
}

export interface OwnedFloatingIp {
  fip: NeutronFloatingIp;
  ownership: Ownership & { role: FloatingIpRole };
}

export interface OwnedLoadBalancer {
  lb: LoadBalancerState;
  ownership: Ownership;
}

export interface Listing {
  networks: NeutronNetwork[];
  subnets: NeutronSubnet[];
  ports: NeutronPort[];
  floatingIps: NeutronFloatingIp[];
  /** Load balancers with their trees, each with the description it was created with. */
  loadBalancers: { lb: LoadBalancerState; description: string }[];
}

export interface ResyncReport {
  /** Subnets with a port gone since the last look (their addresses are free). */
  released: Set<string>;
  /** Owners of ports whose status changed, or that hold a port twice (to sync again). */
  statusChanged: Owner[];
}

export class NeutronState {
  private readonly clusterId: string;
  private readonly networks = new Map<string, OwnedNetwork>();
  private readonly subnets = new Map<string, NeutronSubnet>();
  private readonly ports = new Map<string, OwnedPort>();
  private readonly fips = new Map<string, OwnedFloatingIp>();
  private readonly lbs = new Map<string, OwnedLoadBalancer>();
  /** Port ids by owner UID and by network id (findPorts runs once per pod sync). */
  private readonly portsByOwner = new Index();
  private readonly portsByNetwork = new Index();

  constructor(clusterId: string) {
    this.clusterId = clusterId;
  }

  /** Ours: this cluster's ownership. */
  own(description: string | undefined, name: string): Ownership | undefined {
    const o = ownershipOf(description, name);
    return o?.clusterId === this.clusterId ? o : undefined;
  }

  /** Replaces everything with a fresh listing; answers what changed that this process did not do. */
  replace(listing: Listing): ResyncReport {
    const report: ResyncReport = { released: new Set(), statusChanged: [] };
    this.networks.clear();
    for (const n of listing.networks) this.putNetwork(n);
    this.subnets.clear();
    for (const s of listing.subnets) if (this.networks.has(s.network_id)) this.subnets.set(s.id, s);
    const before = new Map(this.ports);
    this.ports.clear();
    this.portsByOwner.clear();
    this.portsByNetwork.clear();
    for (const p of listing.ports) {
      this.putPort(p);
      const was = before.get(p.id);
      if (was && was.port.status !== p.status && this.ports.has(p.id))
        report.statusChanged.push(this.ports.get(p.id)!.ownership.owner);
    }
    for (const [id, was] of before)
      if (!this.ports.has(id)) for (const ip of was.port.fixed_ips) report.released.add(ip.subnet_id);
    // Two ports of one owner under one name on one network: two writers raced (a request of a
    // controller that was stopped landed after the listing its successor started from). Its
    // owner is told, so its next sync keeps one.
    const seen = new Map<string, OwnedPort>();
    for (const owned of this.ports.values()) {
      if (owned.ownership.pooled) continue;
      const key = `${owned.ownership.owner.uid}/${owned.port.network_id}/${owned.port.name}`;
      if (seen.has(key)) report.statusChanged.push(owned.ownership.owner);
      else seen.set(key, owned);
    }
    this.fips.clear();
    for (const f of listing.floatingIps) this.putFloatingIp(f);
    this.lbs.clear();
    for (const l of listing.loadBalancers) this.putLoadBalancer(l.lb, l.description);
    return report;
  }

  putFloatingIp(f: NeutronFloatingIp): OwnedFloatingIp | undefined {
    const o = this.own(f.description, "");
    if (!o?.role) return undefined;
    const owned = { fip: f, ownership: o as OwnedFloatingIp["ownership"] };
    this.fips.set(f.id, owned);
    return owned;
  }

  removeFloatingIp(id: string): void {
    this.fips.delete(id);
  }

  floatingIpsOf(ownerUid: string): (FloatingIp & { role: FloatingIpRole })[] {
    return [...this.fips.values()]
      .filter((f) => f.ownership.owner.uid === ownerUid)
      .map((f) => ({ ...f.fip, role: f.ownership.role }));
  }

  floatingIp(id: string): OwnedFloatingIp | undefined {
    return this.fips.get(id);
  }

  allFloatingIps(): OwnedFloatingIp[] {
    return [...this.fips.values()];
  }

  /** `name` is the load balancer's own name, the owner's (the Service's). */
  putLoadBalancer(lb: LoadBalancerState, description: string): OwnedLoadBalancer | undefined {
    const o = this.own(description, lb.loadbalancer.name);
    if (!o) return undefined;
    const owned = { lb, ownership: o };
    this.lbs.set(lb.loadbalancer.id, owned);
    return owned;
  }

  removeLoadBalancer(id: string): void {
    this.lbs.delete(id);
  }

  loadBalancer(id: string): OwnedLoadBalancer | undefined {
    return this.lbs.get(id);
  }

  loadBalancerOf(ownerUid: string): OwnedLoadBalancer | undefined {
    for (const l of this.lbs.values()) if (l.ownership.owner.uid === ownerUid) return l;
    return undefined;
  }

  allLoadBalancers(): OwnedLoadBalancer[] {
    return [...this.lbs.values()];
  }

  putNetwork(n: NeutronNetwork): OwnedNetwork | undefined {
    const o = this.own(n.description, n.name);
    if (!o?.purpose) return undefined;
    const owned = { network: n, ownership: o as OwnedNetwork["ownership"] };
    this.networks.set(n.id, owned);
    return owned;
  }

  putSubnet(s: NeutronSubnet): void {
    this.subnets.set(s.id, s);
  }

  removeNetwork(id: string): void {
    const n = this.networks.get(id);
    this.networks.delete(id);
    for (const s of n?.network.subnets ?? []) this.subnets.delete(s);
    for (const [sid, s] of this.subnets) if (s.network_id === id) this.subnets.delete(sid);
  }

  putPort(p: NeutronPort): OwnedPort | undefined {
    const o = this.own(p.description, p.name);
    if (!o) return undefined;
    this.removePort(p.id);
    const owned = { port: p, ownership: o };
    this.ports.set(p.id, owned);
    this.portsByOwner.add(o.owner.uid, p.id);
    this.portsByNetwork.add(p.network_id, p.id);
    return owned;
  }

  removePort(id: string): OwnedPort | undefined {
    const p = this.ports.get(id);
    if (!p) return undefined;
    this.ports.delete(id);
    this.portsByOwner.remove(p.ownership.owner.uid, id);
    this.portsByNetwork.remove(p.port.network_id, id);
    return p;
  }

  network(id: string): OwnedNetwork | undefined {
    return this.networks.get(id);
  }

  /** The network (with its first subnet) that `ownerUid` has for `purpose`. */
  networkOf(
    ownerUid: string,
    purpose: NetworkPurpose,
  ): { network: OwnedNetwork; subnet?: NeutronSubnet } | undefined {
    for (const n of this.networks.values())
      if (n.ownership.owner.uid === ownerUid && n.ownership.purpose === purpose)
        return { network: n, subnet: this.subnetsOf(n.network.id)[0] };
    return undefined;
  }

  subnet(id: string): Subnet | undefined {
    return this.subnets.get(id);
  }

  subnetsOf(networkId: string): NeutronSubnet[] {
    return [...this.subnets.values()].filter((s) => s.network_id === networkId);
  }

  allNetworks(): OwnedNetwork[] {
    return [...this.networks.values()];
  }

  allSubnets(): NeutronSubnet[] {
    return [...this.subnets.values()];
  }

  port(id: string): OwnedPort | undefined {
    return this.ports.get(id);
  }

  portsOf(ownerUid: string): Port[] {
    return this.portsByOwner.get(ownerUid).map((id) => this.ports.get(id)!.port);
  }

  /** Ours on a network, with their ownership (pooled ones included). */
  ownedOn(networkId: string): OwnedPort[] {
    return this.portsByNetwork.get(networkId).map((id) => this.ports.get(id)!);
  }

  portsOn(networkId: string): Port[] {
    return this.portsByNetwork.get(networkId).map((id) => this.ports.get(id)!.port);
  }

  allPorts(): OwnedPort[] {
    return [...this.ports.values()];
  }
}

/** Sets of ids by key. */
class Index {
  private readonly m = new Map<string, Set<string>>();
  add(key: string, id: string): void {
    const s = this.m.get(key);
    if (s) s.add(id);
    else this.m.set(key, new Set([id]));
  }
  remove(key: string, id: string): void {
    const s = this.m.get(key);
    s?.delete(id);
    if (s && !s.size) this.m.delete(key);
  }
  get(key: string): string[] {
    return [...(this.m.get(key) ?? [])];
  }
  clear(): void {
    this.m.clear();
  }
}
