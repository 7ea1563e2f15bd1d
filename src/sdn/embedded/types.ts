// The shapes of the raven.io/v1 custom resources as they travel as JSON (camelCase, as
// Kubernetes APIs spell fields). deploy/crds/*.yaml holds the matching schemas.
import type { KubeObject, ObjectMeta } from "../../kube/objects.ts";
import type { AllocationPool, FloatingIpRole, LbProtocol, NetworkPurpose, Owner } from "../model.ts";

interface Cr<Spec, Status = never> extends KubeObject {
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export interface NetworkSpec {
  /** What Neutron would call the network's name, e.g. `default-net`. */
  displayName: string;
  purpose: NetworkPurpose;
  /**
   * The CIDR this network's subnet has (or is about to have). Decided when the network is
   * created and changed only with the Network's resourceVersion as a guard, so concurrent
   * writers agree on one subnet per network.
   */
  cidr: string;
  owner: Owner;
}

export interface SubnetSpec {
  displayName: string;
  /** The Network object's name, for humans and `kubectl get`. */
  networkName: string;
  networkId: string;
  cidr: string;
  gatewayIP: string;
  allocationPools: AllocationPool[];
}

export interface PortSpec {
  /** The pod's name (the seeds name ports after pods). */
  displayName: string;
  networkId: string;
  subnetId: string;
  macAddress: string;
  ipAddress: string;
  /** The pod's UID (Neutron's device_id). */
  deviceId: string;
  deviceOwner: string;
  /** The node (Neutron's binding:host_id); absent until known. */
  hostId?: string;
  owner: Owner;
}

export interface PortStatus {
  state: "ACTIVE" | "DOWN" | "BUILD";
}

export interface MemberSpec {
  id: string;
  /** The pod's name. */
  name: string;
  address: string;
  protocolPort: number;
  /** Absent for an endpoint outside every pod network. */
  subnetId?: string;
}

export interface ListenerSpec {
  id: string;
  name: string;
  protocol: LbProtocol;
  protocolPort: number;
  defaultPoolId: string;
}

export interface PoolSpec {
  id: string;
  name: string;
  protocol: LbProtocol;
  lbAlgorithm: "ROUND_ROBIN";
  listenerId: string;
  members: MemberSpec[];
}

export interface LoadBalancerSpec {
  displayName: string;
  vipAddress: string;
  vipSubnetId: string;
  /** Generated once; there is no Port object behind it (the VIP is the Service's ClusterIP). */
  vipPortId: string;
  owner: Owner;
  listeners: ListenerSpec[];
  pools: PoolSpec[];
}

export interface LoadBalancerStatus {
  provisioningStatus: "ACTIVE" | "PENDING_CREATE" | "PENDING_UPDATE" | "ERROR";
  operatingStatus: "ONLINE" | "OFFLINE" | "DEGRADED" | "ERROR";
}

export interface FloatingIpSpec {
  floatingIPAddress: string;
  floatingNetworkId: string;
  fixedIPAddress?: string;
  /** The load balancer's VIP port id. */
  portId?: string;
  loadBalancer?: { namespace: string; name: string; id: string };
  role: FloatingIpRole;
  owner: Owner;
}

export type NetworkCr = Cr<NetworkSpec>;
export type SubnetCr = Cr<SubnetSpec>;
export type PortCr = Cr<PortSpec, PortStatus>;
export type LoadBalancerCr = Cr<LoadBalancerSpec, LoadBalancerStatus>;
export type FloatingIpCr = Cr<FloatingIpSpec>;
