// Test support only: an in-memory SdnBackend that records every write as one line, for the
// reconcilers' fixture tests (sample-controller style: run a sync, compare the actions). It
// allocates with the real pure IPAM (ipam.ts) and release history, so address choices are the
// ones a real backend makes. Production code never imports this file.
import type { CompiledPolicy } from "../api/compiled-policy.ts";
import { type Clock, systemClock } from "../kube/clock.ts";
import {
  type FloatingIpRequest,
  type LoadBalancerRequest,
  type NetworkRequest,
  type NetworkWithSubnet,
  type PolicyStore,
  type PortRequest,
  type SdnBackend,
  SdnError,
} from "./backend.ts";
import { chooseFreeIp, defaultLayout, firstFreeIp, firstFreeSubnet, isAssignable, macForIp } from "./ipam.ts";
import type {
  FloatingIp,
  FloatingIpRole,
  Inventory,
  LoadBalancerState,
  NetworkPurpose,
  Owner,
  Port,
  PortState,
  Subnet,
} from "./model.ts";
import { ReleaseHistory } from "./release-history.ts";

interface FakeNetwork extends NetworkWithSubnet {
  owner: Owner;
  purpose: NetworkPurpose;
}

export interface FakeSdnBackendOptions {
  clock?: Clock;
  /** Addresses released less than this ago are reported through onRecentlyReleased. Default 120 s. */
  cooldownMs?: number;
  /** Where namespace subnets are carved from. Default 192.168.0.0/16 in /24s. */
  podCidr?: string;
  /** Refuse a second floating IP on one fixed IP, as Neutron does. */
  oneFloatingIpPerFixedIp?: boolean;
}

export class FakeSdnBackend implements SdnBackend {
  readonly name = "fake";
  readonly oneFloatingIpPerFixedIp: boolean;
  /** Every write, in order: `createPort default/web-1 192.168.0.2`, ... */
  readonly actions: string[] = [];
  /** Make the next call of an operation fail with this error (once). */
  readonly failNext = new Map<string, Error>();
  private readonly networks = new Map<string, FakeNetwork>();
  private readonly ports = new Map<string, { port: Port; owner: Owner }>();
  private readonly lbs = new Map<string, { lb: LoadBalancerState; owner: Owner }>();
  private readonly fips = new Map<string, { fip: FloatingIp & { role: FloatingIpRole }; owner: Owner }>();
  private readonly history: ReleaseHistory;
  private readonly clock: Clock;
  private readonly cooldownMs: number;
  private readonly podCidr: string;
  private nextId = 1;

  constructor(opts: FakeSdnBackendOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.history = new ReleaseHistory(this.clock);
    this.cooldownMs = opts.cooldownMs ?? 120_000;
    this.podCidr = opts.podCidr ?? "192.168.0.0/16";
    this.oneFloatingIpPerFixedIp = opts.oneFloatingIpPerFixedIp ?? false;
  }

  async start(): Promise<boolean> {
    return true;
  }

  async stop(): Promise<void> {}

  /** Compiled policies, by `namespace/name`; writes are recorded in `actions`. */
  readonly policyStore = new Map<string, CompiledPolicy>();
  policies: PolicyStore | undefined = {
    list: () => [...this.policyStore.values()],
    ensure: async (p) => {
      const key = `${p.policy.namespace}/${p.policy.name}`;
      this.maybeFail("ensurePolicy");
      if (JSON.stringify(this.policyStore.get(key)) === JSON.stringify(p)) return;
      this.policyStore.set(key, structuredClone(p));
      this.actions.push(`ensurePolicy ${key}`);
    },
    delete: async (namespace, name) => {
      const key = `${namespace}/${name}`;
      if (this.policyStore.delete(key)) this.actions.push(`deletePolicy ${key}`);
    },
    onChange: () => {},
    releaseAll: async () => {
      for (const key of [...this.policyStore.keys()]) {
        this.policyStore.delete(key);
        this.actions.push(`deletePolicy ${key}`);
      }
    },
  };

  private id(kind: string): string {
    return `${kind}-${this.nextId++}`;
  }

  private maybeFail(op: string): void {
    const err = this.failNext.get(op);
    if (!err) return;
    this.failNext.delete(op);
    throw err;
  }

  async ensureNetwork(req: NetworkRequest): Promise<NetworkWithSubnet> {
    this.maybeFail("ensureNetwork");
    const existing = this.findNetwork(req.owner.uid, req.purpose);
    if (existing) return existing;
    const taken = [...this.networks.values()].map((n) => n.subnet.cidr);
    const cidr = req.cidr ?? firstFreeSubnet(this.podCidr, 24, taken);
    if (!cidr) throw new SdnError("PoolExhausted", `no free subnet in ${this.podCidr}`);
    const layout = defaultLayout(cidr);
    const networkId = this.id("net");
    const subnetId = this.id("subnet");
    const net: FakeNetwork = {
      owner: req.owner,
      purpose: req.purpose,
      network: {
        id: networkId,
        name: req.name,
        status: "ACTIVE",
        admin_state_up: true,
        subnets: [subnetId],
        "router:external": req.purpose === "external",
        tenant_id: "fake",
      },
      subnet: {
        id: subnetId,
        name: `${req.name}-subnet`,
        network_id: networkId,
        cidr,
        gateway_ip: layout.gateway,
        allocation_pools: layout.pools,
        ip_version: 4,
        enable_dhcp: false,
        host_routes: [],
        dns_nameservers: [],
        tenant_id: "fake",
      },
    };
    this.networks.set(networkId, net);
    this.actions.push(`ensureNetwork ${req.name} ${cidr}`);
    return { network: net.network, subnet: net.subnet };
  }

  findNetwork(ownerUid: string, purpose: NetworkPurpose): NetworkWithSubnet | undefined {
    for (const n of this.networks.values())
      if (n.owner.uid === ownerUid && n.purpose === purpose) return { network: n.network, subnet: n.subnet };
    return undefined;
  }

  findSubnet(subnetId: string): Subnet | undefined {
    for (const n of this.networks.values()) if (n.subnet.id === subnetId) return n.subnet;
    return undefined;
  }

  async deleteNetwork(networkId: string): Promise<void> {
    const n = this.networks.get(networkId);
    if (!n) return;
    if (this.portsOnNetwork(networkId).length)
      throw new SdnError("InUse", `network ${n.network.name} has ports`);
    this.networks.delete(networkId);
    this.actions.push(`deleteNetwork ${n.network.name}`);
  }

  async createPort(req: PortRequest): Promise<Port> {
    this.maybeFail("createPort");
    const mine = this.findPorts(req.owner.uid).find(
      (p) => p.network_id === req.networkId && p.name === req.name,
    );
    if (mine) return mine;
    return this.addPort(req);
  }

  /** A port as another writer (a replica racing this one) would make it: even a second one per owner. */
  async addPort(req: PortRequest): Promise<Port> {
    const net = this.networks.get(req.networkId);
    if (!net || net.subnet.id !== req.subnetId) throw new SdnError("NotFound", "no such network/subnet");
    const { allocation_pools: pools, gateway_ip: gateway, cidr } = net.subnet;
    const used = new Set(this.portsOnNetwork(req.networkId).map((p) => p.fixed_ips[0].ip_address));
    let ip: string;
    if (req.ipAddress !== undefined) {
      if (!isAssignable(req.ipAddress, pools, gateway))
        throw new SdnError("Invalid", `${req.ipAddress} is not assignable in ${cidr}`);
      if (used.has(req.ipAddress)) throw new SdnError("IpInUse", `${req.ipAddress} is in use`);
      ip = req.ipAddress;
    } else {
      const choice = chooseFreeIp(pools, used, gateway, this.history.of(req.subnetId));
      if (!choice) throw new SdnError("SubnetFull", `subnet ${cidr} has no free address`);
      ip = choice.ip;
      if (choice.releasedAt !== undefined) {
        const ago = this.clock.now() - choice.releasedAt;
        if (ago < this.cooldownMs) req.onRecentlyReleased?.(ip, ago);
      }
    }
    const port: Port = {
      id: this.id("port"),
      name: req.name,
      network_id: req.networkId,
      mac_address: macForIp(ip),
      fixed_ips: [{ subnet_id: req.subnetId, ip_address: ip }],
      status: "DOWN",
      admin_state_up: true,
      device_id: req.owner.uid,
      device_owner: "compute:kuryr",
      "binding:host_id": req.hostId ?? null,
      tenant_id: "fake",
    };
    this.history.claimed(req.subnetId, ip, port.id);
    this.ports.set(port.id, { port, owner: req.owner });
    this.actions.push(`createPort ${req.owner.namespace}/${req.name} ${ip}`);
    return port;
  }

  findPorts(ownerUid: string): Port[] {
    return [...this.ports.values()].filter((p) => p.owner.uid === ownerUid).map((p) => p.port);
  }

  portsOnNetwork(networkId: string): Port[] {
    return [...this.ports.values()].filter((p) => p.port.network_id === networkId).map((p) => p.port);
  }

  async deletePort(portId: string): Promise<void> {
    const p = this.ports.get(portId);
    if (!p) return;
    this.ports.delete(portId);
    const { subnet_id, ip_address } = p.port.fixed_ips[0];
    this.actions.push(`deletePort ${p.owner.namespace}/${p.port.name} ${ip_address}`);
    this.history.released(subnet_id, ip_address, portId);
  }

  onAddressReleased(listener: (subnetId: string) => void): void {
    this.history.onReleased((subnetId) => listener(subnetId));
  }

  private readonly statusListeners: ((owner: Owner) => void)[] = [];

  async setPortStatus(portId: string, state: PortState): Promise<void> {
    const p = this.ports.get(portId);
    if (!p || p.port.status === state) return;
    p.port = { ...p.port, status: state };
    this.actions.push(`setPortStatus ${p.owner.namespace}/${p.port.name} ${state}`);
    for (const l of this.statusListeners) l(p.owner);
  }

  onPortStatusChanged(listener: (owner: Owner) => void): void {
    this.statusListeners.push(listener);
  }

  async ensureLoadBalancer(req: LoadBalancerRequest): Promise<LoadBalancerState> {
    this.maybeFail("ensureLoadBalancer");
    const lbId = this.lbs.get(req.owner.uid)?.lb.loadbalancer.id ?? this.id("lb");
    const lb: LoadBalancerState = {
      loadbalancer: {
        id: lbId,
        name: req.name,
        vip_address: req.vipAddress,
        vip_subnet_id: req.vipSubnetId,
        vip_port_id: `${lbId}-vip`,
        provisioning_status: "ACTIVE",
        operating_status: "ONLINE",
        listeners: req.listeners.map((_, i) => ({ id: `${lbId}-l${i}` })),
        pools: req.listeners.map((_, i) => ({ id: `${lbId}-p${i}` })),
        provider: "fake",
        tenant_id: "fake",
      },
      listeners: req.listeners.map((l, i) => ({
        id: `${lbId}-l${i}`,
        name: l.name,
        protocol: l.protocol,
        protocol_port: l.port,
        loadbalancer_id: lbId,
        default_pool_id: `${lbId}-p${i}`,
      })),
      pools: req.listeners.map((l, i) => ({
        id: `${lbId}-p${i}`,
        name: l.name,
        protocol: l.protocol,
        lb_algorithm: "ROUND_ROBIN",
        listener_id: `${lbId}-l${i}`,
        loadbalancer_id: lbId,
        provisioning_status: "ACTIVE",
        members: l.members.map((m) => ({
          id: `${m.address}:${m.port}`,
          name: m.name,
          address: m.address,
          protocol_port: m.port,
          subnet_id: m.subnetId ?? null,
          pool_id: `${lbId}-p${i}`,
          operating_status: "NO_MONITOR",
          provisioning_status: "ACTIVE",
        })),
      })),
    };
    this.lbs.set(req.owner.uid, { lb, owner: req.owner });
    const members = req.listeners.map((l) => `${l.port}:[${l.members.map((m) => m.address).join(",")}]`);
    this.actions.push(
      `ensureLoadBalancer ${req.owner.namespace}/${req.name} ${req.vipAddress} ${members.join(" ")}`,
    );
    return lb;
  }

  findLoadBalancer(ownerUid: string): LoadBalancerState | undefined {
    return this.lbs.get(ownerUid)?.lb;
  }

  async deleteLoadBalancer(loadBalancerId: string): Promise<void> {
    for (const [uid, { lb, owner }] of this.lbs)
      if (lb.loadbalancer.id === loadBalancerId) {
        this.lbs.delete(uid);
        this.actions.push(`deleteLoadBalancer ${owner.namespace}/${owner.name}`);
      }
  }

  async ensureFloatingIp(req: FloatingIpRequest): Promise<FloatingIp> {
    this.maybeFail("ensureFloatingIp");
    const ext = [...this.networks.values()].find((n) => n.purpose === "external");
    if (!ext) throw new SdnError("NotFound", "no external network");
    const { allocation_pools: pools, gateway_ip: gateway, cidr } = ext.subnet;
    const mine = this.findFloatingIps(req.owner.uid).find((f) => f.role === req.role);
    if (mine && (req.address === undefined || mine.floating_ip_address === req.address)) return mine;
    const held = new Map([...this.fips.values()].map((f) => [f.fip.floating_ip_address, f.owner] as const));
    let address = req.address;
    if (address !== undefined) {
      if (!isAssignable(address, pools, gateway)) throw new SdnError("Invalid", `${address} not in ${cidr}`);
      const holder = held.get(address);
      if (holder && holder.uid !== req.owner.uid)
        throw new SdnError(
          "IpInUse",
          `floating IP ${address} is in use by ${holder.namespace}/${holder.name}`,
        );
    } else {
      address = firstFreeIp(pools, new Set([...held.keys(), ...(req.avoid ?? [])]), gateway);
      if (!address) throw new SdnError("PoolExhausted", `the external subnet ${cidr} has no free address`);
    }
    if (mine) await this.deleteFloatingIp(mine.id);
    if (
      this.oneFloatingIpPerFixedIp &&
      [...this.fips.values()].some(
        (f) => f.fip.port_id === req.vipPortId && f.fip.fixed_ip_address === req.fixedIpAddress,
      )
    )
      throw new SdnError("InUse", `the VIP ${req.fixedIpAddress} already has a floating IP`);
    const fip = {
      id: this.id("fip"),
      floating_ip_address: address,
      floating_network_id: ext.network.id,
      fixed_ip_address: req.fixedIpAddress,
      port_id: req.vipPortId,
      status: "ACTIVE" as const,
      tenant_id: "fake",
      role: req.role,
    };
    this.fips.set(fip.id, { fip, owner: req.owner });
    this.actions.push(`ensureFloatingIp ${req.owner.namespace}/${req.owner.name} ${req.role} ${address}`);
    return fip;
  }

  findFloatingIps(ownerUid: string): (FloatingIp & { role: FloatingIpRole })[] {
    return [...this.fips.values()].filter((f) => f.owner.uid === ownerUid).map((f) => f.fip);
  }

  async deleteFloatingIp(floatingIpId: string): Promise<void> {
    const f = this.fips.get(floatingIpId);
    if (!f) return;
    this.fips.delete(floatingIpId);
    this.actions.push(`deleteFloatingIp ${f.fip.floating_ip_address}`);
  }

  inventory(): Inventory {
    return {
      networks: [...this.networks.values()].map((n) => ({
        object: { ...n.network, subnet: n.subnet, purpose: n.purpose },
        owner: n.owner,
      })),
      ports: [...this.ports.values()].map((p) => ({ object: p.port, owner: p.owner })),
      loadBalancers: [...this.lbs.values()].map((l) => ({ object: l.lb, owner: l.owner })),
      floatingIps: [...this.fips.values()].map((f) => ({ object: f.fip, owner: f.owner })),
    };
  }
}
