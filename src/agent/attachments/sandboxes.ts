// Where a running pod's network namespace is, asked of the container runtime over CRI (never of
// Docker): the pod's ready sandbox, by the kubelet's io.kubernetes.pod.uid label, and the network
// namespace path in containerd's verbose PodSandboxStatus (its runtime spec).
import { existsSync } from "node:fs";
import type { RuntimeService } from "../../cri/types.ts";

/** PodSandboxState SANDBOX_READY. */
const READY = 0;

export interface PodSandboxRef {
  /** The sandbox id: CNI_CONTAINERID and K8S_POD_INFRA_CONTAINER_ID, as the runtime gave them to CNI. */
  id: string;
  netns: string;
}

export interface SandboxFinder {
  /** The pod's ready sandbox and its network namespace, or undefined when it has none (gone, or not yet made). */
  find(podUid: string): Promise<PodSandboxRef | undefined>;
}

export class CriSandboxes implements SandboxFinder {
  private readonly cri: Pick<RuntimeService, "listPodSandbox" | "podSandboxStatus">;
  private readonly exists: (path: string) => boolean;
  /** The last answer per pod: good while its netns exists (a new sandbox gets a new one). */
  private readonly known = new Map<string, PodSandboxRef>();

  constructor(
    cri: Pick<RuntimeService, "listPodSandbox" | "podSandboxStatus">,
    exists: (path: string) => boolean = existsSync,
  ) {
    this.cri = cri;
    this.exists = exists;
  }

  /** Forgets a pod that left the node. */
  forget(podUid: string): void {
    this.known.delete(podUid);
  }

  async find(podUid: string): Promise<PodSandboxRef | undefined> {
    const known = this.known.get(podUid);
    if (known && this.exists(known.netns)) return known;
    this.known.delete(podUid);
    const found = await this.lookUp(podUid);
    if (found) this.known.set(podUid, found);
    return found;
  }

  private async lookUp(podUid: string): Promise<PodSandboxRef | undefined> {
    const ready = await this.cri.listPodSandbox({
      labelSelector: { "io.kubernetes.pod.uid": podUid },
      state: { state: READY },
    });
    // The newest, should a restarted pod briefly have two.
    const sandbox = ready.sort((a, b) => b.createdAt - a.createdAt)[0];
    if (!sandbox) return undefined;
    const status = await this.cri.podSandboxStatus(sandbox.id, true);
    const netns = netnsOf(status.info?.info);
    return netns ? { id: sandbox.id, netns } : undefined;
  }
}

/** The network namespace path in containerd's verbose sandbox info (runtimeSpec.linux.namespaces). */
export function netnsOf(info: string | undefined): string | undefined {
  if (!info) return undefined;
  try {
    const spec = JSON.parse(info).runtimeSpec;
    const ns = (spec?.linux?.namespaces ?? []).find((n: { type?: string }) => n.type === "network");
    return typeof ns?.path === "string" && ns.path ? ns.path : undefined;
  } catch {
    return undefined;
  }
}
