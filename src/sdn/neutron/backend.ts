// The neutron backend: pod networks, subnets and ports as real Neutron objects. Reads come from
// NeutronState (a listing at start and every resync, plus this process's own writes); every
// write goes to Neutron, whose answers are the truth: an address is claimed by Neutron's own
// IPAM (409 IpAddressAlreadyAllocated for a taken one), a network's ports keep it from being
// deleted (409 NetworkInUse). Objects carry their owner in the description from the create on
// (ownership.ts), so a restart adopts exactly this cluster's objects and nobody else's.
// Services are Octavia load balancers on VIP ports Raven makes (load-balancers.ts), external
// IPs floating IPs on them (floating-ips.ts); the pod and service subnets hang off one router
// with the external network as its gateway, as Neutron needs for floating IPs.
import { type Logger, stderrLogger } from "../../kube/log.ts";
import { KeyedLock } from "../../util/keyed-lock.ts";
import {
  type FloatingIpRequest,
  type LoadBalancerRequest,
  type NetworkRequest,
  type NetworkWithSubnet,
  type PortRequest,
  type SdnBackend,
  SdnError,
} from "../backend.ts";
import {
  defaultLayout,
  externalSubnetLayout,
  firstFreeSubnet,
  parseCidr,
  serviceSubnetLayout,
} from "../ipam.ts";
import type {
  FloatingIp,
  FloatingIpRole,
  Inventory,
  LoadBalancerState,
  Network,
  NetworkPurpose,
  Owner,
  Port,
  Subnet,
} from "../model.ts";
import { NeutronFloatingIps } from "./floating-ips.ts";
import { OpenStackError, OpenStackUnavailable } from "./http.ts";
import { NeutronLoadBalancers, VIP_DEVICE_OWNER } from "./load-balancers.ts";
import type { NeutronApi, NeutronNetwork, NeutronPort, NeutronRouter } from "./neutron-api.ts";
import type { OctaviaApi } from "./octavia-api.ts";
import { clusterTag, describe, ownershipOf } from "./ownership.ts";
import { type PortPoolOptions, PortPools } from "./port-pools.ts";
import { NeutronPolicies } from "./security-groups.ts";
import { NeutronState } from "./state.ts";

/** device_owner of every port Raven makes (as Kuryr's compute:kuryr): pod ports and pooled ones. */
export const RAVEN_DEVICE_OWNER = "compute:raven";

/** The owner UID of the cluster's own networks (services, external), as the controller names it. */
const CLUSTER_UID = "cluster";

export interface NeutronBackendOptions {
  neutron: NeutronApi;
  octavia: OctaviaApi;
  /** Names this cluster in descriptions and tags; only objects with it are ever touched. */
  clusterId: string;
  /** The project objects are created in (needed without Keystone, where there is no token scope). */
  projectId?: string;
  /** Where namespace subnets are carved from (Neutron allows overlaps; only ours count). Default 192.168.0.0/16. */
  podCidr?: string;
  /** Prefix length of carved subnets. Default 24. */
  namespaceSubnetPrefix?: number;
  /** Never carved (the default namespace's, requested explicitly). */
  reservedCidrs?: string[];
  /** How often the whole state is listed again (others' changes, deletions behind our back). Default 30 s. */
  resyncMs?: number;
  logger?: Logger;
  /** Called by stop() (closes the transport's connections). */
  onStop?: () => Promise<void>;
  /** Port pools per network and node (Kuryr's); none when absent. */
  portPool?: PortPoolOptions;
}

const CLUSTER: Owner = { kind: "Cluster", namespace: "", name: "raven", uid: "cluster" };

export class NeutronBackend implements SdnBackend {
  readonly name = "neutron";
  readonly oneFloatingIpPerFixedIp = true;
  private readonly o: Required<Omit<NeutronBackendOptions, "projectId" | "onStop" | "portPool">> &
    Pick<NeutronBackendOptions, "projectId" | "onStop" | "portPool">;
  private readonly pools: PortPools | undefined;
  private readonly state: NeutronState;
  private readonly lock = new KeyedLock();
  private readonly released = new Set<(subnetId: string) => void>();
  private readonly statusChanged = new Set<(owner: Owner) => void>();
  private readonly changed = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private resyncing: Promise<void> | undefined;
  private readonly lbs: NeutronLoadBalancers;
  private readonly fips: NeutronFloatingIps;
  /** NetworkPolicies as security groups. */
  readonly policies: NeutronPolicies;
  /** The router the pod and service subnets hang off (gateway: the external network). */
  private router: NeutronRouter | undefined;

  constructor(opts: NeutronBackendOptions) {
    this.o = {
      podCidr: "192.168.0.0/16",
      namespaceSubnetPrefix: 24,
      reservedCidrs: [],
      resyncMs: 30_000,
      logger: stderrLogger,
      ...opts,
    };
    this.state = new NeutronState(opts.clusterId);
    const deps = {
      neutron: opts.neutron,
      state: this.state,
      clusterId: opts.clusterId,
      projectId: opts.projectId,
    };
    this.lbs = new NeutronLoadBalancers({ ...deps, octavia: opts.octavia });
    this.pools =
      opts.portPool && opts.portPool.min > 0
        ? new PortPools({
            ...deps,
            deviceOwner: RAVEN_DEVICE_OWNER,
            logger: this.o.logger,
            options: opts.portPool,
            securityGroups: async () => [await this.policies.defaultGroupId()],
            // A taken port deleted behind Raven's back before its update: the pod needs another.
            onLost: (owner) => {
              for (const l of this.statusChanged) l(owner);
              this.notifyChanged();
            },
          })
        : undefined;
    this.policies = new NeutronPolicies({
      ...deps,
      logger: this.o.logger,
      deviceOwner: RAVEN_DEVICE_OWNER,
      changed: () => this.notifyChanged(),
    });
    this.fips = new NeutronFloatingIps({
      ...deps,
      external: () => {
        const ext = this.findNetwork(CLUSTER_UID, "external");
        return ext && { networkId: ext.network.id, subnet: ext.subnet };
      },
    });
  }

  async start(signal: AbortSignal): Promise<boolean> {
    for (let delay = 500; !signal.aborted; delay = Math.min(delay * 2, 10_000)) {
      try {
        await this.resync();
        break;
      } catch (err) {
        this.o.logger.warn({ err: String(err) }, "cannot list Raven's objects in Neutron yet; retrying");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    if (signal.aborted) return false;
    this.timer = setInterval(() => {
      this.resync().catch((err) => this.o.logger.warn({ err: String(err) }, "Neutron resync failed"));
    }, this.o.resyncMs);
    this.timer.unref();
    return true;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pools?.stop();
    await this.resyncing?.catch(() => {});
    await this.o.onStop?.();
  }

  /** Lists this cluster's objects again and tells the listeners what changed behind our back. */
  resync(): Promise<void> {
    this.resyncing ??= this.listAll().finally(() => {
      this.resyncing = undefined;
    });
    return this.resyncing;
  }

  private async listAll(): Promise<void> {
    const n = this.o.neutron;
    const project = this.o.projectId ? { project_id: this.o.projectId } : {};
    // Ports by device_owner on the server (they are many); networks and subnets are few.
    const since = this.policies.listingStarts();
    const [networks, subnets, ports, floatingIps, routers, loadBalancers, securityGroups] = await Promise.all(
      [
        n.listNetworks(project),
        n.listSubnets(project),
        n.listPorts({ ...project, device_owner: [RAVEN_DEVICE_OWNER, VIP_DEVICE_OWNER] }),
        n.listFloatingIps(project),
        n.listRouters(project),
        this.lbs.list(),
        n.listSecurityGroups(project),
      ],
    );
    const report = this.state.replace({ networks, subnets, ports, floatingIps, loadBalancers });
    this.policies.replace(securityGroups, since);
    // Takes from a pool whose update the listing may predate still show as their pods'.
    this.pools?.overlay();
    this.router = routers.find((r) => ownershipOf(r.description, r.name)?.clusterId === this.o.clusterId);
    // A tag lost to a crash between a create and its tag comes back.
    for (const owned of this.state.allPorts())
      if (!owned.port.tags?.includes(clusterTag(this.o.clusterId)))
        await this.tag("ports", owned.port.id).catch(() => {});
    for (const subnetId of report.released) for (const l of this.released) l(subnetId);
    for (const owner of report.statusChanged) for (const l of this.statusChanged) l(owner);
    for (const l of this.changed) l();
  }

  onAddressReleased(listener: (subnetId: string) => void): void {
    this.released.add(listener);
  }

  onPortStatusChanged(listener: (owner: Owner) => void): void {
    this.statusChanged.add(listener);
  }

  onChange(listener: () => void): void {
    this.changed.add(listener);
  }

  // Networks.

  async ensureNetwork(req: NetworkRequest): Promise<NetworkWithSubnet> {
    return this.lock.run(`network/${req.owner.uid}/${req.purpose}`, async () => {
      const have = this.findNetwork(req.owner.uid, req.purpose);
      if (have) return have;
      // The owner's name too: a namespace's network is named after it, not the same.
      const description = describe(this.o.clusterId, req.owner, {
        purpose: req.purpose,
        name: req.owner.name,
      });
      const found = this.state.networkOf(req.owner.uid, req.purpose);
      const network =
        found?.network.network ??
        (await this.write(() =>
          this.o.neutron.createNetwork({
            name: req.name,
            description,
            ...(req.purpose === "external" ? { "router:external": true } : {}),
            ...(this.o.projectId ? { project_id: this.o.projectId } : {}),
          }),
        ));
      this.state.putNetwork(network);
      await this.tag("networks", network.id).catch(() => {});
      // Carving and creating under one lock: two namespaces must not get the same block (Neutron
      // would allow the overlap).
      const subnet = await this.lock.run("carve", async () => {
        const requested = req.cidr ?? this.carve();
        // The service subnet is Kuryr's double-size one: the router's interface must not take
        // the first ClusterIP (the kubernetes Service's).
        const { cidr, ...layout } =
          req.purpose === "services"
            ? serviceSubnetLayout(requested)
            : req.purpose === "external"
              ? externalSubnetLayout(requested)
              : { cidr: requested, ...defaultLayout(requested) };
        return this.write(() =>
          this.o.neutron.createSubnet({
            name: `${req.name}-subnet`,
            network_id: network.id,
            ip_version: 4,
            cidr,
            gateway_ip: layout.gateway,
            allocation_pools: layout.pools,
            enable_dhcp: false,
            description,
            ...(this.o.projectId ? { project_id: this.o.projectId } : {}),
          }),
        );
      });
      this.state.putSubnet(subnet);
      this.state.putNetwork({ ...network, subnets: [subnet.id] });
      await this.tag("subnets", subnet.id).catch(() => {});
      if (req.purpose === "external") await this.ensureRouter(network.id, subnet);
      else if (this.router)
        await this.write(() => this.o.neutron.addRouterInterface(this.router!.id, subnet.id));
      this.notifyChanged();
      return this.findNetwork(req.owner.uid, req.purpose)!;
    });
  }

  /**
   * The router to the external network, made once it exists, with every pod and service subnet
   * of ours on it (floating IPs need a route from the external network to the VIP's subnet).
   */
  private async ensureRouter(externalNetworkId: string, externalSubnet: Subnet): Promise<void> {
    await this.lock.run("router", async () => {
      if (this.router) return;
      const router = await this.write(() =>
        this.o.neutron.createRouter({
          name: "raven",
          // At the address kept out of the pool, so it never takes one a Service asks for.
          external_gateway_info: {
            network_id: externalNetworkId,
            external_fixed_ips: [
              { subnet_id: externalSubnet.id, ip_address: externalSubnetLayout(externalSubnet.cidr).router },
            ],
          },
          ...(this.o.projectId ? { project_id: this.o.projectId } : {}),
          description: describe(this.o.clusterId, CLUSTER),
        }),
      );
      await this.o.neutron.addTag("routers", router.id, clusterTag(this.o.clusterId)).catch(() => {});
      for (const n of this.state.allNetworks())
        if (n.ownership.purpose !== "external")
          for (const s of this.state.subnetsOf(n.network.id))
            await this.write(() => this.o.neutron.addRouterInterface(router.id, s.id));
      this.router = router;
    });
  }

  findNetwork(ownerUid: string, purpose: NetworkPurpose): NetworkWithSubnet | undefined {
    const found = this.state.networkOf(ownerUid, purpose);
    if (!found?.subnet) return undefined;
    return { network: toNetwork(found.network.network), subnet: found.subnet };
  }

  findSubnet(subnetId: string): Subnet | undefined {
    return this.state.subnet(subnetId);
  }

  async deleteNetwork(networkId: string): Promise<void> {
    const owned = this.state.network(networkId);
    if (!owned) return;
    const inUse = this.portsOnNetwork(networkId).length;
    if (inUse) throw new SdnError("InUse", `network ${owned.network.name} still has ${inUse} port(s)`);
    await this.write(async () => this.pools?.drain(networkId));
    try {
      // Off the router, then subnets: a subnet with a port Raven does not know (someone
      // else's) refuses, and says so.
      for (const s of this.state.subnetsOf(networkId)) {
        const router = this.router;
        if (router && owned.ownership.purpose !== "external")
          await this.write(() => this.o.neutron.removeRouterInterface(router.id, s.id));
        await this.write(() => this.o.neutron.deleteSubnet(s.id));
      }
      await this.write(() => this.o.neutron.deleteNetwork(networkId));
    } catch (err) {
      if (err instanceof OpenStackError && err.status === 409)
        throw new SdnError("InUse", `network ${owned.network.name} is still in use: ${err.message}`);
      throw err;
    }
    this.state.removeNetwork(networkId);
    this.notifyChanged();
  }

  /** The first free block of podCidr, given every pod subnet of ours (and the reserved ones). */
  private carve(): string {
    const taken = [...this.state.allSubnets().map((s) => s.cidr), ...this.o.reservedCidrs];
    const cidr = firstFreeSubnet(this.o.podCidr, this.o.namespaceSubnetPrefix, taken);
    if (!cidr)
      throw new SdnError("SubnetFull", `no free /${this.o.namespaceSubnetPrefix} left in ${this.o.podCidr}`);
    return cidr;
  }

  // Ports.

  async createPort(req: PortRequest): Promise<Port> {
    // One pod's calls queue up, so a repeat finds the first one's port instead of making another.
    return this.lock.run(`port/${req.owner.uid}/${req.networkId}/${req.name}`, async () => {
      // A pod may have more than one port on a network (attachments), each with its own name.
      const existing = this.state
        .portsOf(req.owner.uid)
        .find((p) => p.network_id === req.networkId && p.name === req.name);
      if (existing) return existing;
      const subnet = this.state.subnet(req.subnetId);
      if (!subnet) throw new SdnError("NotFound", `subnet ${req.subnetId} is not one of Raven's`);
      if (this.pools && req.hostId && !req.ipAddress) {
        const pooled = this.pools.take(
          req.networkId,
          req.subnetId,
          req.hostId,
          { name: req.name, device_id: req.owner.uid, description: describe(this.o.clusterId, req.owner) },
          req.claimPortId,
        );
        if (pooled) {
          this.notifyChanged();
          return pooled;
        }
      }
      if (req.ipAddress && !parseCidr(subnet.cidr))
        throw new SdnError("Invalid", `subnet ${subnet.cidr} is not a CIDR`);
      // Until a policy selects the pod: the group that allows everything.
      const defaultGroup = await this.write(() => this.policies.defaultGroupId());
      let port: NeutronPort;
      try {
        port = await this.write(() =>
          this.o.neutron.createPort({
            name: req.name,
            network_id: req.networkId,
            fixed_ips: [{ subnet_id: req.subnetId, ...(req.ipAddress ? { ip_address: req.ipAddress } : {}) }],
            device_owner: RAVEN_DEVICE_OWNER,
            device_id: req.owner.uid,
            security_groups: [defaultGroup],
            ...(req.hostId ? { "binding:host_id": req.hostId } : {}),
            description: describe(this.o.clusterId, req.owner),
            ...(this.o.projectId ? { project_id: this.o.projectId } : {}),
          }),
        );
      } catch (err) {
        if (err instanceof OpenStackError) {
          if (err.type === "IpAddressAlreadyAllocated")
            throw new SdnError("IpInUse", `${req.ipAddress} is already in use on ${subnet.cidr}`);
          if (err.type === "IpAddressGenerationFailure")
            throw new SdnError("SubnetFull", `no free address left in ${subnet.cidr}`);
        }
        throw err;
      }
      this.state.putPort(port);
      // The tag only helps lists filter: not on the pod's path (a resync adds a missing one).
      void this.tag("ports", port.id).catch(() => {});
      this.notifyChanged();
      return port;
    });
  }

  findPorts(ownerUid: string): Port[] {
    return this.state.portsOf(ownerUid);
  }

  reservePorts(portIds: Iterable<string>): void {
    this.pools?.reserve(portIds);
  }

  /** A network's pod ports (pooled ones are nobody's yet). */
  portsOnNetwork(networkId: string): Port[] {
    return this.state
      .ownedOn(networkId)
      .filter((p) => !p.ownership.pooled)
      .map((p) => p.port);
  }

  async deletePort(portId: string): Promise<void> {
    const owned = this.state.port(portId);
    // A pod's port goes back to its pool while the pool has room (its address with it).
    if (this.pools && owned && !owned.ownership.pooled && owned.port.device_owner === RAVEN_DEVICE_OWNER) {
      const pooled = await this.pools.giveBack(owned.port).catch((err) => {
        this.o.logger.warn({ port: portId, err: String(err) }, "could not pool a pod's port; deleting it");
        return false;
      });
      if (pooled) {
        // Its address is free for the next pod (in the pool), and the network has one port
        // fewer: whoever waits on either is due now.
        for (const ip of owned.port.fixed_ips) for (const l of this.released) l(ip.subnet_id);
        this.notifyChanged();
        return;
      }
    }
    this.pools?.forget(portId);
    await this.write(() => this.o.neutron.deletePort(portId));
    const gone = this.state.removePort(portId);
    for (const ip of gone?.port.fixed_ips ?? []) for (const l of this.released) l(ip.subnet_id);
    this.notifyChanged();
  }

  // What a node's agent reads (the embedded backend has the same).

  /** Every pod network of ours with its subnet. */
  listPodNetworks(): NetworkWithSubnet[] {
    return this.state
      .allNetworks()
      .filter((n) => n.ownership.purpose === "pods")
      .flatMap((n) => {
        const subnet = this.state.subnetsOf(n.network.id)[0];
        return subnet ? [{ network: toNetwork(n.network), subnet }] : [];
      });
  }

  /** The owner UID of a port of ours. */
  portOwner(portId: string): string | undefined {
    return this.state.port(portId)?.ownership.owner.uid;
  }

  /** Waits for the port pools' refills under way (tests and benchmarks). */
  async poolsSettled(): Promise<void> {
    await this.pools?.settled();
  }

  /** Free pooled ports of a network on a node. */
  pooledPorts(networkId: string, hostId: string): number {
    return this.pools?.free(networkId, hostId).length ?? 0;
  }

  listLoadBalancers(): LoadBalancerState[] {
    return this.state.allLoadBalancers().map((l) => l.lb);
  }

  listFloatingIps(): FloatingIp[] {
    return this.state.allFloatingIps().map((f) => f.fip);
  }

  // Load balancers and floating IPs.

  async ensureLoadBalancer(req: LoadBalancerRequest): Promise<LoadBalancerState> {
    const lb = await this.write(() => this.lbs.ensure(req));
    this.notifyChanged();
    return lb;
  }

  findLoadBalancer(ownerUid: string): LoadBalancerState | undefined {
    return this.lbs.find(ownerUid);
  }

  async deleteLoadBalancer(loadBalancerId: string): Promise<void> {
    await this.write(() => this.lbs.delete(loadBalancerId));
    this.notifyChanged();
  }

  async ensureFloatingIp(req: FloatingIpRequest): Promise<FloatingIp> {
    const fip = await this.write(() => this.fips.ensure(req));
    this.notifyChanged();
    return fip;
  }

  findFloatingIps(ownerUid: string): (FloatingIp & { role: FloatingIpRole })[] {
    return this.fips.find(ownerUid);
  }

  async deleteFloatingIp(floatingIpId: string): Promise<void> {
    await this.write(() => this.fips.delete(floatingIpId));
    this.notifyChanged();
  }

  /** This cluster's networks, pod ports, load balancers and floating IPs with their owners. */
  inventory(): Inventory {
    const vips = new Set(this.state.allLoadBalancers().map((l) => l.lb.loadbalancer.vip_port_id));
    return {
      networks: this.state.allNetworks().map((n) => ({
        object: {
          ...toNetwork(n.network),
          subnet: this.state.subnetsOf(n.network.id)[0],
          purpose: n.ownership.purpose,
        },
        owner: n.ownership.owner,
      })),
      // A VIP port goes with its load balancer; one without (the controller stopped between
      // making the two) is the Service's own, and an orphan once the Service is gone.
      ports: this.state
        .allPorts()
        .filter(
          (p) => !p.ownership.pooled && (p.port.device_owner !== VIP_DEVICE_OWNER || !vips.has(p.port.id)),
        )
        .map((p) => ({ object: p.port, owner: p.ownership.owner })),
      loadBalancers: this.state.allLoadBalancers().map((l) => ({ object: l.lb, owner: l.ownership.owner })),
      floatingIps: this.state
        .allFloatingIps()
        .map((f) => ({ object: { ...f.fip, role: f.ownership.role }, owner: f.ownership.owner })),
    };
  }

  private async tag(resource: "networks" | "subnets" | "ports", id: string): Promise<void> {
    await this.o.neutron.addTag(resource, id, clusterTag(this.o.clusterId));
  }

  /** A Neutron write; an unreachable Neutron is the backend's "Unavailable" (the caller retries). */
  private async write<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof OpenStackUnavailable) throw new SdnError("Unavailable", `Neutron: ${err.message}`);
      if (err instanceof OpenStackError && err.status >= 500)
        throw new SdnError("Unavailable", `Neutron: ${err.message}`);
      throw err;
    }
  }

  private notifyChanged(): void {
    for (const l of this.changed) l();
  }
}

function toNetwork(n: NeutronNetwork): Network {
  return {
    id: n.id,
    name: n.name,
    status: n.status,
    admin_state_up: n.admin_state_up,
    subnets: n.subnets,
    "router:external": Boolean(n["router:external"]),
    tenant_id: n.tenant_id ?? n.project_id,
  };
}
