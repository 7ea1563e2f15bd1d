import assert from "node:assert/strict";
import { test } from "node:test";
import type { Owner } from "../model.ts";
import {
  networkName,
  newFloatingIpCr,
  newLoadBalancerCr,
  newNetworkCr,
  newPortCr,
  newSubnetCr,
  portNamespaceOf,
  subnetDisplayName,
  toFloatingIp,
  toLoadBalancerState,
  toNetwork,
  toPort,
  toSubnet,
} from "./convert.ts";
import type { LoadBalancerSpec } from "./types.ts";

const nsOwner: Owner = { kind: "Namespace", namespace: "", name: "default", uid: "ns-uid" };
const podOwner: Owner = { kind: "Pod", namespace: "default", name: "nginx", uid: "pod-uid" };
const svcOwner: Owner = { kind: "Service", namespace: "default", name: "demo", uid: "svc-uid" };
const cluster: Owner = { kind: "Cluster", namespace: "", name: "cluster", uid: "cluster" };
const stored = <T extends { metadata: object }>(obj: T, uid: string): T => ({
  ...obj,
  metadata: { ...obj.metadata, uid, resourceVersion: "7" },
});

test("networks are named after what they serve; subnets after their CIDR, owned by their network", () => {
  assert.equal(networkName("pods", nsOwner), "pods-default");
  assert.equal(networkName("services", cluster), "services");
  assert.equal(networkName("external", cluster), "external");
  assert.equal(subnetDisplayName("default-net"), "default-subnet");
  assert.equal(subnetDisplayName("raven-service"), "raven-service-subnet");

  const net = stored(newNetworkCr(nsOwner, "default-net", "pods", "192.168.0.0/24"), "net-uid");
  assert.equal(net.metadata.name, "pods-default");
  assert.deepEqual(net.metadata.labels, {
    "app.kubernetes.io/managed-by": "raven",
    "raven.io/owner-uid": "ns-uid",
  });
  assert.deepEqual(net.metadata.ownerReferences, [
    {
      apiVersion: "v1",
      kind: "Namespace",
      name: "default",
      uid: "ns-uid",
      controller: true,
      blockOwnerDeletion: false,
    },
  ]);
  assert.equal(portNamespaceOf(net), "default");
  assert.equal(newNetworkCr(cluster, "ext", "external", "172.16.0.0/24").metadata.ownerReferences, undefined);
  assert.equal(portNamespaceOf(newNetworkCr(cluster, "ext", "external", "172.16.0.0/24")), undefined);

  const sub = stored(newSubnetCr(net), "sub-uid");
  assert.equal(sub.metadata.name, "192-168-0-0-24");
  assert.equal(sub.metadata.ownerReferences?.[0].uid, "net-uid");
  assert.deepEqual(sub.spec, {
    displayName: "default-subnet",
    networkName: "pods-default",
    networkId: "net-uid",
    cidr: "192.168.0.0/24",
    gatewayIP: "192.168.0.1",
    allocationPools: [{ start: "192.168.0.2", end: "192.168.0.254" }],
  });

  // Neutron's shapes, as the seeds' annotations show them.
  assert.deepEqual(toSubnet(sub, "t"), {
    id: "sub-uid",
    name: "default-subnet",
    network_id: "net-uid",
    cidr: "192.168.0.0/24",
    gateway_ip: "192.168.0.1",
    allocation_pools: [{ start: "192.168.0.2", end: "192.168.0.254" }],
    ip_version: 4,
    enable_dhcp: false,
    host_routes: [],
    dns_nameservers: [],
    tenant_id: "t",
  });
  assert.deepEqual(toNetwork(net, [sub], "t"), {
    id: "net-uid",
    name: "default-net",
    status: "ACTIVE",
    admin_state_up: true,
    subnets: ["sub-uid"],
    "router:external": false,
    tenant_id: "t",
  });
});

test("ports are named after their IP in the pod's namespace and owned by the pod", () => {
  const net = stored(newNetworkCr(nsOwner, "default-net", "pods", "192.168.0.0/24"), "net-uid");
  const sub = stored(newSubnetCr(net), "sub-uid");
  const port = newPortCr({ owner: podOwner, displayName: "nginx", subnet: sub, ipAddress: "192.168.0.2" });
  assert.equal(port.metadata.name, "192-168-0-2");
  assert.equal(port.metadata.namespace, "default");
  assert.equal(port.spec.hostId, undefined);
  assert.deepEqual(port.metadata.ownerReferences?.[0], {
    apiVersion: "v1",
    kind: "Pod",
    name: "nginx",
    uid: "pod-uid",
    controller: true,
    blockOwnerDeletion: false,
  });
  const model = toPort({ ...stored(port, "port-uid"), status: { state: "ACTIVE" } }, "t");
  assert.deepEqual(model, {
    id: "port-uid",
    name: "nginx",
    network_id: "net-uid",
    mac_address: "fa:16:3e:a8:00:02",
    fixed_ips: [{ subnet_id: "sub-uid", ip_address: "192.168.0.2" }],
    status: "ACTIVE",
    admin_state_up: true,
    device_id: "pod-uid",
    device_owner: "raven:pod",
    "binding:host_id": null,
    tenant_id: "t",
  });
  const { status: _written, ...withoutStatus } = stored(port, "p");
  assert.equal(
    toPort(withoutStatus as typeof port, "t").status,
    "DOWN",
    "a port without status reads as DOWN",
  );
});

test("load balancers read back in Octavia's shapes; floating IPs have no owner reference", () => {
  const spec: LoadBalancerSpec = {
    displayName: "demo",
    vipAddress: "10.0.0.228",
    vipSubnetId: "svc-sub",
    vipPortId: "vip",
    owner: svcOwner,
    listeners: [{ id: "l1", name: "TCP-80", protocol: "TCP", protocolPort: 80, defaultPoolId: "p1" }],
    pools: [
      {
        id: "p1",
        name: "TCP-80",
        protocol: "TCP",
        lbAlgorithm: "ROUND_ROBIN",
        listenerId: "l1",
        members: [{ id: "m1", name: "demo-1", address: "192.168.0.3", protocolPort: 80, subnetId: "sub" }],
      },
    ],
  };
  const cr = newLoadBalancerCr(spec);
  assert.equal(cr.metadata.name, "demo");
  assert.equal(cr.metadata.namespace, "default");
  assert.equal(cr.metadata.ownerReferences?.[0].kind, "Service");
  const state = toLoadBalancerState(
    { ...stored(cr, "lb-uid"), status: { provisioningStatus: "ACTIVE", operatingStatus: "ONLINE" } },
    "t",
  );
  assert.deepEqual(state.loadbalancer, {
    id: "lb-uid",
    name: "demo",
    vip_address: "10.0.0.228",
    vip_subnet_id: "svc-sub",
    vip_port_id: "vip",
    provisioning_status: "ACTIVE",
    operating_status: "ONLINE",
    listeners: [{ id: "l1" }],
    pools: [{ id: "p1" }],
    provider: "raven",
    tenant_id: "t",
  });
  assert.deepEqual(state.listeners[0], {
    id: "l1",
    name: "TCP-80",
    protocol: "TCP",
    protocol_port: 80,
    loadbalancer_id: "lb-uid",
    default_pool_id: "p1",
  });
  assert.deepEqual(state.pools[0].members[0], {
    id: "m1",
    name: "demo-1",
    address: "192.168.0.3",
    protocol_port: 80,
    subnet_id: "sub",
    pool_id: "p1",
    operating_status: "NO_MONITOR",
    provisioning_status: "ACTIVE",
  });
  assert.equal(state.pools[0].loadbalancer_id, "lb-uid");

  const fip = newFloatingIpCr({
    floatingIPAddress: "172.16.0.4",
    floatingNetworkId: "ext",
    fixedIPAddress: "10.0.0.228",
    portId: "vip",
    loadBalancer: { namespace: "default", name: "demo", id: "lb-uid" },
    role: "external-ip",
    owner: svcOwner,
  });
  assert.equal(fip.metadata.name, "172-16-0-4");
  assert.equal(fip.metadata.ownerReferences, undefined);
  assert.equal(fip.metadata.labels?.["raven.io/owner-uid"], "svc-uid");
  assert.deepEqual(toFloatingIp(stored(fip, "fip-uid"), "t"), {
    id: "fip-uid",
    floating_ip_address: "172.16.0.4",
    floating_network_id: "ext",
    fixed_ip_address: "10.0.0.228",
    port_id: "vip",
    status: "ACTIVE",
    tenant_id: "t",
    role: "external-ip",
  });
});
