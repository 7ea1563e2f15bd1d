// Pod -> port. A scheduled pod (not hostNetwork) gets one port named after it on its
// namespace's network; the port and subnet are written to the pod as annotations, together
// with Raven's finalizer, in one strategic merge patch. Finished and deleted pods release
// their port. Level-triggered: every step can be replayed after a crash.

import { isObjectGone } from "../kube/errors.ts";
import { type KubeObject, objectKey } from "../kube/objects.ts";
import { PODS } from "../kube/resource.ts";
import { SdnError } from "../sdn/backend.ts";
import type { Port } from "../sdn/model.ts";
import { portAnnotation, subnetAnnotation } from "./annotations.ts";
import { type ControllerDeps, ownerOf } from "./context.ts";
import { GoneUids } from "./gone-uids.ts";
import { type MetadataWant, metadataPatch } from "./meta-patch.ts";
import type { NamespaceReconciler } from "./namespaces.ts";
import { OwnWrites } from "./own-writes.ts";

export function isFinished(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** Does Raven give this pod a port (now)? */
export function wantsPort(pod: KubeObject): boolean {
  return (
    Boolean(pod.spec?.nodeName) &&
    !pod.spec?.hostNetwork &&
    !pod.metadata.deletionTimestamp &&
    !isFinished(pod)
  );
}

export class PodReconciler {
  private readonly d: ControllerDeps;
  private readonly namespaces: NamespaceReconciler;
  private readonly gone = new GoneUids();
  /** Our latest pod patches, so a sync on a cache that has not seen them yet is skipped. */
  private readonly writes = new OwnWrites();

  constructor(deps: ControllerDeps, namespaces: NamespaceReconciler) {
    this.d = deps;
    this.namespaces = namespaces;
  }

  forget(key: string, uid: string): void {
    this.writes.forget(key);
    this.gone.add(key, uid);
  }

  async sync(key: string): Promise<void> {
    const pod = this.d.informers.pods.get(key);
    await this.gone.release(key, pod?.metadata.uid, (uid) => this.releasePorts(uid));
    if (!pod) return;
    // The cache predates our own last patch of this pod: that patch's event will queue it again.
    if (this.writes.isStale(key, pod)) return;
    if (wantsPort(pod)) return this.bind(pod);
    // Deleted or finished: release the port, then let the pod go.
    await this.releasePorts(pod.metadata.uid!);
    const hadPort = pod.metadata.annotations?.[this.d.keys.port] !== undefined;
    await this.patch(pod, {
      annotations: hadPort ? { [this.d.keys.port]: null, [this.d.keys.subnet]: null } : {},
      finalizer: { name: this.d.keys.podFinalizer, present: false },
    });
  }

  private async bind(pod: KubeObject): Promise<void> {
    const nsName = pod.metadata.namespace!;
    const ns = this.d.informers.namespaces.get(nsName);
    if (!ns) throw new Error(`namespace ${nsName} of pod ${pod.metadata.name} is not in the cache yet`);
    if (ns.metadata.deletionTimestamp) return; // no new ports in a namespace being deleted
    const net = await this.namespaces.ensureNetwork(ns);
    let port = this.pickPort(pod);
    if (!port) {
      const requested = pod.metadata.annotations?.[this.d.keys.requestedIp];
      try {
        port = await this.d.backend.createPort({
          owner: ownerOf("Pod", pod),
          name: pod.metadata.name!,
          networkId: net.network.id,
          subnetId: net.subnet.id,
          ipAddress: requested || undefined,
          hostId: pod.spec?.nodeName,
        });
        this.d.metrics.backendOps.inc({ op: "createPort", result: "ok" });
      } catch (err) {
        this.d.metrics.backendOps.inc({ op: "createPort", result: "error" });
        if (err instanceof SdnError) this.reportAllocationFailure(pod, err, requested, net.subnet.cidr);
        throw err;
      }
    }
    await this.patch(pod, {
      annotations: {
        [this.d.keys.port]: portAnnotation(port),
        [this.d.keys.subnet]: subnetAnnotation(net.subnet),
      },
      finalizer: { name: this.d.keys.podFinalizer, present: true },
    });
  }

  /** The pod's port; extras (from a replica that raced us during a hand-over) are released. */
  private pickPort(pod: KubeObject): Port | undefined {
    const ports = this.d.backend.findPorts(pod.metadata.uid!);
    if (ports.length <= 1) return ports[0];
    const annotated = pod.metadata.annotations?.[this.d.keys.port];
    const keep = ports.find((p) => annotated?.includes(p.id)) ?? ports[0];
    for (const p of ports) if (p !== keep) void this.d.backend.deletePort(p.id).catch(() => {});
    return keep;
  }

  private reportAllocationFailure(
    pod: KubeObject,
    err: SdnError,
    requested: string | undefined,
    cidr: string,
  ): void {
    const r = this.d.recorder;
    if (err.reason === "SubnetFull")
      r.event(
        pod,
        "Warning",
        "FailedAllocateIP",
        `subnet ${cidr} has no free address; will retry when one is released`,
      );
    else if (err.reason === "IpInUse")
      r.event(pod, "Warning", "FailedAllocateIP", `requested IP ${requested} is already in use; will retry`);
    else if (err.reason === "Invalid")
      r.event(
        pod,
        "Warning",
        "FailedAllocateIP",
        `requested IP ${requested} is not assignable in subnet ${cidr}: ${err.message}`,
      );
    else r.event(pod, "Warning", "FailedCreatePort", err.message);
  }

  private async releasePorts(uid: string): Promise<void> {
    for (const p of this.d.backend.findPorts(uid)) {
      await this.d.backend.deletePort(p.id);
      this.d.metrics.backendOps.inc({ op: "deletePort", result: "ok" });
    }
  }

  private async patch(pod: KubeObject, want: MetadataWant): Promise<void> {
    const body = metadataPatch(pod, want);
    if (!body) return;
    try {
      const out = await this.d.client.patch(
        PODS,
        pod.metadata.namespace!,
        pod.metadata.name!,
        "strategic",
        body,
      );
      this.writes.record(objectKey(pod), out);
    } catch (err) {
      if (!isObjectGone(err)) throw err;
    }
  }
}
