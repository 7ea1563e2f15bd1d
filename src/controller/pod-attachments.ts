// A pod's attachments to Raven networks: the entries of its k8s.v1.cni.cncf.io/networks whose
// NetworkAttachmentDefinition says {"type": "raven", "network": "<namespace>"} get a port on
// that namespace's network, named `<pod>-<attachment>` and owned by the pod (released with it),
// which raven-agent binds as it binds the primary one. Entries on other plugins are the agent's
// alone. A selection that does not parse changes nothing (the agent reports it).
import { AnnotationError, formatAttachmentsAnnotation } from "../api/annotations.ts";
import {
  type AttachmentRequest,
  defaultInterfaceName,
  NETWORKS_ANNOTATION,
  parseNetworkSelection,
} from "../api/network-attachments.ts";
import type { KubeObject } from "../kube/objects.ts";
import { SdnError } from "../sdn/backend.ts";
import type { Port } from "../sdn/model.ts";
import { type ControllerDeps, ownerOf } from "./context.ts";
import type { NamespaceReconciler } from "./namespaces.ts";

/** A NAD's Raven network, if it names one: the namespace whose network it is. */
export function ravenNetworkOf(nad: KubeObject | undefined): string | undefined {
  if (!nad) return undefined;
  try {
    const conf = JSON.parse(String(nad.spec?.config ?? ""));
    if (conf?.type !== "raven") return undefined;
    return typeof conf.network === "string" && conf.network ? conf.network : nad.metadata.namespace;
  } catch {
    return undefined;
  }
}

export class PodAttachments {
  private readonly d: ControllerDeps;
  private readonly namespaces: NamespaceReconciler;

  constructor(d: ControllerDeps, namespaces: NamespaceReconciler) {
    this.d = d;
    this.namespaces = namespaces;
  }

  /** Is `port` one of the pod's attachment ports (not its primary)? */
  static isAttachmentPort(pod: KubeObject, port: Port): boolean {
    return port.name !== pod.metadata.name;
  }

  /**
   * Makes the ports the pod's Raven-network attachments need and deletes those of attachments
   * it no longer selects; answers the attachments annotation (null: none), or undefined when
   * the selection does not parse (nothing is touched then).
   */
  async sync(pod: KubeObject): Promise<string | null | undefined> {
    let wanted: AttachmentRequest[];
    try {
      wanted = parseNetworkSelection(
        pod.metadata.annotations?.[NETWORKS_ANNOTATION],
        pod.metadata.namespace!,
      );
    } catch (err) {
      if (err instanceof AnnotationError) return undefined;
      throw err;
    }
    const nads = this.d.informers.nads;
    const raven = wanted.flatMap((w) => {
      const network = ravenNetworkOf(nads?.get(`${w.namespace}/${w.name}`));
      return network ? [{ w, network }] : [];
    });
    // `<pod>-<attachment>`, and its interface too when not the default one (the same network
    // may be attached twice): stable whatever else the selection holds.
    const portName = (w: AttachmentRequest) =>
      `${pod.metadata.name}-${w.name}${w.interface === defaultInterfaceName(w.name) ? "" : `-${w.interface}`}`;
    const mine = this.d.backend
      .findPorts(pod.metadata.uid!)
      .filter((p) => PodAttachments.isAttachmentPort(pod, p));
    const ports = new Map<string, Port>();
    for (const { w, network } of raven) {
      const name = portName(w);
      let port = mine.find((p) => p.name === name);
      if (!port) {
        const ns = this.d.informers.namespaces.get(network);
        if (!ns)
          throw new SdnError("NotFound", `${w.interface}: Raven network ${network} (a namespace) not found`);
        const net = await this.namespaces.ensureNetwork(ns);
        port = await this.d.backend
          .createPort({
            owner: ownerOf("Pod", pod),
            name,
            networkId: net.network.id,
            subnetId: net.subnet.id,
            ipAddress: w.ips?.[0]?.split("/")[0],
            hostId: pod.spec?.nodeName,
          })
          .catch((err) => {
            throw new SdnError(
              err instanceof SdnError ? err.reason : "Unavailable",
              `${w.interface}: no port on Raven network ${network}: ${(err as Error).message}`,
            );
          });
      }
      ports.set(w.interface, port);
    }
    const keep = new Set([...ports.values()].map((p) => p.id));
    for (const p of mine) if (!keep.has(p.id)) await this.d.backend.deletePort(p.id);
    return ports.size ? formatAttachmentsAnnotation(ports) : null;
  }
}
