// Where the kubelet's pods come from: the API (pods bound to this node, via an informer with
// a spec.nodeName field selector) and static pods (manifest files in the node's manifests
// dir, polled). A static pod gets a UID hashed from its file and the node, the name
// <name>-<node>, and a mirror pod in the API that shows it (recreated when deleted).
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeClient } from "../../kube/client.ts";
import { isAlreadyExists, isObjectGone } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import type { Logger } from "../../kube/log.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { PODS } from "../../kube/resource.ts";

export const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";
export const SOURCE_ANNOTATION = "kubernetes.io/config.source";
export const HASH_ANNOTATION = "kubernetes.io/config.hash";

export const isMirrorPod = (pod: KubeObject): boolean =>
  Boolean(pod.metadata.annotations?.[MIRROR_ANNOTATION]);

/**
 * The static pod described by a manifest file's text, as the kubelet runs it. Throws with a
 * clear message when the file is not a single Pod.
 */
export function staticPodFromManifest(text: string, file: string, nodeName: string): KubeObject {
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
  if (docs.length !== 1) throw new Error(`${file}: want exactly one Pod, found ${docs.length} documents`);
  if (docs[0].errors.length) throw new Error(`${file}: ${docs[0].errors[0].message}`);
  const obj = docs[0].toJS() as KubeObject;
  if (obj?.kind !== "Pod") throw new Error(`${file}: want kind Pod, found ${obj?.kind}`);
  if (!obj.metadata?.name) throw new Error(`${file}: the Pod has no metadata.name`);
  if (!Array.isArray(obj.spec?.containers) || !obj.spec.containers.length)
    throw new Error(`${file}: the Pod has no containers`);
  const hash = createHash("md5").update(nodeName).update("\0").update(text).digest("hex");
  // As upstream's kubelet: a static pod's UID is its config hash, which its mirror pod carries
  // as kubernetes.io/config.mirror (so a CNI plugin given the static UID finds the mirror).
  const uid = hash;
  const spec = { restartPolicy: "Always", terminationGracePeriodSeconds: 30, ...obj.spec, nodeName };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...obj.metadata,
      name: `${obj.metadata.name}-${nodeName}`,
      namespace: obj.metadata.namespace ?? "default",
      uid,
      annotations: {
        ...(obj.metadata.annotations ?? {}),
        [HASH_ANNOTATION]: hash,
        [SOURCE_ANNOTATION]: "file",
      },
    },
    spec,
  };
}

/** The mirror pod object to create for a static pod. */
export function mirrorPodFor(pod: KubeObject, nodeUid?: string): KubeObject {
  const { uid: _uid, resourceVersion: _rv, ...meta } = pod.metadata;
  const hash = pod.metadata.annotations?.[HASH_ANNOTATION] ?? "";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...meta,
      annotations: { ...(meta.annotations ?? {}), [MIRROR_ANNOTATION]: hash },
      ...(nodeUid
        ? {
            ownerReferences: [
              { apiVersion: "v1", kind: "Node", name: pod.spec.nodeName, uid: nodeUid, controller: true },
            ],
          }
        : {}),
    },
    spec: pod.spec,
  };
}

/** Reads every manifest in `dir` (files ending .yaml, .yml or .json); bad files are reported, not fatal. */
export function readStaticPods(dir: string, nodeName: string, log: Logger): KubeObject[] {
  if (!existsSync(dir)) return [];
  const pods: KubeObject[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (f.startsWith(".") || !/\.(ya?ml|json)$/.test(f)) continue;
    try {
      pods.push(staticPodFromManifest(readFileSync(join(dir, f), "utf8"), f, nodeName));
    } catch (err) {
      log.warn({ file: f, err: String((err as Error).message ?? err) }, "skipping static pod manifest");
    }
  }
  return pods;
}

export interface StaticPodSink {
  upsert(pod: KubeObject): void;
  remove(uid: string): void;
}

/** Polls the manifests dir; tells the sink what appeared, changed (new uid) or went. */
export class StaticPodSource {
  private readonly dir: string;
  private readonly nodeName: string;
  private readonly log: Logger;
  private readonly sink: StaticPodSink;
  private current = new Map<string, KubeObject>();

  constructor(dir: string, nodeName: string, log: Logger, sink: StaticPodSink) {
    this.dir = dir;
    this.nodeName = nodeName;
    this.log = log;
    this.sink = sink;
  }

  pods(): KubeObject[] {
    return [...this.current.values()];
  }

  poll(): void {
    const next = new Map(readStaticPods(this.dir, this.nodeName, this.log).map((p) => [p.metadata.uid!, p]));
    for (const [uid, p] of next) if (!this.current.has(uid)) this.sink.upsert(p);
    for (const uid of this.current.keys()) if (!next.has(uid)) this.sink.remove(uid);
    this.current = next;
  }
}

/**
 * Keeps one mirror pod per static pod: creates missing ones, replaces stale or deleted ones,
 * removes orphans. Answers true when a mirror someone deleted was removed now and is to be made
 * again on a later sync (the caller's): as upstream's next pod sync does, not in the same
 * instant, so a `kubectl delete --wait` sees it gone rather than already back under its name.
 */
export async function syncMirrorPods(
  client: KubeClient,
  statics: KubeObject[],
  informer: SharedInformer,
  nodeUid: string | undefined,
  log: Logger,
): Promise<boolean> {
  let later = false;
  const wanted = new Map(statics.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  for (const [key, pod] of wanted) {
    const mirror = informer.get(key);
    const hash = pod.metadata.annotations?.[HASH_ANNOTATION];
    if (
      mirror &&
      isMirrorPod(mirror) &&
      mirror.metadata.annotations?.[MIRROR_ANNOTATION] === hash &&
      !mirror.metadata.deletionTimestamp
    )
      continue;
    try {
      if (mirror) await deleteNow(client, mirror);
      if (mirror?.metadata.deletionTimestamp) {
        later = true;
        continue;
      }
      await client.create(PODS, mirrorPodFor(pod, nodeUid));
    } catch (err) {
      if (!isAlreadyExists(err)) log.warn({ pod: key, err: String(err) }, "cannot create mirror pod");
    }
  }
  for (const p of informer.list()) {
    if (!isMirrorPod(p) || wanted.has(`${p.metadata.namespace}/${p.metadata.name}`)) continue;
    await deleteNow(client, p).catch((err) => log.warn({ err: String(err) }, "cannot delete mirror pod"));
  }
  return later;
}

async function deleteNow(client: KubeClient, pod: KubeObject): Promise<void> {
  try {
    await client.delete(PODS, pod.metadata.namespace ?? "", pod.metadata.name ?? "", {
      gracePeriodSeconds: 0,
      preconditions: { uid: pod.metadata.uid },
    });
  } catch (err) {
    if (!isObjectGone(err)) throw err;
  }
}
