// The contract between raven-controller and an SDN backend (embedded CRs, or Neutron +
// Octavia). Every call is idempotent and safe to repeat after a crash at any point: the
// controller is level-triggered and may replay any step.

import type { CompiledPolicy } from "../api/compiled-policy.ts";
import type {
  FloatingIp,
  FloatingIpRole,
  Inventory,
  LbProtocol,
  LoadBalancerState,
  Network,
  NetworkPurpose,
  Owner,
  Port,
  PortState,
  Subnet,
} from "./model.ts";

export interface NetworkRequest {
  owner: Owner;
  /** Display name, e.g. `default-net` for the `default` namespace. */
  name: string;
  purpose: NetworkPurpose;
  /** A specific CIDR (e.g. the default namespace's 192.168.0.0/24); otherwise the backend carves one. */
  cidr?: string;
}

export interface NetworkWithSubnet {
  network: Network;
  subnet: Subnet;
}

export interface PortRequest {
  owner: Owner;
  /** Named after the pod (the seeds' convention, handy for troubleshooting). */
  name: string;
  networkId: string;
  subnetId: string;
  /** A static IP request; otherwise the backend's IPAM picks one. */
  ipAddress?: string;
  /** The node the pod runs on (Neutron's binding:host_id). */
  hostId?: string;
  /**
   * The port the pod's annotation already names, when the backend has no port of the pod: a
   * pooled port handed to it whose update a crash cut short is the pod's again, not another's.
   */
  claimPortId?: string;
  /**
   * Told when the address handed out was released less than the backend's reuse cooldown ago
   * (only when nothing else was free), so the caller can say so.
   */
  onRecentlyReleased?: (ip: string, releasedAgoMs: number) => void;
}

export interface MemberRequest {
  /** The pod's name, for display. */
  name: string;
  address: string;
  port: number;
  /** The subnet the member is on; none for an endpoint outside every pod network (reached routed). */
  subnetId?: string;
}

export interface ListenerRequest {
  /** The Service port's name (may be empty for single-port Services). */
  name: string;
  protocol: LbProtocol;
  port: number;
  members: MemberRequest[];
}

export interface LoadBalancerRequest {
  owner: Owner;
  name: string;
  vipAddress: string;
  vipSubnetId: string;
  listeners: ListenerRequest[];
}

export interface FloatingIpRequest {
  owner: Owner;
  role: FloatingIpRole;
  /** A specific address (from spec.externalIPs); otherwise the backend picks a free one. */
  address?: string;
  /** Addresses a free pick must skip (those other Services list in spec.externalIPs). */
  avoid?: ReadonlySet<string>;
  /** What it maps to: the load balancer's VIP. */
  fixedIpAddress: string;
  loadBalancerId: string;
  vipPortId: string;
}

/** The request cannot be satisfied as asked; retrying later may help (e.g. once pods go). */
export class SdnError extends Error {
  readonly reason:
    | "SubnetFull"
    | "IpInUse"
    | "PoolExhausted"
    | "InUse"
    | "NotFound"
    | "Conflict"
    | "Invalid"
    | "Unavailable";
  constructor(reason: SdnError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * NetworkPolicies as a backend holds them, compiled to addresses (api/compiled-policy.ts): the
 * controller writes them, each node's agent enforces its pods' share.
 */
export interface PolicyStore {
  /** Every compiled policy the backend holds (from its cache). */
  list(): CompiledPolicy[];
  /** Makes the backend hold `p` (created, or replaced when it differs). */
  ensure(p: CompiledPolicy): Promise<void>;
  /** Removes the compiled form of namespace/name (no error when it is gone). */
  delete(namespace: string, name: string): Promise<void>;
  /** Calls `listener` on every change of any compiled policy (whoever wrote it). */
  onChange(listener: () => void): void;
  /** Removes the compiled forms of policies whose UID is not in `live` (none where a GC does it). */
  sweep?(live: Set<string>): Promise<void>;
  /** Removes every compiled policy and whatever else holds them (uninstall). */
  releaseAll(): Promise<void>;
}

export interface SdnBackend {
  readonly name: string;
  /** Where compiled NetworkPolicies go; absent: this backend enforces none. */
  readonly policies?: PolicyStore;
  /**
   * The SDN allows one floating IP per fixed IP (Neutron): a Service with both an external IP
   * and type LoadBalancer gets one floating IP, its external IP, published as the ingress too.
   */
  readonly oneFloatingIpPerFixedIp?: boolean;
  /** Starts caches and waits until reads are served; resolves false if the signal aborted first. */
  start(signal: AbortSignal): Promise<boolean>;

  /** Creates (or returns) the network and subnet owned by `owner`. */
  ensureNetwork(req: NetworkRequest): Promise<NetworkWithSubnet>;
  /** The network and subnet owned by a namespace (or the cluster), if any. */
  findNetwork(ownerUid: string, purpose: NetworkPurpose): NetworkWithSubnet | undefined;
  /** A subnet by id (for the node agent: the gateway and prefix of a port's address). */
  findSubnet(subnetId: string): Subnet | undefined;
  /** Deletes a network and its subnet; SdnError "InUse" while ports remain on it. */
  deleteNetwork(networkId: string): Promise<void>;

  /** Creates a port with an IP from the subnet (or the requested one). SdnError "SubnetFull" / "IpInUse". */
  createPort(req: PortRequest): Promise<Port>;
  /** Ports owned by a pod UID (normally zero or one). */
  findPorts(ownerUid: string): Port[];
  /** Ports on a network. */
  portsOnNetwork(networkId: string): Port[];
  /**
   * The ports live pods' annotations name (told once the caches are synced, before any pod is
   * synced): a backend that hands ports out before recording whose they are keeps these for
   * their pods.
   */
  reservePorts?(portIds: Iterable<string>): void;
  deletePort(portId: string): Promise<void>;
  /** Calls `listener` whenever an address of a subnet becomes free (whoever released it). */
  onAddressReleased(listener: (subnetId: string) => void): void;
  /**
   * Records a port's binding state, as the agent of its node reports it: ACTIVE once the pod is
   * bound to it, DOWN once unbound. A port that is gone is no error. Absent where the SDN sets
   * the state itself (Neutron's L2 agents).
   */
  setPortStatus?(portId: string, state: PortState): Promise<void>;
  /** Calls `listener` with the owner of every port whose status changes (whoever changed it). */
  onPortStatusChanged(listener: (owner: Owner) => void): void;

  /** Converges the load balancer owned by `owner` to exactly the request (listeners, pools, members). */
  ensureLoadBalancer(req: LoadBalancerRequest): Promise<LoadBalancerState>;
  findLoadBalancer(ownerUid: string): LoadBalancerState | undefined;
  deleteLoadBalancer(loadBalancerId: string): Promise<void>;

  /** Creates or re-points the floating IP of `owner` with `role`. SdnError "IpInUse" / "PoolExhausted". */
  ensureFloatingIp(req: FloatingIpRequest): Promise<FloatingIp>;
  findFloatingIps(ownerUid: string): (FloatingIp & { role: FloatingIpRole })[];
  deleteFloatingIp(floatingIpId: string): Promise<void>;

  /** Everything this backend holds that Raven owns. */
  inventory(): Inventory;
  /** Called after every committed change (used to react to backend-side changes). */
  onChange?(listener: () => void): void;
  stop(): Promise<void>;
}
