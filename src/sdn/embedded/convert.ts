// Custom resources <-> the SDN model: building the objects the backend creates (names,
// labels, owner references) and reading them back in Neutron's and Octavia's shapes. Pure.
import type { ObjectMeta, OwnerReference } from "../../kube/objects.ts";
import { cidrToName, defaultLayout, ipToName, macForIp } from "../ipam.ts";
import type {
  FloatingIp,
  FloatingIpRole,
  LoadBalancerState,
  Network,
  NetworkPurpose,
  Owner,
  Port,
  Subnet,
} from "../model.ts";
import {
  API_VERSION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_UID_LABEL,
  POD_DEVICE_OWNER,
} from "./resources.ts";
import type {
  FloatingIpCr,
  FloatingIpSpec,
  LoadBalancerCr,
  LoadBalancerSpec,
  NetworkCr,
  PortCr,
  SubnetCr,
} from "./types.ts";

export function ownerLabels(owner: Owner): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [OWNER_UID_LABEL]: owner.uid };
}

/**
 * An owner reference to the Kubernetes object behind `owner`, so the garbage collector removes
 * what Raven created even while Raven is down. Never blocks the owner's deletion. None for the
 * cluster's own networks.
 */
export function ownerReference(owner: Owner): OwnerReference | undefined {
  if (owner.kind === "Cluster") return undefined;
  return {
    apiVersion: "v1",
    kind: owner.kind,
    name: owner.name,
    uid: owner.uid,
    controller: true,
    blockOwnerDeletion: false,
  };
}

function meta(
  owner: Owner,
  name: string,
  namespace: string | undefined,
  ref: OwnerReference | undefined,
): ObjectMeta {
  const m: ObjectMeta = { name, labels: ownerLabels(owner) };
  if (namespace) m.namespace = namespace;
  if (ref) m.ownerReferences = [ref];
  return m;
}

/** The Network object's name: one pod network per namespace, one service and one external network. */
export function networkName(purpose: NetworkPurpose, owner: Owner): string {
  if (purpose !== "pods") return purpose;
  return `pods-${owner.kind === "Namespace" ? owner.name : owner.namespace || owner.name}`;
}

/** The namespace whose pods may have ports on a network (see createPort), if any. */
export function portNamespaceOf(network: NetworkCr): string | undefined {
  const o = network.spec.owner;
  if (o.kind === "Namespace") return o.name;
  return o.namespace || undefined;
}

/** `default-net` -> `default-subnet` (the seeds' pair); otherwise `<name>-subnet`. */
export function subnetDisplayName(networkDisplayName: string): string {
  return networkDisplayName.endsWith("-net")
    ? `${networkDisplayName.slice(0, -4)}-subnet`
    : `${networkDisplayName}-subnet`;
}

export function newNetworkCr(
  owner: Owner,
  displayName: string,
  purpose: NetworkPurpose,
  cidr: string,
): NetworkCr {
  return {
    apiVersion: API_VERSION,
    kind: "Network",
    metadata: meta(owner, networkName(purpose, owner), undefined, ownerReference(owner)),
    spec: { displayName, purpose, cidr, owner },
  };
}

/** The Subnet is named after its CIDR, so creating it claims the CIDR atomically. */
export function newSubnetCr(network: NetworkCr): SubnetCr {
  const cidr = network.spec.cidr;
  const layout = defaultLayout(cidr);
  const ref: OwnerReference = {
    apiVersion: API_VERSION,
    kind: "Network",
    name: network.metadata.name!,
    uid: network.metadata.uid!,
    controller: true,
    blockOwnerDeletion: false,
  };
  return {
    apiVersion: API_VERSION,
    kind: "Subnet",
    metadata: meta(network.spec.owner, cidrToName(cidr), undefined, ref),
    spec: {
      displayName: subnetDisplayName(network.spec.displayName),
      networkName: network.metadata.name!,
      networkId: network.metadata.uid!,
      cidr,
      gatewayIP: layout.gateway,
      allocationPools: layout.pools,
    },
  };
}

export interface NewPort {
  owner: Owner;
  displayName: string;
  subnet: SubnetCr;
  ipAddress: string;
  hostId?: string;
}

/** The Port is named after its IP in the pod's namespace, so creating it claims the IP atomically. */
export function newPortCr(p: NewPort): PortCr {
  const spec: PortCr["spec"] = {
    displayName: p.displayName,
    networkId: p.subnet.spec.networkId,
    subnetId: p.subnet.metadata.uid!,
    macAddress: macForIp(p.ipAddress),
    ipAddress: p.ipAddress,
    deviceId: p.owner.uid,
    deviceOwner: POD_DEVICE_OWNER,
    owner: p.owner,
  };
  if (p.hostId) spec.hostId = p.hostId;
  return {
    apiVersion: API_VERSION,
    kind: "Port",
    metadata: meta(p.owner, ipToName(p.ipAddress), p.owner.namespace, ownerReference(p.owner)),
    spec,
  };
}

/** The LoadBalancer is named after its Service, in the Service's namespace. */
export function newLoadBalancerCr(spec: LoadBalancerSpec): LoadBalancerCr {
  return {
    apiVersion: API_VERSION,
    kind: "LoadBalancer",
    metadata: meta(spec.owner, spec.owner.name, spec.owner.namespace, ownerReference(spec.owner)),
    spec,
  };
}

/**
 * The FloatingIP is named after its address, so creating it claims the address atomically.
 * No owner reference: a cluster-scoped object cannot name a namespaced owner.
 */
export function newFloatingIpCr(spec: FloatingIpSpec): FloatingIpCr {
  return {
    apiVersion: API_VERSION,
    kind: "FloatingIP",
    metadata: meta(spec.owner, ipToName(spec.floatingIPAddress), undefined, undefined),
    spec,
  };
}

export function toSubnet(cr: SubnetCr, tenantId: string): Subnet {
  return {
    id: cr.metadata.uid!,
    name: cr.spec.displayName,
    network_id: cr.spec.networkId,
    cidr: cr.spec.cidr,
    gateway_ip: cr.spec.gatewayIP || null,
    allocation_pools: cr.spec.allocationPools.map((p) => ({ start: p.start, end: p.end })),
    ip_version: 4,
    // Addresses are configured by the agent, never by DHCP.
    enable_dhcp: false,
    host_routes: [],
    dns_nameservers: [],
    tenant_id: tenantId,
  };
}

export function toNetwork(cr: NetworkCr, subnets: SubnetCr[], tenantId: string): Network {
  return {
    id: cr.metadata.uid!,
    name: cr.spec.displayName,
    status: "ACTIVE",
    admin_state_up: true,
    subnets: subnets.map((s) => s.metadata.uid!),
    "router:external": cr.spec.purpose === "external",
    tenant_id: tenantId,
  };
}

export function toPort(cr: PortCr, tenantId: string): Port {
  return {
    id: cr.metadata.uid!,
    name: cr.spec.displayName,
    network_id: cr.spec.networkId,
    mac_address: cr.spec.macAddress,
    fixed_ips: [{ subnet_id: cr.spec.subnetId, ip_address: cr.spec.ipAddress }],
    // DOWN until the agent of its node has bound it to the pod (as Neutron's L2 agent would).
    status: cr.status?.state ?? "DOWN",
    admin_state_up: true,
    device_id: cr.spec.deviceId,
    device_owner: cr.spec.deviceOwner,
    "binding:host_id": cr.spec.hostId ?? null,
    tenant_id: tenantId,
  };
}

export function toLoadBalancerState(cr: LoadBalancerCr, tenantId: string): LoadBalancerState {
  const lbId = cr.metadata.uid!;
  const spec = cr.spec;
  const provisioning = cr.status?.provisioningStatus ?? "PENDING_CREATE";
  return {
    loadbalancer: {
      id: lbId,
      name: spec.displayName,
      vip_address: spec.vipAddress,
      vip_subnet_id: spec.vipSubnetId,
      vip_port_id: spec.vipPortId,
      provisioning_status: provisioning,
      operating_status: cr.status?.operatingStatus ?? "OFFLINE",
      listeners: spec.listeners.map((l) => ({ id: l.id })),
      pools: spec.pools.map((p) => ({ id: p.id })),
      provider: "raven",
      tenant_id: tenantId,
    },
    listeners: spec.listeners.map((l) => ({
      id: l.id,
      name: l.name,
      protocol: l.protocol,
      protocol_port: l.protocolPort,
      loadbalancer_id: lbId,
      default_pool_id: l.defaultPoolId,
    })),
    pools: spec.pools.map((p) => ({
      id: p.id,
      name: p.name,
      protocol: p.protocol,
      lb_algorithm: p.lbAlgorithm,
      listener_id: p.listenerId,
      loadbalancer_id: lbId,
      provisioning_status: provisioning,
      members: p.members.map((m) => ({
        id: m.id,
        name: m.name,
        address: m.address,
        protocol_port: m.protocolPort,
        subnet_id: m.subnetId ?? null,
        pool_id: p.id,
        // There are no health monitors: members are only added once their endpoint is ready.
        operating_status: "NO_MONITOR",
        provisioning_status: "ACTIVE",
      })),
    })),
  };
}

export function toFloatingIp(cr: FloatingIpCr, tenantId: string): FloatingIp & { role: FloatingIpRole } {
  return {
    id: cr.metadata.uid!,
    floating_ip_address: cr.spec.floatingIPAddress,
    floating_network_id: cr.spec.floatingNetworkId,
    fixed_ip_address: cr.spec.fixedIPAddress || null,
    port_id: cr.spec.portId || null,
    status: cr.spec.fixedIPAddress ? "ACTIVE" : "DOWN",
    tenant_id: tenantId,
    role: cr.spec.role,
  };
}

export const ownerUidOf = (obj: { metadata: ObjectMeta }): string | undefined =>
  obj.metadata.labels?.[OWNER_UID_LABEL];

export const isManaged = (obj: { metadata: ObjectMeta }): boolean =>
  obj.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
