// Virtual nodes: Nodes whose pods run no containers. A pod bound to one is marked Running and
// Ready at once, with its IP taken from Raven's port annotation when present, so controllers
// and benchmarks can run thousands of pods on two cores. The annotation
// `sandbox.raven.io/ready: "false"` makes a virtual pod NotReady (to exercise readiness).
import { parsePortAnnotation } from "../../api/annotations.ts";
import { isConflict, isNotFound } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import { formatMicroTime, formatTime, type KubeObject, objectKey, splitKey } from "../../kube/objects.ts";
import { LEASES, NODES, PODS } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";

export const VIRTUAL_NODE_LABEL = "sandbox.raven.io/virtual";
export const READY_ANNOTATION = "sandbox.raven.io/ready";
const KUBELET_VERSION = "v1.33.1-raven";

export interface VirtualNodeOptions {
  count: number;
  /** Annotation holding the pod's port as JSON with fixed_ips[0].ip_address (Raven's). */
  portAnnotation: string;
  /** Keep pods ContainerCreating until the port annotation exists (as a CNI waiting for Raven would). */
  waitForPortAnnotation: boolean;
}

export const virtualNodeName = (i: number) => `virtual-node-${i}`;

/** The pod IP from a Raven port annotation value, if it holds a valid one. */
export function ipFromPortAnnotation(key: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return parsePortAnnotation(key, value).fixed_ips[0].ip_address;
  } catch {
    return undefined;
  }
}

export class VirtualNodes implements Controller {
  readonly name = "virtual-nodes";
  private readonly opts: VirtualNodeOptions;
  private readonly queue = new WorkQueue();
  private pods!: SharedInformer;
  private readonly nodeNames: Set<string>;
  /** Fallback pod IPs per node (10.254.<node>.<n>) when no port annotation is used. */
  private readonly fallback = new Map<string, string>();
  private nextFallback = 0;
  /**
   * The resourceVersion of our latest status patch per pod: a sync on a cache that has not
   * seen it yet (the pod was queued again meanwhile by an older event) would patch the same
   * status once more, a no-op that still costs the API server a whole patch.
   */
  private readonly patchedAt = new Map<string, bigint>();

  constructor(opts: VirtualNodeOptions) {
    this.opts = opts;
    this.nodeNames = new Set(Array.from({ length: opts.count }, (_, i) => virtualNodeName(i + 1)));
  }

  setup(ctx: ControllerContext): void {
    if (!this.opts.count) return;
    this.pods = ctx.informers.informerFor(PODS);
    const mine = (p: KubeObject) => this.nodeNames.has(p.spec?.nodeName);
    this.pods.addEventHandler({
      onAdd: (p) => mine(p) && this.queue.add(objectKey(p)),
      onUpdate: (_o, p) => mine(p) && this.queue.add(objectKey(p)),
      onDelete: (p) => {
        this.fallback.delete(p.metadata.uid!);
        this.patchedAt.delete(objectKey(p));
      },
    });
  }

  async run(ctx: ControllerContext): Promise<void> {
    if (!this.opts.count) return;
    for (const name of this.nodeNames) await this.register(ctx, name);
    const heartbeat = setInterval(() => {
      for (const name of this.nodeNames) void this.renewLease(ctx, name).catch(() => {});
    }, 10_000);
    ctx.signal.addEventListener("abort", () => clearInterval(heartbeat), { once: true });
    // Each sync waits on one API round trip, and these workers stand for the status managers
    // of all the virtual nodes together: enough that they keep up with thousands of pods
    // starting at once (a cold start of raven-controller) rather than trailing behind.
    await runQueue(ctx, this.name, this.queue, 64, (key) => this.sync(ctx, key));
  }

  private nodeObject(name: string): any {
    const now = formatTime();
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        labels: {
          "kubernetes.io/hostname": name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          [VIRTUAL_NODE_LABEL]: "true",
        },
      },
      spec: {},
      status: {
        capacity: { cpu: "64", memory: "256Gi", pods: "10000", "ephemeral-storage": "1Ti" },
        allocatable: { cpu: "64", memory: "256Gi", pods: "10000", "ephemeral-storage": "1Ti" },
        conditions: [
          cond(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
          ),
          cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
          cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
          cond("Ready", "True", "KubeletReady", "virtual kubelet is posting ready status"),
        ],
        addresses: [{ type: "Hostname", address: name }],
        nodeInfo: {
          machineID: "",
          systemUUID: "",
          bootID: "",
          kernelVersion: "virtual",
          osImage: "Raven virtual node",
          containerRuntimeVersion: "virtual://1.0.0",
          kubeletVersion: KUBELET_VERSION,
          kubeProxyVersion: "",
          operatingSystem: "linux",
          architecture: "amd64",
        },
      },
    };
  }

  private async register(ctx: ControllerContext, name: string): Promise<void> {
    const node = this.nodeObject(name);
    try {
      await ctx.client.create(NODES, {
        apiVersion: "v1",
        kind: "Node",
        metadata: node.metadata,
        spec: node.spec,
      });
    } catch (err) {
      if (!isConflict(err) && !(err as any)?.code) throw err;
    }
    await ctx.client.patch(NODES, "", name, "merge", { status: node.status }, { subresource: "status" });
    await this.renewLease(ctx, name);
  }

  private async renewLease(ctx: ControllerContext, name: string): Promise<void> {
    const spec = { holderIdentity: name, leaseDurationSeconds: 40, renewTime: formatMicroTime() };
    try {
      await ctx.client.patch(LEASES, "kube-node-lease", name, "merge", { spec });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await ctx.client.create(LEASES, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace: "kube-node-lease" },
        spec,
      });
    }
  }

  private podIp(pod: any): string | undefined {
    const fromPort = ipFromPortAnnotation(
      this.opts.portAnnotation,
      pod.metadata.annotations?.[this.opts.portAnnotation],
    );
    // hostNetwork pods never get a port: they use the node's network, so they need not wait.
    if (fromPort || (this.opts.waitForPortAnnotation && !pod.spec?.hostNetwork)) return fromPort;
    let ip = this.fallback.get(pod.metadata.uid);
    if (!ip) {
      const n = this.nextFallback++;
      ip = `10.254.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`;
      this.fallback.set(pod.metadata.uid, ip);
    }
    return ip;
  }

  private async sync(ctx: ControllerContext, key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod) return;
    if (this.cachePredatesOurPatch(key, pod)) return; // our patch's event will queue it again
    const { namespace, name } = splitKey(key);
    if (pod.metadata.deletionTimestamp) {
      // Nothing runs, so termination is immediate.
      try {
        await ctx.client.delete(PODS, namespace, name, {
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid },
        });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
      return;
    }
    // A finished pod stays finished (a kubelet never revives one).
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    const status = this.desiredStatus(pod);
    if (JSON.stringify(stripTimes(status)) === JSON.stringify(stripTimes(pod.status ?? {}))) return;
    try {
      const out = await ctx.client.patch(
        PODS,
        namespace,
        name,
        "merge",
        { metadata: { resourceVersion: pod.metadata.resourceVersion }, status },
        { subresource: "status" },
      );
      const rv = out?.metadata?.resourceVersion;
      if (rv && /^\d+$/.test(rv)) this.patchedAt.set(key, BigInt(rv));
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  private cachePredatesOurPatch(key: string, pod: KubeObject): boolean {
    const patched = this.patchedAt.get(key);
    const rv = pod.metadata.resourceVersion;
    if (patched === undefined) return false;
    if (rv && /^\d+$/.test(rv) && BigInt(rv) < patched) return true;
    this.patchedAt.delete(key); // caught up (or versions that do not compare)
    return false;
  }

  private desiredStatus(pod: any): any {
    const now = formatTime();
    const ip = this.podIp(pod);
    const old = pod.status ?? {};
    const started = old.startTime ?? now;
    const wantReady = ip !== undefined && pod.metadata.annotations?.[READY_ANNOTATION] !== "false";
    const prevCond = (type: string) => (old.conditions ?? []).find((c: any) => c.type === type);
    const cond = (type: string, ok: boolean, reason?: string) => {
      const status = ok ? "True" : "False";
      const prev = prevCond(type);
      return {
        type,
        status,
        lastProbeTime: null,
        lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : now,
        ...(reason && !ok ? { reason } : {}),
      };
    };
    const containers = (pod.spec.containers ?? []).map((c: any) => {
      const prev = (old.containerStatuses ?? []).find((s: any) => s.name === c.name);
      return ip === undefined
        ? {
            name: c.name,
            image: c.image,
            imageID: "",
            ready: false,
            restartCount: 0,
            started: false,
            state: { waiting: { reason: "ContainerCreating" } },
          }
        : {
            name: c.name,
            image: c.image,
            imageID: `virtual://${c.image}`,
            containerID: `virtual://${pod.metadata.uid}/${c.name}`,
            ready: wantReady,
            restartCount: 0,
            started: true,
            state: { running: { startedAt: prev?.state?.running?.startedAt ?? now } },
          };
    });
    const initContainers = (pod.spec.initContainers ?? []).map((c: any) => ({
      name: c.name,
      image: c.image,
      imageID: `virtual://${c.image}`,
      containerID: `virtual://${pod.metadata.uid}/${c.name}`,
      ready: true,
      restartCount: 0,
      started: false,
      state: { terminated: { exitCode: 0, reason: "Completed", startedAt: started, finishedAt: started } },
    }));
    const status: any = {
      phase: ip === undefined ? "Pending" : "Running",
      conditions: [
        cond("PodReadyToStartContainers", ip !== undefined),
        cond("Initialized", true),
        cond("Ready", wantReady, "ContainersNotReady"),
        cond("ContainersReady", wantReady, "ContainersNotReady"),
        cond("PodScheduled", true),
      ],
      hostIP: "",
      startTime: started,
      containerStatuses: containers,
      qosClass: old.qosClass ?? "BestEffort",
    };
    if (initContainers.length) status.initContainerStatuses = initContainers;
    if (ip) {
      status.podIP = ip;
      status.podIPs = [{ ip }];
    }
    return status;
  }
}

/**
 * Status without timestamps and without the fields a merge patch drops (null, ""), with object
 * keys sorted (the server answers them in its own order), for deciding whether anything
 * changed: comparing those would re-patch every pod once more. A plain walk rather than a JSON
 * round trip: it runs for every pod event.
 */
export function stripTimes(status: any): unknown {
  if (Array.isArray(status)) return status.map((v) => (v === null || v === "" ? null : stripTimes(v)));
  if (status === null || typeof status !== "object") return status;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(status).sort()) {
    const v = status[k];
    if (v === undefined || v === null || v === "" || typeof v === "function") continue;
    if (k.endsWith("Time") || k === "startedAt" || k === "finishedAt") continue;
    out[k] = stripTimes(v);
  }
  return out;
}
