// `raven controller --uninstall`: releases everything Raven owns in the backend (floating IPs,
// load balancers, ports, networks, the cluster's own networks too) and takes Raven's marks off
// the cluster's objects (its annotations, the ingress it wrote, finalizers of earlier
// versions), so that with Raven gone nothing waits for it. Run while holding the leader lease,
// so no replica re-creates what this removes.

import { isObjectGone } from "../kube/errors.ts";
import type { KubeObject } from "../kube/objects.ts";
import { NAMESPACES, PODS, SERVICES } from "../kube/resource.ts";
import type { ControllerDeps } from "./context.ts";
import { metadataPatch } from "./meta-patch.ts";

export interface UninstallReport {
  floatingIps: number;
  loadBalancers: number;
  ports: number;
  networks: number;
  /** Pods, Services and namespaces whose annotations, finalizers or ingress were cleaned. */
  objectsCleaned: number;
}

export async function uninstall(d: ControllerDeps): Promise<UninstallReport> {
  const report: UninstallReport = {
    floatingIps: 0,
    loadBalancers: 0,
    ports: 0,
    networks: 0,
    objectsCleaned: 0,
  };
  const inv = d.backend.inventory();
  const ingressIps = new Set(
    inv.floatingIps.filter((f) => f.object.role === "load-balancer").map((f) => f.object.floating_ip_address),
  );
  for (const f of inv.floatingIps) {
    await d.backend.deleteFloatingIp(f.object.id);
    report.floatingIps++;
  }
  for (const l of inv.loadBalancers) {
    await d.backend.deleteLoadBalancer(l.object.loadbalancer.id);
    report.loadBalancers++;
  }
  for (const p of inv.ports) {
    await d.backend.deletePort(p.object.id);
    report.ports++;
  }
  for (const n of inv.networks) {
    await d.backend.deleteNetwork(n.object.id);
    report.networks++;
  }
  // Compiled NetworkPolicies (and the neutron backend's security groups), once no port uses them.
  await d.backend.policies?.releaseAll();

  const k = d.keys;
  const clean = async (
    res: typeof PODS,
    obj: KubeObject,
    annotations: string[],
    finalizer: string,
  ): Promise<void> => {
    const body = metadataPatch(obj, {
      annotations: Object.fromEntries(annotations.map((a) => [a, null])),
      finalizer: { name: finalizer, present: false },
    });
    if (!body) return;
    try {
      await d.client.patch(res, obj.metadata.namespace ?? "", obj.metadata.name!, "strategic", body);
      report.objectsCleaned++;
    } catch (err) {
      if (!isObjectGone(err)) throw err;
    }
  };
  for (const pod of d.informers.pods.list())
    await clean(PODS, pod, [k.port, k.subnet], k.legacyFinalizers.pod);
  for (const svc of d.informers.services.list()) {
    await clean(SERVICES, svc, [k.lbVip, k.lbPool, k.floatingIp], k.legacyFinalizers.service);
    // The ingress Raven published for a type LoadBalancer Service points at a floating IP that is gone now.
    const ingress: { ip?: string }[] = svc.status?.loadBalancer?.ingress ?? [];
    if (!ingress.some((i) => i.ip && ingressIps.has(i.ip))) continue;
    try {
      await d.client.patch(
        SERVICES,
        svc.metadata.namespace!,
        svc.metadata.name!,
        "merge",
        {
          metadata: { uid: svc.metadata.uid },
          status: { loadBalancer: { ingress: ingress.filter((i) => !i.ip || !ingressIps.has(i.ip)) } },
        },
        { subresource: "status" },
      );
    } catch (err) {
      if (!isObjectGone(err)) throw err;
    }
  }
  for (const ns of d.informers.namespaces.list())
    await clean(NAMESPACES, ns, [], k.legacyFinalizers.namespace);
  d.log.info({ uninstalled: report }, "released everything Raven owned and removed its marks");
  return report;
}
