// The SDN model Raven programs, in Neutron's and Octavia's own JSON shapes (snake_case),
// since these objects are what the pod and Service annotations show and what `raven net`
// prints. Both backends (embedded, neutron) speak this model.

/** Who a backend object belongs to; Raven only ever touches objects it owns. */
export interface Owner {
  kind: "Namespace" | "Pod" | "Service" | "Cluster" | "NetworkPolicy";
  /** Empty for cluster-scoped owners. */
  namespace: string;
  name: string;
  /** The Kubernetes UID; "cluster" for the cluster's own infrastructure networks. */
  uid: string;
}

export type NetworkPurpose = "pods" | "services" | "external";

export interface Network {
  id: string;
  name: string;
  status: "ACTIVE" | "DOWN" | "BUILD" | "ERROR";
  admin_state_up: boolean;
  subnets: string[];
  "router:external": boolean;
  tenant_id: string;
}

export interface AllocationPool {
  start: string;
  end: string;
}

export interface Subnet {
  id: string;
  name: string;
  network_id: string;
  cidr: string;
  gateway_ip: string | null;
  allocation_pools: AllocationPool[];
  ip_version: 4;
  enable_dhcp: boolean;
  host_routes: unknown[];
  dns_nameservers: string[];
  tenant_id: string;
}

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

/** A port's binding state: DOWN until the pod is bound to it on its node, ACTIVE while it is. */
export type PortState = "ACTIVE" | "DOWN" | "BUILD";

export interface Port {
  id: string;
  name: string;
  network_id: string;
  mac_address: string;
  fixed_ips: FixedIp[];
  status: PortState;
  admin_state_up: boolean;
  /** The owning pod's UID. */
  device_id: string;
  device_owner: string;
  "binding:host_id": string | null;
  tenant_id: string;
}

export type LbProtocol = "TCP" | "UDP";

export interface LoadBalancer {
  id: string;
  name: string;
  vip_address: string;
  vip_subnet_id: string;
  vip_port_id: string;
  provisioning_status: "ACTIVE" | "PENDING_CREATE" | "PENDING_UPDATE" | "PENDING_DELETE" | "ERROR";
  operating_status: "ONLINE" | "OFFLINE" | "DEGRADED" | "ERROR" | "NO_MONITOR";
  listeners: { id: string }[];
  pools: { id: string }[];
  provider: string;
  tenant_id: string;
}

export interface Listener {
  id: string;
  name: string;
  protocol: LbProtocol;
  protocol_port: number;
  loadbalancer_id: string;
  default_pool_id: string;
}

export interface Member {
  id: string;
  name: string;
  address: string;
  protocol_port: number;
  subnet_id: string | null;
  pool_id: string;
  operating_status: "ONLINE" | "OFFLINE" | "NO_MONITOR";
  provisioning_status: "ACTIVE" | "PENDING_CREATE" | "PENDING_UPDATE";
}

export interface Pool {
  id: string;
  name: string;
  protocol: LbProtocol;
  lb_algorithm: "ROUND_ROBIN";
  listener_id: string;
  loadbalancer_id: string;
  members: Member[];
  provisioning_status: LoadBalancer["provisioning_status"];
}

/** A load balancer with its whole tree, as one backend converges it. */
export interface LoadBalancerState {
  loadbalancer: LoadBalancer;
  listeners: Listener[];
  pools: Pool[];
}

export interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  fixed_ip_address: string | null;
  port_id: string | null;
  status: "ACTIVE" | "DOWN";
  tenant_id: string;
}

/** Why a floating IP exists: `spec.externalIPs[0]`, or a type LoadBalancer Service's ingress. */
export type FloatingIpRole = "external-ip" | "load-balancer";

/** Backend objects together with their owners (for orphan clean-up and `raven net`). */
export interface Owned<T> {
  object: T;
  owner: Owner;
}

export interface Inventory {
  /** `subnet` is missing only on a network left half made or half deleted (a crash in between). */
  networks: Owned<Network & { subnet?: Subnet; purpose: NetworkPurpose }>[];
  ports: Owned<Port>[];
  loadBalancers: Owned<LoadBalancerState>[];
  floatingIps: Owned<FloatingIp & { role: FloatingIpRole }>[];
}
