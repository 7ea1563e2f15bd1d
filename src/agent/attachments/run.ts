// raven-agent's hot-plug loop: the node's pods and the NetworkAttachmentDefinitions from
// informers, a work queue of pod keys (a pod whose selection or records may differ), and
// workers running the reconciler; NAD changes bring back the pods that select them; pods gone
// from the node, and records of pods the agent no longer sees, are detached (GC).
import { existsSync } from "node:fs";
import { AnnotationError, parsePortAnnotation } from "../../api/annotations.ts";
import { NETWORK_STATUS_ANNOTATION, NETWORKS_ANNOTATION } from "../../api/network-attachments.ts";
import { CriClient } from "../../cri/client.ts";
import type { KubeClient } from "../../kube/client.ts";
import { isNotFound, isObjectGone } from "../../kube/errors.ts";
import type { EventRecorder } from "../../kube/events.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import type { SharedInformerFactory } from "../../kube/informer-factory.ts";
import type { Logger } from "../../kube/log.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { NETWORK_ATTACHMENT_DEFINITIONS, PODS } from "../../kube/resource.ts";
import { runWorkers, WorkQueue } from "../../kube/workqueue.ts";
import type { Binder } from "../binder.ts";
import { CniExec } from "./cni-exec.ts";
import { delegates, RavenDelegate } from "./raven-delegate.ts";
import { AttachmentReconciler } from "./reconciler.ts";
import { RecordStore } from "./records.ts";
import { CriSandboxes } from "./sandboxes.ts";

export interface AttachmentOptions {
  /** The container runtime's CRI socket (where pods' network namespaces are found). */
  criSocket: string;
  /** Where the attachments' CNI plugins are. */
  cniPath: string[];
  /** Where the records of what is attached live (kept across restarts). */
  stateDir: string;
  /** Pods synced at once. Default 4. */
  workers?: number;
}

const GONE = "gone/";
const podKey = (p: KubeObject) => `${p.metadata.namespace}/${p.metadata.name}`;

/**
 * Sets the hot-plug loop up on the agent's informer factory (before it starts); undefined when
 * the cluster has no NetworkAttachmentDefinition CRD or the node no CRI socket (then the agent
 * runs without it, and says so).
 */
export async function prepareAttachments(deps: {
  opts: AttachmentOptions;
  client: KubeClient;
  factory: SharedInformerFactory;
  pods: SharedInformer;
  recorder: Pick<EventRecorder, "event">;
  portAnnotation: string;
  /** Binds attachments to Raven networks (NADs of type "raven"), as raven-cni's calls. */
  binder: Pick<Binder, "handle">;
  log: Logger;
}): Promise<{ run(signal: AbortSignal): Promise<void> } | undefined> {
  const { opts, client, factory, pods, recorder, log } = deps;
  if (!existsSync(opts.criSocket)) {
    log.warn({ criSocket: opts.criSocket }, "no CRI socket: hot-plugged attachments are off");
    return undefined;
  }
  try {
    await client.list(NETWORK_ATTACHMENT_DEFINITIONS, { limit: 1 });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    log.warn({}, "the NetworkAttachmentDefinition CRD is not installed: hot-plugged attachments are off");
    return undefined;
  }
  const nads = factory.informerFor(NETWORK_ATTACHMENT_DEFINITIONS);
  const cri = CriClient.connect(opts.criSocket);
  const records = new RecordStore(opts.stateDir);
  const queue = new WorkQueue();
  const sandboxes = new CriSandboxes(cri);
  const reconciler = new AttachmentReconciler({
    pods,
    nads,
    sandboxes,
    cni: delegates(new RavenDelegate(deps.binder), new CniExec({ path: opts.cniPath })),
    records,
    patchAnnotations: async (pod, annotations) => {
      try {
        await client.patch(PODS, pod.metadata.namespace!, pod.metadata.name!, "merge", {
          metadata: { uid: pod.metadata.uid, annotations },
        });
      } catch (err) {
        if (!isObjectGone(err)) throw err;
      }
    },
    event: (pod, type, reason, message) => recorder.event(pod, type, reason, message),
    primary: (pod) => {
      try {
        const port = parsePortAnnotation(
          deps.portAnnotation,
          pod.metadata.annotations?.[deps.portAnnotation],
        );
        return {
          name: "raven",
          interface: "eth0",
          ips: port.fixed_ips.map((f) => f.ip_address),
          mac: port.mac_address,
          default: true,
        };
      } catch (err) {
        if (err instanceof AnnotationError) return undefined;
        throw err;
      }
    },
    log,
  });
  /** Pods whose attachments may need work: a selection, a status, or records. */
  const concerned = (p: KubeObject) =>
    p.metadata.annotations?.[NETWORKS_ANNOTATION] !== undefined ||
    p.metadata.annotations?.[NETWORK_STATUS_ANNOTATION] !== undefined ||
    records.forPod(p.metadata.uid!).length > 0;
  pods.addEventHandler({
    onAdd: (p) => {
      if (concerned(p)) queue.add(podKey(p));
    },
    onUpdate: (_o, p) => {
      if (concerned(p)) queue.add(podKey(p));
    },
    onDelete: (p) => {
      sandboxes.forget(p.metadata.uid!);
      if (records.forPod(p.metadata.uid!).length) queue.add(`${GONE}${p.metadata.uid}`);
    },
  });
  const nadChanged = (nad: KubeObject) => {
    for (const k of reconciler.selecting(pods.list(), `${nad.metadata.namespace}/${nad.metadata.name}`))
      queue.add(k);
  };
  nads.addEventHandler({
    onAdd: nadChanged,
    onUpdate: (_o, n) => nadChanged(n),
    onDelete: (nad) => {
      const ref = `${nad.metadata.namespace}/${nad.metadata.name}`;
      for (const k of reconciler.selecting(pods.list(), ref)) {
        const pod = pods.get(k);
        if (pod)
          recorder.event(
            pod,
            "Warning",
            "NetworkAttachmentDefinitionDeleted",
            `NetworkAttachmentDefinition ${ref} was deleted; its interface stays until the pod's selection drops it`,
          );
      }
    },
  });
  return {
    async run(signal: AbortSignal): Promise<void> {
      // Resync at start: every concerned pod, and the records of pods no longer on the node.
      const live = new Set(pods.list().map((p) => p.metadata.uid));
      for (const p of pods.list()) if (concerned(p)) queue.add(podKey(p));
      for (const uid of records.pods()) if (!live.has(uid)) queue.add(`${GONE}${uid}`);
      signal.addEventListener("abort", () => queue.shutDown(), { once: true });
      try {
        await runWorkers(
          queue,
          opts.workers ?? 4,
          (key) =>
            key.startsWith(GONE) ? reconciler.detachAll(key.slice(GONE.length)) : reconciler.sync(key),
          {
            logger: log,
            onError: (key, err, requeues) =>
              (requeues < 3 ? log.debug : log.warn).call(
                log,
                { key, err: String(err), requeues },
                "attachments: retrying",
              ),
          },
        );
      } finally {
        cri.close();
      }
    },
  };
}
