// Orphan clean-up: backend objects Raven owns whose Kubernetes owner no longer exists (it
// was deleted while the controller was down, or its finalizer was removed by hand). Runs at
// start-up, once the caches are synced, and periodically. Objects without a Raven owner, and
// the cluster's own networks, are never touched.
import type { Inventory, Owner } from "../sdn/model.ts";
import type { ControllerDeps } from "./context.ts";

export interface OrphanReport {
  ports: number;
  loadBalancers: number;
  floatingIps: number;
  networks: number;
  /** Owners (gone namespaces) of orphaned networks that still had ports: to retry once those go. */
  busyNetworks: Owner[];
}

/** The owners that exist, by UID, per kind (from the informer caches). */
export function liveOwners(d: Pick<ControllerDeps, "informers">): Record<Owner["kind"], Set<string>> {
  const uids = (inf: { list(): { metadata: { uid?: string } }[] }) =>
    new Set(inf.list().map((o) => o.metadata.uid ?? ""));
  return {
    Pod: uids(d.informers.pods),
    Service: uids(d.informers.services),
    Namespace: uids(d.informers.namespaces),
    Cluster: new Set(["cluster"]),
    NetworkPolicy: d.informers.networkPolicies ? uids(d.informers.networkPolicies) : new Set(),
  };
}

/** Which inventory entries are orphans (pure, for testing). */
export function findOrphans(inv: Inventory, live: Record<Owner["kind"], Set<string>>): Inventory {
  const orphan = (o: Owner) => o.kind !== "Cluster" && !live[o.kind]?.has(o.uid);
  return {
    ports: inv.ports.filter((p) => orphan(p.owner)),
    loadBalancers: inv.loadBalancers.filter((l) => orphan(l.owner)),
    floatingIps: inv.floatingIps.filter((f) => orphan(f.owner)),
    networks: inv.networks.filter((n) => orphan(n.owner)),
  };
}

export async function removeOrphans(d: ControllerDeps): Promise<OrphanReport> {
  const live = liveOwners(d);
  const o = findOrphans(d.backend.inventory(), live);
  const report: OrphanReport = { ports: 0, loadBalancers: 0, floatingIps: 0, networks: 0, busyNetworks: [] };
  // Compiled policies of NetworkPolicies deleted while no controller watched (where no
  // garbage collector removes them with their policy: Neutron's security groups).
  if (d.informers.networkPolicies) await d.backend.policies?.sweep?.(live.NetworkPolicy);
  for (const f of o.floatingIps) {
    await d.backend.deleteFloatingIp(f.object.id);
    report.floatingIps++;
  }
  for (const l of o.loadBalancers) {
    await d.backend.deleteLoadBalancer(l.object.loadbalancer.id);
    report.loadBalancers++;
  }
  for (const p of o.ports) {
    await d.backend.deletePort(p.object.id);
    report.ports++;
  }
  // Networks last: one still in use (its pods are still going) is left to the caller to retry.
  for (const n of o.networks) {
    if (d.backend.portsOnNetwork(n.object.id).length) {
      report.busyNetworks.push(n.owner);
      continue;
    }
    await d.backend.deleteNetwork(n.object.id);
    report.networks++;
  }
  if (report.ports + report.loadBalancers + report.floatingIps + report.networks > 0)
    d.log.info(
      { orphans: { ...report, busyNetworks: report.busyNetworks.length } },
      "removed backend objects whose owners are gone",
    );
  return report;
}
