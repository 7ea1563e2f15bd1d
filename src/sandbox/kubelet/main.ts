// `raven sandbox kubelet --dir DIR --node NAME`: the node agent, run inside the node's network
// namespace. Wiring only: config and layout, the CRI client, Node registration and Lease, the
// pod sources (API informer + static manifests + mirror pods), the kubelet core with its
// relist loop, the probe manager and the HTTPS server for logs/exec/attach/port-forward.
import { join } from "node:path";
import { CriClient } from "../../cri/client.ts";
import { KubeClient } from "../../kube/client.ts";
import { isNotFound, isObjectGone } from "../../kube/errors.ts";
import { EventRecorder, kubeEventSink } from "../../kube/events.ts";
import { SharedInformer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { CONFIGMAPS, PODS, SECRETS } from "../../kube/resource.ts";
import { createLogger } from "../../util/log.ts";
import { readConfig } from "../config.ts";
import { IMAGE_CATALOG, resolveImage } from "../images/catalog.ts";
import { nodeLayout } from "../node/layout.ts";
import { Kubelet, type KubeletApi } from "./kubelet.ts";
import { machineInfo, NodeStatusManager } from "./node-status.ts";
import { KernelOomLog } from "./oom-log.ts";
import { isMirrorPod, StaticPodSource, syncMirrorPods } from "./pod-sources.ts";

const RELIST_MS = 1_000;
const NODE_STATUS_MS = 10_000;
const STATIC_POLL_MS = 2_000;

function nodeIndex(name: string): number {
  const m = /^node-(\d+)$/.exec(name);
  if (!m || Number(m[1]) < 1)
    throw new Error(`--node must be a sandbox node name like node-1, got "${name}"`);
  return Number(m[1]);
}

/** Retries `fn` until it resolves or the signal aborts (the API server or containerd may start later). */
async function retry<T>(what: string, fn: () => Promise<T>, signal: AbortSignal, log: any): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) throw err;
      if (attempt % 10 === 1) log.warn({ err: String(err), attempt }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 3_000)));
    }
  }
}

function kubeletApi(client: KubeClient): KubeletApi {
  const getOrUndefined = async (res: typeof CONFIGMAPS, ns: string, name: string) => {
    try {
      return await client.get(res, ns, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    async writePodStatus(namespace, name, uid, status) {
      const body = uid ? { metadata: { uid }, status } : { status };
      try {
        await client.patch(PODS, namespace, name, "merge", body, { subresource: "status" });
        return true;
      } catch (err) {
        if (isObjectGone(err)) return false;
        throw err;
      }
    },
    async deletePod(namespace, name, uid) {
      try {
        await client.delete(PODS, namespace, name, { gracePeriodSeconds: 0, preconditions: { uid } });
      } catch (err) {
        if (!isObjectGone(err)) throw err;
      }
    },
    configMap: (ns, name) => getOrUndefined(CONFIGMAPS, ns, name),
    secret: (ns, name) => getOrUndefined(SECRETS, ns, name),
  };
}

export async function runKubelet(opts: { dir: string; node: string }): Promise<void> {
  const cfg = readConfig(opts.dir);
  if (!cfg) throw new Error(`no sandbox config in ${opts.dir} (run 'raven sandbox up' first)`);
  const c = cfg as typeof cfg & { nodeCidr?: string; nodePodCidr?: string };
  const layout = nodeLayout(
    cfg.dir,
    {
      instanceId: cfg.instanceId,
      nodeCidr: c.nodeCidr ?? "10.254.0.0/24",
      nodePodCidr: c.nodePodCidr ?? "10.244.0.0/16",
    },
    nodeIndex(opts.node),
  );
  const log = createLogger(`kubelet-${layout.name}`);
  const abort = new AbortController();
  const signal = abort.signal;
  const client = await KubeClient.fromKubeConfig({ path: join(layout.root, "kubelet.kubeconfig") });
  const cri = CriClient.connect(layout.containerdSocket);
  const machine = machineInfo();

  await retry("CRI Version", () => cri.version(), signal, log);
  const nodeStatus = new NodeStatusManager(
    client,
    cri,
    { name: layout.name, nodeIp: layout.nodeIp, podCidr: layout.podCidr, kubeletPort: layout.kubeletPort },
    machine,
  );
  await retry("node registration", () => nodeStatus.register(), signal, log);
  log.info({ node: layout.name, nodeIp: layout.nodeIp }, "node registered");

  const recorder = new EventRecorder({
    sink: kubeEventSink(client),
    component: "kubelet",
    host: layout.name,
    logger: log,
  });
  const { ProbeManager } = await import("./probes/manager.ts");
  let kubelet!: Kubelet;
  const probes = new ProbeManager({
    runtime: cri,
    recorder: (uid, type, reason, message) => {
      const pod = kubelet.desiredPod(uid)?.pod;
      if (pod) recorder.event(pod, type, reason, message);
    },
    onLivenessFailure: (uid, name, id, probe) => kubelet.onLivenessFailure(uid, name, id, probe),
    onStatusChange: (uid) => kubelet.workers.update(uid),
    logger: log,
  });
  kubelet = new Kubelet({
    nodeName: layout.name,
    nodeIp: layout.nodeIp,
    podsDir: layout.podsDir,
    podLogsDir: layout.podLogsDir,
    runtime: cri,
    oomLog: KernelOomLog.open(),
    images: cri,
    api: kubeletApi(client),
    events: recorder,
    resolveImage,
    availableImages: () => IMAGE_CATALOG.map((i) => i.name),
    probes,
    log,
    memoryCapacityBytes: machine.memoryBytes,
  });

  // Pod sources. A deleted mirror pod comes back a second later (upstream: the next pod sync).
  const MIRROR_RECREATE_MS = 1000;
  const informer = new SharedInformer(
    client.listerWatcher(PODS, { fieldSelector: `spec.nodeName=${layout.name}` }),
    { name: `pods on ${layout.name}`, logger: log },
  );
  const statics = new StaticPodSource(layout.manifestsDir, layout.name, log, {
    upsert: (pod) => kubelet.upsertPod({ pod, static: true }),
    remove: (uid) => kubelet.removePod(uid),
  });
  let mirrorSync = Promise.resolve();
  const syncMirrors = (): void => {
    mirrorSync = mirrorSync
      .then(async () => {
        if (await syncMirrorPods(client, statics.pods(), informer, nodeStatus.nodeUid, log))
          setTimeout(syncMirrors, MIRROR_RECREATE_MS).unref();
      })
      .catch((err) => log.warn({ err: String(err) }, "mirror pod sync failed"));
  };
  /** A (new) mirror pod in the API: its static pod's status is written to it. */
  const mirrorCreated = (mirror: KubeObject) => {
    const m = mirror.metadata;
    const staticPod = statics
      .pods()
      .find((s) => s.metadata.name === m.name && s.metadata.namespace === m.namespace);
    if (staticPod?.metadata.uid) kubelet.mirrorPodCreated(staticPod.metadata.uid);
  };
  informer.addEventHandler({
    onAdd: (p) => {
      if (!isMirrorPod(p)) return kubelet.upsertPod({ pod: p });
      mirrorCreated(p);
      syncMirrors();
    },
    onUpdate: (o, p) => {
      if (!isMirrorPod(p)) return kubelet.upsertPod({ pod: p });
      if (o.metadata.uid !== p.metadata.uid) mirrorCreated(p);
      syncMirrors();
    },
    // A pod object gone while the kubelet still runs it was force-deleted (after a graceful
    // termination the kubelet has forgotten it already).
    onDelete: (p) =>
      isMirrorPod(p) ? syncMirrors() : kubelet.removePod(p.metadata.uid ?? "", { forced: true }),
  });
  const informerDone = informer.start(signal);
  await informer.waitForSync(signal);
  statics.poll();
  syncMirrors();

  // Adoption: what runs already is kept; back-offs continue; orphans are torn down.
  await retry("CRI relist", () => kubelet.relist(), signal, log);
  kubelet.restoreBackoffs();
  kubelet.resyncAll();

  // The HTTPS server for logs/exec/attach/port-forward.
  let server: { close(): Promise<void> } | undefined;
  try {
    const { ensureKubeletCert } = await import("./server/cert.ts");
    const { startKubeletServer } = await import("./server/server.ts");
    const cert = ensureKubeletCert(join(cfg.dir, "pki"), layout);
    server = await startKubeletServer({
      host: layout.nodeIp,
      port: layout.kubeletPort,
      certFile: cert.certFile,
      keyFile: cert.keyFile,
      // Only the API server (which presents the sandbox's kubelet token) may exec into pods.
      authToken: cfg.tokens.kubelet?.token,
      runtime: cri,
      pods: kubelet,
      log,
    });
  } catch (err) {
    log.error({ err: String(err) }, "kubelet server did not start (logs/exec/port-forward unavailable)");
  }

  const timers = [
    setInterval(
      () => void kubelet.relist().catch((err) => log.warn({ err: String(err) }, "relist failed")),
      RELIST_MS,
    ),
    setInterval(() => {
      void nodeStatus
        .updateStatus()
        .catch((err) => log.warn({ err: String(err) }, "node status update failed"));
      void nodeStatus.renewLease().catch((err) => log.warn({ err: String(err) }, "lease renewal failed"));
    }, NODE_STATUS_MS),
    setInterval(() => {
      statics.poll();
      syncMirrors();
    }, STATIC_POLL_MS),
  ];
  log.info({ node: layout.name, pods: informer.listKeys().length }, "kubelet running");

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  // Stopping the kubelet leaves pods running: the next kubelet adopts them.
  log.info({}, "kubelet stopping");
  for (const t of timers) clearInterval(t);
  abort.abort();
  probes.stop();
  await kubelet.stop();
  await server?.close().catch(() => {});
  await informerDone;
  await recorder.close();
  await mirrorSync;
  cri.close();
  await client.close();
}
