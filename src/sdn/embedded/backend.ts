// The embedded backend: the SDN kept in raven.io/v1 custom resources of the cluster itself, so
// any Kubernetes cluster can run Raven without an external SDN, and `kubectl get
// networks,subnets,ports,loadbalancers,floatingips` shows it. Reads come from informers (with
// this process's writes laid over them), writes go to the API server, and every claim (a
// network's name, a CIDR, an IP, a floating address) is an atomic create of an object named
// after what it claims, so any number of workers and controller replicas may race safely.
import { randomUUID } from "node:crypto";
import { type Clock, systemClock } from "../../kube/clock.ts";
import type { InformerScope } from "../../kube/informer-factory.ts";
import { type Logger, stderrLogger } from "../../kube/log.ts";
import type {
  FloatingIpRequest,
  LoadBalancerRequest,
  NetworkRequest,
  NetworkWithSubnet,
  PortRequest,
  SdnBackend,
} from "../backend.ts";
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
} from "../model.ts";
import type { EmbeddedContext } from "./context.ts";
import { isManaged, toFloatingIp, toLoadBalancerState, toPort, toSubnet } from "./convert.ts";
import { FloatingIps } from "./floating-ips.ts";
import { LoadBalancers } from "./load-balancers.ts";
import { Networks } from "./networks.ts";
import { EmbeddedPolicies } from "./policies.ts";
import { Ports } from "./ports.ts";
import { type CrClient, EmbeddedStore, type InformerSource } from "./store.ts";

export interface EmbeddedBackendOptions {
  /** A KubeClient (or anything with its get/create/update/patch/delete). */
  client: CrClient;
  /** A SharedInformerFactory; the backend registers informers for its five resources. */
  informers: InformerSource;
  /** Where namespace subnets are carved from. Default 192.168.0.0/16. */
  podCidr?: string;
  /** Prefix length of carved namespace subnets. Default 24. */
  namespaceSubnetPrefix?: number;
  /** Blocks never carved, e.g. the default namespace's 192.168.0.0/24 (requested explicitly). */
  reservedCidrs?: string[];
  /** Reported as tenant_id. Default "raven". */
  tenantId?: string;
  logger?: Logger;
  /** Ids of listeners, pools, members and VIP ports. Default: random UUIDs. */
  newId?: () => string;
  /** Narrows the informers (e.g. a label selector); default: every object of the five kinds. */
  scope?: InformerScope;
  /**
   * An address released less than this ago is handed out again only when no other is free.
   * Default 120 s: longer than conntrack's SYN_SENT timeout, so the old pod's half-open
   * connections are gone before a new pod answers on its address.
   */
  addressCooldownMs?: number;
  clock?: Clock;
}

export const DEFAULT_ADDRESS_COOLDOWN_MS = 120_000;

export class EmbeddedBackend implements SdnBackend {
  readonly name = "embedded";
  private readonly store: EmbeddedStore;
  private readonly ctx: EmbeddedContext;
  private readonly networks: Networks;
  private readonly ports: Ports;
  private readonly loadBalancers: LoadBalancers;
  private readonly floatingIps: FloatingIps;
  readonly policies: EmbeddedPolicies;

  constructor(opts: EmbeddedBackendOptions) {
    this.store = new EmbeddedStore(opts.client, opts.informers, opts.scope);
    this.ctx = {
      store: this.store,
      tenantId: opts.tenantId ?? "raven",
      newId: opts.newId ?? randomUUID,
      logger: opts.logger ?? stderrLogger,
      clock: opts.clock ?? systemClock,
    };
    this.networks = new Networks(this.ctx, {
      podCidr: opts.podCidr ?? "192.168.0.0/16",
      namespaceSubnetPrefix: opts.namespaceSubnetPrefix ?? 24,
      reservedCidrs: opts.reservedCidrs ?? [],
    });
    this.ports = new Ports(this.ctx, this.networks, opts.addressCooldownMs ?? DEFAULT_ADDRESS_COOLDOWN_MS);
    this.loadBalancers = new LoadBalancers(this.ctx);
    this.floatingIps = new FloatingIps(this.ctx, this.networks);
    this.policies = new EmbeddedPolicies(opts.client, opts.informers, opts.scope);
  }

  async start(signal: AbortSignal): Promise<boolean> {
    const [store, policies] = await Promise.all([
      this.store.start(signal),
      this.policies.waitForSync(signal),
    ]);
    return store && policies;
  }

  /** Detaches from the informers (they belong to the factory and stop with start's signal). */
  async stop(): Promise<void> {
    this.store.stop();
  }

  onChange(listener: () => void): void {
    this.store.onChange(listener);
  }

  ensureNetwork(req: NetworkRequest): Promise<NetworkWithSubnet> {
    return this.networks.ensure(req);
  }

  findNetwork(ownerUid: string, purpose: NetworkPurpose): NetworkWithSubnet | undefined {
    return this.networks.find(ownerUid, purpose);
  }

  findSubnet(subnetId: string): Subnet | undefined {
    const cr = this.store.byUid("subnet", subnetId);
    return cr && toSubnet(cr, this.ctx.tenantId);
  }

  deleteNetwork(networkId: string): Promise<void> {
    return this.networks.delete(networkId);
  }

  createPort(req: PortRequest): Promise<Port> {
    return this.ports.create(req);
  }

  findPorts(ownerUid: string): Port[] {
    return this.ports.find(ownerUid);
  }

  /** The owner UID of a port, by the port's id. */
  portOwner(portId: string): string | undefined {
    return this.store.byUid("port", portId)?.spec.owner.uid;
  }

  portsOnNetwork(networkId: string): Port[] {
    return this.ports.onNetwork(networkId);
  }

  deletePort(portId: string): Promise<void> {
    return this.ports.delete(portId);
  }

  onAddressReleased(listener: (subnetId: string) => void): void {
    this.ports.history.onReleased((subnetId) => listener(subnetId));
  }

  setPortStatus(portId: string, state: PortState): Promise<void> {
    return this.ports.setState(portId, state);
  }

  onPortStatusChanged(listener: (owner: Owner) => void): void {
    this.store.addHandler("port", {
      onUpdate: (a, b) => {
        if ((a.status?.state ?? "DOWN") !== (b.status?.state ?? "DOWN")) listener(b.spec.owner);
      },
    });
  }

  ensureLoadBalancer(req: LoadBalancerRequest): Promise<LoadBalancerState> {
    return this.loadBalancers.ensure(req);
  }

  findLoadBalancer(ownerUid: string): LoadBalancerState | undefined {
    return this.loadBalancers.find(ownerUid);
  }

  deleteLoadBalancer(loadBalancerId: string): Promise<void> {
    return this.loadBalancers.delete(loadBalancerId);
  }

  ensureFloatingIp(req: FloatingIpRequest): Promise<FloatingIp> {
    return this.floatingIps.ensure(req);
  }

  findFloatingIps(ownerUid: string): (FloatingIp & { role: FloatingIpRole })[] {
    return this.floatingIps.find(ownerUid);
  }

  deleteFloatingIp(floatingIpId: string): Promise<void> {
    return this.floatingIps.delete(floatingIpId);
  }

  /** Every pod network with its subnet (what a node's agent lays out as bridges and VXLAN). */
  listPodNetworks(): NetworkWithSubnet[] {
    const out: NetworkWithSubnet[] = [];
    for (const net of this.store.list("network")) {
      if (net.spec.purpose !== "pods" || !isManaged(net)) continue;
      const subnet = this.networks.subnetOf(net);
      if (subnet) out.push(this.networks.view({ network: net, subnet }));
    }
    return out;
  }

  /** Every load balancer Raven made (what a node's service proxy programs). */
  listLoadBalancers(): LoadBalancerState[] {
    return this.store
      .list("loadBalancer")
      .filter(isManaged)
      .map((lb) => toLoadBalancerState(lb, this.ctx.tenantId));
  }

  /** Every floating IP Raven made. */
  listFloatingIps(): FloatingIp[] {
    return this.floatingIpObjects().map((f) => toFloatingIp(f, this.ctx.tenantId));
  }

  private floatingIpObjects() {
    return this.store.list("floatingIp").filter(isManaged);
  }

  inventory(): Inventory {
    const { store, ctx } = this;
    const tenant = ctx.tenantId;
    const networks: Inventory["networks"] = [];
    for (const net of store.list("network").filter(isManaged)) {
      const subnet = this.networks.subnetOf(net);
      // A network whose subnet is not there yet is half-made; ensureNetwork completes it.
      if (!subnet) continue;
      const view = this.networks.view({ network: net, subnet });
      networks.push({
        object: { ...view.network, subnet: view.subnet, purpose: net.spec.purpose },
        owner: net.spec.owner,
      });
    }
    return {
      networks,
      ports: store
        .list("port")
        .filter(isManaged)
        .map((p) => ({ object: toPort(p, tenant), owner: p.spec.owner })),
      loadBalancers: store
        .list("loadBalancer")
        .filter(isManaged)
        .map((lb) => ({ object: toLoadBalancerState(lb, tenant), owner: lb.spec.owner })),
      floatingIps: this.floatingIpObjects().map((f) => ({
        object: toFloatingIp(f, tenant),
        owner: f.spec.owner,
      })),
    };
  }
}
