// Hot-plugged attachments, level-triggered per pod: the attachments a running pod's
// k8s.v1.cni.cncf.io/networks selects (each a NetworkAttachmentDefinition's CNI configuration)
// against those recorded as in its network namespace (records.ts), and for each difference a
// CNI ADD or DEL through the plugin (cni-exec.ts), with the pod never restarted. Every record is
// marked before its plugin call and settled after, so an agent killed mid-call cleans up at its
// next sync (a DEL of the unsettled one, then the ADD again if still wanted). network-status is
// written from the records, so a failed write is just retried. Independent attachments run in
// parallel; a failed one is an Event and a retry of the pod (with the queue's backoff), and the
// others stand.
import { AnnotationError } from "../../api/annotations.ts";
import {
  type AttachmentRequest,
  attachmentKey,
  formatNetworkStatus,
  NETWORK_STATUS_ANNOTATION,
  NETWORKS_ANNOTATION,
  type NetworkStatusEntry,
  parseNetworkSelection,
} from "../../api/network-attachments.ts";
import type { Logger } from "../../kube/log.ts";
import type { KubeObject } from "../../kube/objects.ts";
import type { CniConfig, CniExec, CniInvocation, CniResult } from "./cni-exec.ts";
import { nadConfig } from "./nads.ts";
import type { AttachmentRecord, RecordStore } from "./records.ts";
import type { PodSandboxRef, SandboxFinder } from "./sandboxes.ts";

export interface AttachmentDeps {
  /** The node's pods and the NetworkAttachmentDefinitions, from informers (`namespace/name`). */
  pods: { get(key: string): KubeObject | undefined };
  nads: { get(key: string): KubeObject | undefined };
  sandboxes: SandboxFinder;
  cni: Pick<CniExec, "add" | "del">;
  records: RecordStore;
  /** Merge-patches the pod's annotations (null deletes one). */
  patchAnnotations(pod: KubeObject, annotations: Record<string, string | null>): Promise<void>;
  event(pod: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void;
  /** The pod's primary interface, for network-status. */
  primary(pod: KubeObject): NetworkStatusEntry | undefined;
  log: Logger;
}

/** One attachment's failure; the pod is synced again with backoff. */
export class AttachmentError extends Error {}

const podKey = (pod: KubeObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;

export class AttachmentReconciler {
  private readonly d: AttachmentDeps;
  /** The last refused selection per pod UID, so one bad edit is one Event. */
  private readonly refused = new Map<string, string>();

  constructor(deps: AttachmentDeps) {
    this.d = deps;
  }

  /** Pods (keys) whose selection names the NetworkAttachmentDefinition `nadKey` (`namespace/name`). */
  selecting(pods: KubeObject[], nadKey: string): string[] {
    return pods
      .filter((p) => {
        try {
          return parseNetworkSelection(
            p.metadata.annotations?.[NETWORKS_ANNOTATION],
            p.metadata.namespace!,
          ).some((a) => `${a.namespace}/${a.name}` === nadKey);
        } catch {
          return false;
        }
      })
      .map(podKey);
  }

  async sync(key: string): Promise<void> {
    const pod = this.d.pods.get(key);
    if (!pod) return;
    const t0 = performance.now();
    const timing: Record<string, number> = {};
    const lap = (what: string) => {
      timing[what] = Math.round(performance.now() - t0);
    };
    const uid = pod.metadata.uid!;
    const text = pod.metadata.annotations?.[NETWORKS_ANNOTATION];
    if (pod.metadata.deletionTimestamp || ["Succeeded", "Failed"].includes(pod.status?.phase)) {
      // Going: its attachments go first, while the sandbox is still there if it can be.
      await this.detachAll(uid);
      return;
    }
    let wanted: AttachmentRequest[];
    try {
      wanted = parseNetworkSelection(text, pod.metadata.namespace!);
    } catch (err) {
      if (!(err instanceof AnnotationError)) throw err;
      // The whole change is refused: nothing is added or removed until the selection is fixed.
      if (this.refused.get(uid) !== text) {
        this.refused.set(uid, text ?? "");
        this.d.event(pod, "Warning", "InvalidNetworkSelection", `${err.message}; no interface was changed`);
      }
      return;
    }
    if (pod.spec?.hostNetwork) {
      if (wanted.length && this.refused.get(uid) !== text) {
        this.refused.set(uid, text ?? "");
        this.d.event(
          pod,
          "Warning",
          "FailedAddingInterface",
          "a hostNetwork pod has no network namespace of its own to attach to",
        );
      }
      return;
    }
    this.refused.delete(uid);
    const sandbox = await this.d.sandboxes.find(uid);
    lap("sandboxMs");
    // No sandbox (not made yet, or gone): nothing to do now; its next change brings the pod back.
    if (!sandbox) return;

    const have = this.d.records.forPod(uid);
    const wantedKeys = new Map(wanted.map((w) => [attachmentKey(w), w]));
    const failures: string[] = [];
    // Records that are not (or no longer) what is wanted in this sandbox: an unsettled call, an
    // old sandbox's, a different request under the same interface, or unselected.
    const stale = have.filter((r) => {
      const w = wantedKeys.get(attachmentKey(r.request));
      return r.phase !== "added" || r.sandboxId !== sandbox.id || !w || !sameRequest(w, r.request);
    });
    await Promise.all(
      stale.map(async (r) => {
        try {
          await this.detach(r, pod);
        } catch (err) {
          failures.push(`${r.request.interface}: ${(err as Error).message}`);
        }
      }),
    );
    const current = new Set(
      this.d.records
        .forPod(uid)
        .filter((r) => r.phase === "added")
        .map((r) => attachmentKey(r.request)),
    );
    // An interface still held by a record that could not be removed is not added over.
    const busy = new Set(this.d.records.forPod(uid).map((r) => r.request.interface));
    await Promise.all(
      wanted
        .filter((w) => !current.has(attachmentKey(w)) && !busy.has(w.interface))
        .map(async (w) => {
          try {
            await this.attach(pod, sandbox, w);
          } catch (err) {
            failures.push(`${w.interface}: ${(err as Error).message}`);
          }
        }),
    );
    lap("pluginsMs");
    await this.writeStatus(pod, wanted);
    lap("totalMs");
    this.d.log.debug({ pod: key, ...timing }, "attachments synced");
    if (failures.length) throw new AttachmentError(failures.join("; "));
  }

  /** Detaches every attachment of a pod UID that is gone from the node (GC), or going. */
  async detachAll(uid: string, pod?: KubeObject): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      this.d.records
        .forPod(uid)
        .map((r) =>
          this.detach(r, pod).catch((err) =>
            failures.push(`${r.request.interface}: ${(err as Error).message}`),
          ),
        ),
    );
    if (failures.length) throw new AttachmentError(failures.join("; "));
  }

  private async attach(pod: KubeObject, sandbox: PodSandboxRef, w: AttachmentRequest): Promise<void> {
    const nadKey = `${w.namespace}/${w.name}`;
    const nad = this.d.nads.get(nadKey);
    if (!nad) {
      this.d.event(
        pod,
        "Warning",
        "FailedAddingInterface",
        `${w.interface}: NetworkAttachmentDefinition ${nadKey} not found`,
      );
      throw new AttachmentError(`NetworkAttachmentDefinition ${nadKey} not found`);
    }
    let config: CniConfig;
    try {
      config = nadConfig(nad);
    } catch (err) {
      this.d.event(pod, "Warning", "FailedAddingInterface", `${w.interface}: ${(err as Error).message}`);
      throw err;
    }
    const rec: AttachmentRecord = {
      podUid: pod.metadata.uid!,
      podNamespace: pod.metadata.namespace!,
      podName: pod.metadata.name!,
      sandboxId: sandbox.id,
      netns: sandbox.netns,
      request: w,
      config,
      phase: "adding",
    };
    this.d.records.put(rec);
    let result: CniResult;
    try {
      result = await this.d.cni.add(config, invocation(rec));
    } catch (err) {
      this.d.event(
        pod,
        "Warning",
        "FailedAddingInterface",
        `${w.interface} (${nadKey}): ${(err as Error).message}`,
      );
      // Whatever the plugin left half made goes now; the record stays "adding" if even that fails.
      await this.detach(rec, undefined).catch(() => {});
      throw err;
    }
    this.d.records.put({ ...rec, phase: "added", result });
    const ips = addressesOf(result, w.interface);
    this.d.event(pod, "Normal", "AddedInterface", `added ${w.interface} [${ips.join(", ")}] from ${nadKey}`);
  }

  private async detach(rec: AttachmentRecord, pod: KubeObject | undefined): Promise<void> {
    this.d.records.put({ ...rec, phase: "deleting" });
    try {
      await this.d.cni.del(rec.config, invocation(rec), rec.result);
    } catch (err) {
      if (pod)
        this.d.event(
          pod,
          "Warning",
          "FailedRemovingInterface",
          `${rec.request.interface} (${rec.request.namespace}/${rec.request.name}): ${(err as Error).message}`,
        );
      throw err;
    }
    this.d.records.remove(rec.podUid, rec.request.interface);
    if (pod && rec.phase === "added")
      this.d.event(
        pod,
        "Normal",
        "RemovedInterface",
        `removed ${rec.request.interface} of ${rec.request.namespace}/${rec.request.name}`,
      );
  }

  /** network-status from the records: the primary, then the attachments in selection order. */
  private async writeStatus(pod: KubeObject, wanted: AttachmentRequest[]): Promise<void> {
    const recs = new Map(
      this.d.records
        .forPod(pod.metadata.uid!)
        .filter((r) => r.phase === "added")
        .map((r) => [attachmentKey(r.request), r]),
    );
    const entries: NetworkStatusEntry[] = [];
    const primary = this.d.primary(pod);
    if (primary) entries.push(primary);
    for (const w of wanted) {
      const r = recs.get(attachmentKey(w));
      if (!r?.result) continue;
      entries.push({
        name: `${w.namespace}/${w.name}`,
        interface: w.interface,
        ips: addressesOf(r.result, w.interface),
        ...(macOf(r.result, w.interface) ? { mac: macOf(r.result, w.interface) } : {}),
        default: false,
      });
    }
    // A pod that never had attachments is left as it is.
    const had = pod.metadata.annotations?.[NETWORK_STATUS_ANNOTATION];
    if (!wanted.length && had === undefined) return;
    const value = formatNetworkStatus(entries);
    if (had !== value) await this.d.patchAnnotations(pod, { [NETWORK_STATUS_ANNOTATION]: value });
  }
}

function sameRequest(a: AttachmentRequest, b: AttachmentRequest): boolean {
  return (
    JSON.stringify([a.ips ?? [], a.mac ?? "", a.defaultRoute ?? []]) ===
    JSON.stringify([b.ips ?? [], b.mac ?? "", b.defaultRoute ?? []])
  );
}

function invocation(rec: AttachmentRecord): CniInvocation {
  const w = rec.request;
  return {
    containerId: rec.sandboxId,
    netns: rec.netns,
    ifname: w.interface,
    args: {
      K8S_POD_NAMESPACE: rec.podNamespace,
      K8S_POD_NAME: rec.podName,
      K8S_POD_INFRA_CONTAINER_ID: rec.sandboxId,
      K8S_POD_UID: rec.podUid,
      // kactus's name for it: which attachment this call is about.
      K8S_POD_NETWORK: w.name,
    },
    runtimeConfig: {
      ...(w.ips ? { ips: w.ips } : {}),
      ...(w.mac ? { mac: w.mac } : {}),
    },
  };
}

/** The addresses (without prefix) the result gives the interface `ifname`. */
function addressesOf(result: CniResult, ifname: string): string[] {
  const idx = (result.interfaces ?? []).findIndex((i) => i.name === ifname && i.sandbox);
  return (result.ips ?? [])
    .filter((ip) => ip.interface === undefined || idx < 0 || ip.interface === idx)
    .map((ip) => ip.address.split("/")[0]);
}

function macOf(result: CniResult, ifname: string): string | undefined {
  return (result.interfaces ?? []).find((i) => i.name === ifname && i.sandbox)?.mac;
}
