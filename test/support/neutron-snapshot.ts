// What a converged Raven looks like on the neutron backend: the cluster from the API and this
// cluster's objects read straight from Neutron and Octavia (never through Raven), put in the
// shapes raven-invariants.ts checks, so both backends are held to the same rules. Neutron's own
// extra rules (VIP ports, pooled ports, load balancers stuck in PENDING or ERROR) come on top.
import type { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { VIP_DEVICE_OWNER } from "../../src/sdn/neutron/load-balancers.ts";
import type { NeutronApi } from "../../src/sdn/neutron/neutron-api.ts";
import type { OctaviaApi } from "../../src/sdn/neutron/octavia-api.ts";
import { type Ownership, ownershipOf } from "../../src/sdn/neutron/ownership.ts";
import { type Snapshot, snapshot } from "./raven-invariants.ts";

export interface NeutronSnapshot extends Snapshot {
  /** Neutron-only disagreements, found while reading. */
  extra: string[];
  /** Pooled ports waiting for a pod. */
  pooled: number;
}

const obj = (metadata: KubeObject["metadata"], spec: Record<string, unknown>): KubeObject =>
  ({ apiVersion: "neutron", kind: "Object", metadata, spec }) as KubeObject;

/** The cluster and everything of `clusterId`'s in Neutron and Octavia, in raven-invariants' shapes. */
export async function neutronSnapshot(
  client: KubeClient,
  os: { neutron: NeutronApi; octavia: OctaviaApi },
  clusterId: string,
): Promise<NeutronSnapshot> {
  const [kube, networks, subnets, ports, fips, lbs, listeners, pools] = await Promise.all([
    snapshot(client),
    os.neutron.listNetworks(),
    os.neutron.listSubnets(),
    os.neutron.listPorts(),
    os.neutron.listFloatingIps(),
    os.octavia.listLoadBalancers(),
    os.octavia.listListeners(),
    os.octavia.listPools(),
  ]);
  const extra: string[] = [];
  const ours = <T extends { description?: string; name: string }>(o: T): Ownership | undefined => {
    const w = ownershipOf(o.description, o.name);
    return w?.clusterId === clusterId ? w : undefined;
  };
  const liveServices = new Set(kube.services.map((s) => s.metadata.uid));

  const out: NeutronSnapshot = {
    ...kube,
    ports: [],
    loadBalancers: [],
    floatingIps: [],
    networks: [],
    subnets: [],
    extra,
    pooled: 0,
  };
  const ourNetworks = new Map<string, Ownership>();
  for (const n of networks) {
    const w = ours(n);
    if (!w) continue;
    ourNetworks.set(n.id, w);
    const cidr = subnets.find((s) => s.network_id === n.id)?.cidr;
    out.networks.push(
      obj(
        { name: n.name, uid: n.id },
        { purpose: w.purpose, owner: { ...w.owner }, ...(cidr ? { cidr } : {}) },
      ),
    );
  }
  // What keeps a gone namespace's network (for the failure message).
  const liveNamespaces = new Set(kube.namespaces.map((n) => n.metadata.uid));
  for (const [id, w] of ourNetworks) {
    if (w.owner.kind !== "Namespace" || liveNamespaces.has(w.owner.uid)) continue;
    const on = ports.filter((p) => p.network_id === id && p.device_owner !== "network:router_interface");
    if (on.length)
      extra.push(
        `network of gone namespace ${w.owner.name} still holds ports ${on.map((p) => `${p.name}(${p.device_owner} ${p.description})`).join(", ")}`,
      );
  }
  for (const s of subnets)
    if (ourNetworks.has(s.network_id))
      out.subnets.push(
        obj(
          { name: s.name, uid: s.id },
          { networkId: s.network_id, cidr: s.cidr, networkName: ourNetworks.get(s.network_id)?.owner.name },
        ),
      );
  for (const p of ports) {
    const w = ours(p);
    if (!w) continue;
    const ip = p.fixed_ips[0];
    if (w.pooled) {
      out.pooled++;
      if (!ourNetworks.has(p.network_id)) extra.push(`pooled port ${p.id} on a network that is not ours`);
      if (p.device_id) extra.push(`pooled port ${p.id} is bound to ${p.device_id}`);
      continue;
    }
    if (p.device_owner === VIP_DEVICE_OWNER) {
      if (!liveServices.has(w.owner.uid))
        extra.push(`VIP port ${p.name} ${ip?.ip_address} of a Service that does not exist (${w.owner.uid})`);
      else if (!lbs.some((l) => l.vip_port_id === p.id))
        extra.push(`VIP port ${p.name} ${ip?.ip_address} has no load balancer`);
      continue;
    }
    if (w.owner.kind !== "Pod") {
      extra.push(`port ${p.id} (${p.device_owner}) is owned by a ${w.owner.kind}`);
      continue;
    }
    out.ports.push(
      obj(
        { namespace: w.owner.namespace, name: p.name, uid: p.id },
        {
          owner: { uid: w.owner.uid, name: w.owner.name },
          ipAddress: ip?.ip_address,
          subnetId: ip?.subnet_id,
        },
      ),
    );
  }
  for (const f of fips) {
    const w = ours({ description: f.description, name: "" });
    if (!w) continue;
    out.floatingIps.push(
      obj(
        { name: f.id, uid: f.id },
        {
          owner: { ...w.owner },
          role: w.role,
          floatingIPAddress: f.floating_ip_address,
          fixedIPAddress: f.fixed_ip_address ?? undefined,
        },
      ),
    );
  }
  for (const lb of lbs) {
    const w = ours(lb);
    if (!w || lb.provisioning_status === "DELETED") continue;
    if (lb.provisioning_status !== "ACTIVE")
      extra.push(`load balancer ${w.owner.namespace}/${lb.name} is ${lb.provisioning_status}`);
    const mine = pools.filter((p) => p.loadbalancers.some((l) => l.id === lb.id));
    const members = await Promise.all(mine.map((p) => os.octavia.listMembers(p.id)));
    out.loadBalancers.push(
      obj(
        { namespace: w.owner.namespace, name: lb.name, uid: lb.id },
        {
          owner: { ...w.owner },
          vipAddress: lb.vip_address,
          listeners: listeners
            .filter((l) => l.loadbalancers.some((x) => x.id === lb.id))
            .map((l) => ({
              protocolPort: l.protocol_port,
              protocol: l.protocol,
              defaultPoolId: l.default_pool_id,
            })),
          pools: mine.map((p, i) => ({
            id: p.id,
            members: members[i].map((m) => ({ address: m.address, protocolPort: m.protocol_port })),
          })),
        },
      ),
    );
  }
  return out;
}
