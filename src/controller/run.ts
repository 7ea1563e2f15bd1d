// raven-controller: informers + SDN backend + reconcilers, behind Lease leader election. Every
// replica keeps its caches warm; only the leader runs the work queues. Leadership is exclusive:
// every write of the leader passes a fence (its last renewal less than renewDeadline ago, by
// its own clock), so a leader frozen past its lease writes nothing when it wakes; when the
// lease is lost the queues drop their keys and in-flight writes are aborted. A replica that
// loses the lease then exits (as client-go controllers do), so a restart starts clean.
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { type AnnotationNaming, annotationKeys } from "../api/annotations.ts";
import { NETWORKS_ANNOTATION } from "../api/network-attachments.ts";
import { KubeClient, type WriteFence } from "../kube/client.ts";
import { isNotFound } from "../kube/errors.ts";
import { EventRecorder, kubeEventSink } from "../kube/events.ts";
import type { SharedInformer } from "../kube/informer.ts";
import { SharedInformerFactory } from "../kube/informer-factory.ts";
import type { KubeConfigSource } from "../kube/kubeconfig.ts";
import { kubeLeaseClient, LeaderElector } from "../kube/leader-election.ts";
import { type KubeObject, objectKey } from "../kube/objects.ts";
import {
  ENDPOINTSLICES,
  NAMESPACES,
  NETWORK_ATTACHMENT_DEFINITIONS,
  NETWORKPOLICIES,
  PODS,
  SERVICES,
} from "../kube/resource.ts";
import { runWorkers, WorkQueue } from "../kube/workqueue.ts";
import type { SdnBackend } from "../sdn/backend.ts";
import { CLUSTER_OWNER, type ControllerConfig, type ControllerDeps } from "./context.ts";
import { EndpointBatcher } from "./endpoint-batcher.ts";
import { ControllerMetrics } from "./metrics.ts";
import { NamespaceReconciler } from "./namespaces.ts";
import { NetworkPolicyReconciler } from "./network-policies.ts";
import { removeOrphans } from "./orphans.ts";
import { trimPod } from "./pod-cache.ts";
import { PodReconciler } from "./pods.ts";
import { SERVICE_NAME_LABEL, ServiceReconciler } from "./services.ts";
import { type UninstallReport, uninstall } from "./uninstall.ts";

export interface ControllerOptions {
  kubeconfig: KubeConfigSource;
  config: ControllerConfig;
  annotationPrefix: string;
  annotationNaming: AnnotationNaming;
  /** Builds the SDN backend once the client and informers exist. */
  backend: (
    client: KubeClient,
    informers: SharedInformerFactory,
    log: Logger,
    /** Where the backend registers metrics of its own (served on /metrics). */
    registry: Registry,
  ) => SdnBackend | Promise<SdnBackend>;
  leaderElection?: {
    namespace: string;
    name: string;
    identity?: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /** host:port for /healthz, /readyz and /metrics ("" = none). */
  listen: string;
  orphanResyncMs?: number;
  /**
   * Instead of reconciling: release everything Raven owns and take its marks off the cluster
   * (uninstall.ts), as leader (waiting up to this long for the lease: a running replica must be
   * stopped first), then return.
   */
  uninstall?: { leaseWaitMs: number; onDone?: (report: UninstallReport) => void };
  log: Logger;
}

const RESYNC_MS = 10 * 60_000;
/**
 * The orphan sweep's period. An owner can go while the object it owns is not yet known: a create
 * whose answer timed out (Neutron made it anyway; its next listing shows it). The sweep reads
 * only caches, so it is cheap to run often.
 */
const ORPHAN_SWEEP_MS = 60_000;

interface Informers {
  pods: SharedInformer;
  services: SharedInformer;
  namespaces: SharedInformer;
  endpointSlices: SharedInformer;
  networkPolicies: SharedInformer;
  /** NetworkAttachmentDefinitions, when the cluster has the CRD (Raven-network attachments). */
  nads?: SharedInformer;
}

/** Whether the API server serves `res` (an optional CRD's resource). */
async function served(client: KubeClient, res: typeof NETWORK_ATTACHMENT_DEFINITIONS): Promise<boolean> {
  try {
    await client.list(res, { limit: 1 });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** A write refused because this replica may no longer act as leader. */
export class NotLeaderError extends Error {}

export async function runController(opts: ControllerOptions, signal: AbortSignal): Promise<void> {
  const log = opts.log;
  const identity = opts.leaderElection?.identity ?? `${hostname()}_${process.pid}`;
  // The identity rides in the User-Agent, so an audit log tells replicas apart.
  const client = await KubeClient.fromKubeConfig(opts.kubeconfig, {
    userAgent: `raven-controller/${identity}`,
  });
  const factory = new SharedInformerFactory(client, { logger: log });
  const informers: Informers = {
    pods: factory.informerFor(PODS, {}, { resyncPeriodMs: RESYNC_MS, transform: trimPod }),
    services: factory.informerFor(SERVICES, {}, { resyncPeriodMs: RESYNC_MS }),
    namespaces: factory.informerFor(NAMESPACES, {}, { resyncPeriodMs: RESYNC_MS }),
    endpointSlices: factory.informerFor(ENDPOINTSLICES),
    networkPolicies: factory.informerFor(NETWORKPOLICIES, {}, { resyncPeriodMs: RESYNC_MS }),
  };
  if (await served(client, NETWORK_ATTACHMENT_DEFINITIONS))
    informers.nads = factory.informerFor(NETWORK_ATTACHMENT_DEFINITIONS);
  informers.endpointSlices.addIndexer("service", (s: KubeObject) => {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    return svc ? [`${s.metadata.namespace}/${svc}`] : [];
  });
  const metrics = new ControllerMetrics();
  const backend = await opts.backend(client, factory, log, metrics.registry);
  const recorder = new EventRecorder({
    sink: kubeEventSink(client),
    component: "raven-controller",
    instance: identity,
    logger: log,
    maxQueue: 5000,
  });
  const deps: ControllerDeps = {
    config: opts.config,
    client,
    backend,
    informers,
    keys: annotationKeys(opts.annotationPrefix, opts.annotationNaming),
    recorder,
    metrics,
    log,
  };

  let ready = false;
  const server = opts.listen ? await serveHealth(opts.listen, metrics, () => ready, log) : undefined;
  try {
    factory.start(signal);
    const [synced, backendReady] = await Promise.all([
      factory.waitForCacheSync(signal),
      backend.start(signal),
    ]);
    if (!synced || !backendReady) return;
    ready = true;
    log.info("caches synced");
    const work = (leadSignal: AbortSignal) =>
      opts.uninstall
        ? uninstall(deps).then((r) => opts.uninstall?.onDone?.(r))
        : lead(deps, informers, leadSignal, opts.orphanResyncMs ?? ORPHAN_SWEEP_MS);
    if (!opts.leaderElection) {
      await work(signal);
      return;
    }
    const le = opts.leaderElection;
    let led = false;
    let leadFailure: Error | undefined;
    let done = false;
    const stepDown = new AbortController();
    // An uninstall is one job: it gives up if no lease comes, and ends once done.
    const leaseWait = opts.uninstall
      ? setTimeout(() => {
          if (!led) stepDown.abort();
        }, opts.uninstall.leaseWaitMs)
      : undefined;
    const electionSignal = AbortSignal.any([signal, stepDown.signal]);
    const elector: LeaderElector = new LeaderElector({
      // The lease is written past the fence: renewing it is how the fence opens again.
      leases: kubeLeaseClient(client.sibling()),
      namespace: le.namespace,
      name: le.name,
      identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      releaseOnCancel: true,
      logger: log,
      onNewLeader: (id) => log.info({ leader: id }, "leader is now"),
      onStartedLeading: async (leadSignal) => {
        led = true;
        metrics.leader.set(1);
        log.info({ identity }, "started leading");
        client.setWriteFence(leaderFence(elector, leadSignal));
        try {
          await work(leadSignal);
          if (opts.uninstall) {
            done = true;
            stepDown.abort();
          }
        } catch (err) {
          // A leader that cannot work must not keep the lease: give it up and exit.
          leadFailure = err as Error;
          stepDown.abort();
        }
      },
      onStoppedLeading: () => {
        metrics.leader.set(0);
        log.warn({ identity }, "stopped leading");
      },
    });
    await elector.run(electionSignal);
    clearTimeout(leaseWait);
    if (leadFailure) throw leadFailure;
    if (opts.uninstall && !done && !signal.aborted)
      throw new Error(
        led
          ? "lost the leader lease during the uninstall; run it again"
          : `the lease ${le.namespace}/${le.name} is held by ${elector.getLeader() || "another replica"}: stop raven-controller first (e.g. kubectl -n ${le.namespace} scale deployment raven-controller --replicas=0)`,
      );
    if (led && !signal.aborted && !opts.uninstall) throw new Error("lost the leader lease");
  } finally {
    await recorder.close();
    await backend.stop();
    await client.close();
    server?.close();
  }
}

/** Writes pass while `elector` may act; they end (in-flight ones aborted) with `leadSignal`. */
function leaderFence(elector: LeaderElector, leadSignal: AbortSignal): WriteFence {
  return {
    signal: leadSignal,
    check: () => {
      if (leadSignal.aborted || !elector.mayAct())
        throw new NotLeaderError("not writing: this replica's leader lease may have run out");
    },
  };
}

/** The leader's work: cluster networks, orphan clean-up, then the reconcile loops. */
async function lead(
  d: ControllerDeps,
  inf: Informers,
  signal: AbortSignal,
  orphanResyncMs: number,
): Promise<void> {
  // Without the cluster networks nothing can be served: keep trying (a transient API error,
  // or a stale object of another owner being cleaned up) rather than lead without working.
  for (let delay = 200; ; delay = Math.min(delay * 2, 10_000)) {
    try {
      await ensureClusterNetworks(d);
      break;
    } catch (err) {
      d.log.warn({ err: String(err) }, "cannot ensure the cluster networks yet; retrying");
    }
    if (!(await sleepUnlessAborted(delay, signal))) return;
  }
  const namespaces = new NamespaceReconciler(d);
  const pods = new PodReconciler(d, namespaces);
  const queues = {
    pod: new WorkQueue(),
    service: new WorkQueue(),
    namespace: new WorkQueue(),
    policy: new WorkQueue(),
  };
  const policies = new NetworkPolicyReconciler(d, inf.networkPolicies);
  const policiesOfPod = (before: KubeObject | undefined, after: KubeObject | undefined) => {
    for (const key of policies.policiesTouchedByPod(before, after)) queues.policy.add(key);
  };
  const services = new ServiceReconciler(d, (key) => queues.service.add(key));
  // An address freed up: pods waiting for one on that subnet, and a namespace whose network
  // waits for its last port, are due now rather than at their backoff.
  d.backend.onAddressReleased((subnetId) => {
    if (signal.aborted) return;
    for (const key of pods.takeWaiting(subnetId)) queues.pod.add(key);
    const ns = namespaces.drainedBy(subnetId);
    if (ns) queues.namespace.add(ns);
  });
  // A node's agent bound or unbound a pod's port: the pod's port annotation shows the new status.
  d.backend.onPortStatusChanged((owner) => {
    if (!signal.aborted && owner.kind === "Pod") queues.pod.add(`${owner.namespace}/${owner.name}`);
  });
  // Orphan clean-up (best effort: the periodic resync retries it). A gone namespace's network
  // that still has ports goes to the namespace queue, which retries it as they go.
  const sweep = async (what: string) => {
    try {
      for (const owner of (await removeOrphans(d)).busyNetworks) {
        namespaces.forget(owner.name, owner.uid);
        queues.namespace.add(owner.name);
      }
    } catch (err) {
      d.log.warn({ err: String(err) }, `${what} failed; the periodic resync will retry`);
    }
  };
  // Ports handed out whose record a crash may have cut short: kept for the pods that have them.
  d.backend.reservePorts?.(
    d.informers.pods.list().flatMap((p) => {
      const id = pods.annotatedPortId(p);
      return id ? [id] : [];
    }),
  );
  await sweep("orphan clean-up");
  const podsSelecting = (nad: KubeObject) => {
    const ref = nad.metadata.name!;
    for (const p of inf.pods.list())
      if ((p.metadata.annotations?.[NETWORKS_ANNOTATION] ?? "").includes(ref)) queues.pod.add(objectKey(p));
  };
  const batcher = new EndpointBatcher(queues.service, d.config.endpointBatchMs);
  const unregister = [
    inf.pods.addEventHandler({
      onAdd: (p) => {
        queues.pod.add(objectKey(p));
        policiesOfPod(undefined, p);
      },
      onUpdate: (o, p) => {
        queues.pod.add(objectKey(p));
        policiesOfPod(o, p);
      },
      onDelete: (p) => {
        pods.forget(objectKey(p), p.metadata.uid!);
        queues.pod.add(objectKey(p));
        policiesOfPod(p, undefined);
      },
    }),
    inf.networkPolicies.addEventHandler({
      onAdd: (np) => queues.policy.add(objectKey(np)),
      onUpdate: (_o, np) => queues.policy.add(objectKey(np)),
      onDelete: (np) => {
        policies.forget(objectKey(np));
        queues.policy.add(objectKey(np));
      },
    }),
    inf.services.addEventHandler({
      onAdd: (s) => queues.service.add(objectKey(s)),
      onUpdate: (_o, s) => queues.service.add(objectKey(s)),
      onDelete: (s) => {
        services.forget(objectKey(s), s.metadata.uid!);
        queues.service.add(objectKey(s));
      },
    }),
    // Endpoint changes come in bursts (pods of a Service turning ready one after another): the
    // first goes at once, the rest of a burst folds into one load-balancer write per window.
    inf.endpointSlices.addEventHandler({
      onAdd: (e) => serviceOfSlice(e, batcher),
      onUpdate: (_o, e) => serviceOfSlice(e, batcher),
      onDelete: (e) => serviceOfSlice(e, batcher),
    }),
    // A NAD that appears or changes: the pods selecting it may need an attachment port.
    ...(inf.nads
      ? [
          inf.nads.addEventHandler({
            onAdd: (n) => podsSelecting(n),
            onUpdate: (_o, n) => podsSelecting(n),
          }),
        ]
      : []),
    inf.namespaces.addEventHandler({
      onAdd: (n) => {
        queues.namespace.add(n.metadata.name!);
        for (const key of policies.policiesReadingNamespaces()) queues.policy.add(key);
      },
      onUpdate: (o, n) => {
        queues.namespace.add(n.metadata.name!);
        if (JSON.stringify(o.metadata.labels ?? {}) !== JSON.stringify(n.metadata.labels ?? {}))
          for (const key of policies.policiesReadingNamespaces()) queues.policy.add(key);
      },
      onDelete: (n) => {
        for (const key of policies.policiesReadingNamespaces()) queues.policy.add(key);
        namespaces.forget(n.metadata.name!, n.metadata.uid!);
        queues.namespace.add(n.metadata.name!);
      },
    }),
  ];
  const depth = setInterval(() => {
    for (const [kind, q] of Object.entries(queues)) d.metrics.queueDepth.set({ kind }, q.len());
  }, 1000);
  const resync = setInterval(() => void sweep("orphan resync"), orphanResyncMs);
  const onError = (kind: string) => (key: string, err: unknown, requeues: number) =>
    (requeues < 3 ? d.log.debug : d.log.warn).call(
      d.log,
      { kind, key, err: String(err), requeues },
      "reconcile failed; retrying",
    );
  // Leadership ended: keys still queued are dropped, not handed out (another replica may lead).
  const stop = () => {
    const dropped = Object.values(queues).reduce((n, q) => n + q.len(), 0);
    for (const q of Object.values(queues)) q.shutDownNow();
    d.log.info({ dropped }, "leadership ended: queued keys dropped, in-flight writes aborted");
  };
  signal.addEventListener("abort", stop, { once: true });
  try {
    await Promise.all([
      runWorkers(
        queues.namespace,
        d.config.namespaceWorkers,
        (k) => d.metrics.observe("namespace", () => namespaces.sync(k)),
        { onError: onError("namespace"), logger: d.log },
      ),
      runWorkers(queues.pod, d.config.podWorkers, (k) => d.metrics.observe("pod", () => pods.sync(k)), {
        onError: onError("pod"),
        logger: d.log,
      }),
      runWorkers(
        queues.service,
        d.config.serviceWorkers,
        (k) => d.metrics.observe("service", () => services.sync(k)),
        { onError: onError("service"), logger: d.log },
      ),
      runWorkers(
        queues.policy,
        d.config.policyWorkers,
        (k) => d.metrics.observe("policy", () => policies.sync(k)),
        {
          onError: onError("policy"),
          logger: d.log,
        },
      ),
    ]);
  } finally {
    clearInterval(depth);
    clearInterval(resync);
    for (const u of unregister) u();
  }
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function serviceOfSlice(slice: KubeObject, batcher: EndpointBatcher): void {
  const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  if (svc) batcher.changed(`${slice.metadata.namespace}/${svc}`);
}

/** The service network (VIPs) and the external network (floating IPs) belong to the cluster. */
async function ensureClusterNetworks(d: ControllerDeps): Promise<void> {
  await d.backend.ensureNetwork({
    owner: CLUSTER_OWNER,
    name: "raven-service",
    purpose: "services",
    cidr: d.config.serviceCidr,
  });
  await d.backend.ensureNetwork({
    owner: CLUSTER_OWNER,
    name: "raven-external",
    purpose: "external",
    cidr: d.config.externalCidr,
  });
}

async function serveHealth(
  listen: string,
  metrics: ControllerMetrics,
  ready: () => boolean,
  log: Logger,
): Promise<Server> {
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i) || "127.0.0.1";
  const port = Number(listen.slice(i + 1));
  const server = createServer((req, res) => {
    if (req.url === "/healthz" || req.url === "/livez") return void res.writeHead(200).end("ok");
    if (req.url === "/readyz")
      return void res.writeHead(ready() ? 200 : 503).end(ready() ? "ok" : "caches not synced");
    if (req.url === "/metrics") {
      void metrics.registry
        .metrics()
        .then((m) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(m));
      return;
    }
    res.writeHead(404).end("not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  log.info(
    { listen: typeof addr === "object" && addr ? `${addr.address}:${addr.port}` : listen },
    "serving /healthz, /readyz, /metrics",
  );
  return server;
}
