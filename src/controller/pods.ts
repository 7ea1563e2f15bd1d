// Pod -> port. A scheduled pod (not hostNetwork) gets one port named after it on its
// namespace's network; the port and subnet are written to the pod as annotations in one
// strategic merge patch. A pod keeps its port until its containers are gone: through its
// graceful termination, and released only when it finishes (Succeeded/Failed), when its final
// delete comes (deletionGracePeriodSeconds 0), or when it has left the API. Level-triggered:
// every step can be replayed after a crash; ports of pods deleted while no controller ran are
// removed by orphan sweeping (orphans.ts), so no finalizer is needed.

import {
  AnnotationError,
  formatPortAnnotation,
  formatSubnetAnnotation,
  parsePortAnnotation,
  parseRequestedIp,
} from "../api/annotations.ts";
import { isObjectGone } from "../kube/errors.ts";
import { type KubeObject, objectKey } from "../kube/objects.ts";
import { PODS } from "../kube/resource.ts";
import { SdnError } from "../sdn/backend.ts";
import type { Port } from "../sdn/model.ts";
import { type ControllerDeps, ownerOf } from "./context.ts";
import { GoneUids } from "./gone-uids.ts";
import { type MetadataWant, metadataPatch } from "./meta-patch.ts";
import type { NamespaceReconciler } from "./namespaces.ts";
import { OwnWrites } from "./own-writes.ts";
import { PodAttachments } from "./pod-attachments.ts";

export function isFinished(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/**
 * What a pod needs of Raven now:
 * - "bind": a port (created if need be) and its annotations;
 * - "hold": keep whatever port it has, create none (being terminated, or not scheduled yet);
 * - "release": its containers are gone or never need one: release its port.
 */
export function portNeed(pod: KubeObject): "bind" | "hold" | "release" {
  if (isFinished(pod) || pod.spec?.hostNetwork) return "release";
  if (pod.metadata.deletionTimestamp)
    return pod.metadata.deletionGracePeriodSeconds === 0 ? "release" : "hold";
  return pod.spec?.nodeName ? "bind" : "hold";
}

export class PodReconciler {
  private readonly d: ControllerDeps;
  private readonly namespaces: NamespaceReconciler;
  private readonly attachments: PodAttachments;
  private readonly gone = new GoneUids();
  /** Our latest pod patches, so a sync on a cache that has not seen them yet is skipped. */
  private readonly writes = new OwnWrites();
  /** Pods that found their subnet full, by subnet id: queued again when an address frees up. */
  private readonly waiting = new Map<string, Set<string>>();

  constructor(deps: ControllerDeps, namespaces: NamespaceReconciler) {
    this.d = deps;
    this.namespaces = namespaces;
    this.attachments = new PodAttachments(deps, namespaces);
  }

  forget(key: string, uid: string): void {
    this.writes.forget(key);
    this.gone.add(key, uid);
  }

  /** The pods waiting for an address of `subnetId` (forgotten here; a failing sync adds them back). */
  takeWaiting(subnetId: string): string[] {
    const keys = this.waiting.get(subnetId);
    this.waiting.delete(subnetId);
    return keys ? [...keys] : [];
  }

  async sync(key: string): Promise<void> {
    const pod = this.d.informers.pods.get(key);
    await this.gone.release(key, pod?.metadata.uid, (uid) => this.releasePorts(uid));
    if (!pod) return;
    // The cache predates our own last patch of this pod: that patch's event will queue it again.
    if (this.writes.isStale(key, pod)) return;
    const need = portNeed(pod);
    if (need === "bind") return this.bind(pod);
    if (need === "release") {
      await this.releasePorts(pod.metadata.uid!);
      const hadPort = pod.metadata.annotations?.[this.d.keys.port] !== undefined;
      await this.patch(pod, {
        annotations: hadPort
          ? { [this.d.keys.port]: null, [this.d.keys.subnet]: null, [this.d.keys.attachments]: null }
          : {},
        finalizer: { name: this.d.keys.legacyFinalizers.pod, present: false },
      });
      return;
    }
    // Terminating: its containers may still serve on the address; the final delete releases it.
    await this.patch(pod, { finalizer: { name: this.d.keys.legacyFinalizers.pod, present: false } });
  }

  private async bind(pod: KubeObject): Promise<void> {
    const nsName = pod.metadata.namespace!;
    const ns = this.d.informers.namespaces.get(nsName);
    if (!ns) throw new Error(`namespace ${nsName} of pod ${pod.metadata.name} is not in the cache yet`);
    if (ns.metadata.deletionTimestamp) return; // no new ports in a namespace being deleted
    const net = await this.namespaces.ensureNetwork(ns);
    let port = this.pickPort(pod);
    if (!port) {
      let requested: string | undefined;
      try {
        requested = parseRequestedIp(
          this.d.keys.requestedIp,
          pod.metadata.annotations?.[this.d.keys.requestedIp],
        );
      } catch (err) {
        if (!(err instanceof AnnotationError)) throw err;
        // Nothing to retry until the user fixes the annotation (which queues the pod again).
        this.d.recorder.event(pod, "Warning", "InvalidIPRequest", `${err.message}; no port is created`);
        return;
      }
      const key = objectKey(pod);
      try {
        port = await this.d.backend.createPort({
          owner: ownerOf("Pod", pod),
          name: pod.metadata.name!,
          networkId: net.network.id,
          subnetId: net.subnet.id,
          ipAddress: requested,
          hostId: pod.spec?.nodeName,
          claimPortId: this.annotatedPortId(pod),
          onRecentlyReleased: (ip, ago) =>
            this.d.recorder.event(
              pod,
              "Normal",
              "RecentAddressReused",
              `${ip} was released ${Math.round(ago / 1000)} s ago, less than the ${Math.round(
                this.d.config.addressCooldownMs / 1000,
              )} s cooldown; no other address of subnet ${net.subnet.cidr} is free`,
            ),
        });
        this.d.metrics.backendOps.inc({ op: "createPort", result: "ok" });
        this.waiting.get(net.subnet.id)?.delete(key);
      } catch (err) {
        this.d.metrics.backendOps.inc({ op: "createPort", result: "error" });
        if (err instanceof SdnError) {
          if (err.reason === "SubnetFull") this.waitFor(net.subnet.id, key);
          this.reportAllocationFailure(pod, err, requested, net.subnet.cidr);
        }
        throw err;
      }
    }
    // An attachment that cannot be made must not hold the pod's own port back: the primary is
    // written, the attachment is an Event and a retry.
    let attachments: string | null | undefined;
    let attachmentError: unknown;
    try {
      attachments = await this.attachments.sync(pod);
    } catch (err) {
      attachmentError = err;
      this.d.recorder.event(pod, "Warning", "FailedAttachment", `${(err as Error).message}; will retry`);
    }
    await this.patch(pod, {
      annotations: {
        [this.d.keys.port]: formatPortAnnotation(port),
        [this.d.keys.subnet]: formatSubnetAnnotation(net.subnet),
        // undefined: a selection that does not parse leaves the attachments as they are.
        ...(attachments === undefined ? {} : { [this.d.keys.attachments]: attachments }),
      },
      finalizer: { name: this.d.keys.legacyFinalizers.pod, present: false },
    });
    if (attachmentError) throw attachmentError;
  }

  private waitFor(subnetId: string, key: string): void {
    let keys = this.waiting.get(subnetId);
    if (!keys) {
      keys = new Set();
      this.waiting.set(subnetId, keys);
    }
    keys.add(key);
  }

  /**
   * The pod's port. Normally there is at most one; should there be more (two writers raced),
   * the one its annotation names stays (the address its containers use) and the rest go.
   */
  private pickPort(pod: KubeObject): Port | undefined {
    // The primary port is named after the pod; attachment ports are pod-attachments.ts's.
    const ports = this.d.backend
      .findPorts(pod.metadata.uid!)
      .filter((p) => !PodAttachments.isAttachmentPort(pod, p));
    if (ports.length <= 1) return ports[0];
    const annotatedId = this.annotatedPortId(pod);
    const keep = ports.find((p) => p.id === annotatedId) ?? ports[0];
    for (const p of ports) if (p !== keep) void this.d.backend.deletePort(p.id).catch(() => {});
    return keep;
  }

  /** The port id the pod's annotation names, if it has a valid one. */
  annotatedPortId(pod: KubeObject): string | undefined {
    const text = pod.metadata.annotations?.[this.d.keys.port];
    if (text === undefined) return undefined;
    try {
      return parsePortAnnotation(this.d.keys.port, text).id;
    } catch {
      return undefined;
    }
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
