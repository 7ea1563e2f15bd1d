// Benchmark of raven-controller's cold start: a cluster that already holds N pods (on virtual
// nodes, waiting for Raven's port annotation, as pods wait for a CNI) and S Services (each
// selecting ~N/S of those pods, some with an externalIP) before raven-controller starts. The
// controller is then started and timed until the cluster is fully reconciled:
//   - every pod carries `raven.io/port` and is Running (the virtual node sets Running and the
//     pod IP once the annotation is there), and
//   - every Service carries `raven.io/lb-vip` and `raven.io/lb-pool` (plus
//     `raven.io/floating-ip` when it has an externalIP), its pool annotation lists one member
//     per selected pod, and its LoadBalancer's members are exactly the ready addresses of its
//     EndpointSlices (which the EndpointSlice controller fills as pods turn Running).
// Reports the set-up time separately, the time to full reconciliation (and to each part),
// the controller's peak RSS, and CPU seconds per process (which side is the bottleneck).
//
// Usage: node bench/raven-coldstart.bench.ts [--pods 10000] [--services 1000] [--nodes 10]
//          [--pods-per-namespace 200] [--external-ips 100] [--concurrency 64]
//          [--timeout 600] [--cpu-prof DIR] [--heap-snapshot DIR] [--out FILE]
//          [--controller-args="--pod-workers 32"] [--controller-node-options="--max-semi-space-size=8"]
// --cpu-prof DIR profiles raven-controller, the API server and the controller-manager
// (NODE_OPTIONS=--cpu-prof) and adds each one's hot functions during the cold start to the JSON;
// --heap-snapshot DIR writes a heap snapshot of raven-controller once it is fully reconciled.
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import type { KubeObject, WatchEvent } from "../src/kube/objects.ts";
import { ENDPOINTSLICES, PODS, SERVICES } from "../src/kube/resource.ts";
import { LOADBALANCERS } from "../src/sdn/embedded/resources.ts";
import { monotonicUs, profileOf, summarizeProfile } from "./cpuprofile.ts";
import {
  allProcesses,
  apiserverLatency,
  apiserverRequests,
  bottleneckOf,
  type CpuUse,
  cpuBetween,
  deployedNodeOptions,
  keepWatching,
  machineSplit,
  mapLimit,
  NAMESPACE_RES,
  nodeMemory,
  othersBetween,
  podObject,
  procSample,
  RssSampler,
  type RunningController,
  reconcileSummary,
  retrying,
  round1,
  round2,
  scrapeApiserver,
  scrapeController,
  sleep,
  snapshot,
  startBenchSandbox,
  startController,
  waitControllerReady,
} from "./raven-harness.ts";
import { markdownTable } from "./stats.ts";

const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "10000" },
    services: { type: "string", default: "1000" },
    nodes: { type: "string", default: "10" },
    "pods-per-namespace": { type: "string", default: "200" },
    "external-ips": { type: "string", default: "100" },
    concurrency: { type: "string", default: "64" },
    timeout: { type: "string", default: "600" },
    "cpu-prof": { type: "string" },
    "controller-args": { type: "string", default: "" },
    // Default: the NODE_OPTIONS of deploy/controller.yaml (pass "" for none).
    "controller-node-options": { type: "string" },
    "heap-snapshot": { type: "string" },
    out: { type: "string" },
  },
});
const controllerNodeOptions = values["controller-node-options"] ?? deployedNodeOptions();
const P = Number(values.pods);
const S = Number(values.services);
const NODES = Number(values.nodes);
const CONCURRENCY = Number(values.concurrency);
const TIMEOUT_MS = Number(values.timeout) * 1000;
/** Pods each Service selects. */
const K = Math.max(1, Math.floor(P / Math.max(S, 1)));
/** Pods per namespace: a multiple of K, so no Service's pods straddle two namespaces. */
const PER_NS = Math.max(K, Math.floor(Number(values["pods-per-namespace"]) / K) * K);
const NS_COUNT = Math.ceil(P / PER_NS);
/** The external /24 has ~250 addresses; one per Service with an externalIP. */
const EXTERNAL = Math.min(Number(values["external-ips"]), S, 240);
const LABEL = "raven-bench";
const KEYS = {
  port: "raven.io/port",
  vip: "raven.io/lb-vip",
  pool: "raven.io/lb-pool",
  fip: "raven.io/floating-ip",
};

const nsOfPod = (i: number) => `cold-${Math.floor(i / PER_NS)}`;
const svcOfPod = (i: number) => (Math.floor(i / K) < S ? Math.floor(i / K) : -1);
const nsOfSvc = (s: number) => nsOfPod(s * K);

// ---------------------------------------------------------------------------------------------
// What the benchmark sees (its own watches, opened before the controller starts)

interface PodState {
  annotated: boolean;
  running: boolean;
  settled: boolean;
}
const pods = new Map<string, PodState>();
let podsAnnotated = 0;
let podsRunning = 0;
let podsSettled = 0;

interface SvcWant {
  /** Pods it selects. */
  expected: number;
  external: boolean;
}
const wantSvc = new Map<string, SvcWant>();
const services = new Map<string, KubeObject>();
/** slice key -> [service key, ready addresses]. */
const slices = new Map<string, { svc: string; ready: string[] }>();
/** Service key -> its slices' keys. */
const slicesOf = new Map<string, Set<string>>();
/** LoadBalancer (= Service) key -> member addresses, sorted. */
const lbMembers = new Map<string, string[]>();
const svcDone = new Set<string>();

const milestones: Record<string, number> = {};
let t0 = 0;
let onProgress: (() => void) | undefined;
const mark = (name: string) => {
  if (t0 && milestones[name] === undefined) milestones[name] = round2((performance.now() - t0) / 1000);
};

const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;

function onPod(ev: WatchEvent<KubeObject>): void {
  const pod = ev.object;
  const key = keyOf(pod);
  if (ev.type === "DELETED") return;
  let s = pods.get(key);
  if (!s) {
    s = { annotated: false, running: false, settled: false };
    pods.set(key, s);
  }
  if (!s.settled && pod.status?.containerStatuses?.length) {
    s.settled = true;
    podsSettled++;
  }
  if (!s.annotated && pod.metadata.annotations?.[KEYS.port]) {
    s.annotated = true;
    if (++podsAnnotated === P) mark("allPodsAnnotated");
  }
  if (!s.running && pod.status?.phase === "Running") {
    s.running = true;
    if (++podsRunning === P) mark("allPodsRunning");
  }
  onProgress?.();
}

function onService(ev: WatchEvent<KubeObject>): void {
  const key = keyOf(ev.object);
  if (ev.type === "DELETED") services.delete(key);
  else services.set(key, ev.object);
  recheck(key);
}

function onSlice(ev: WatchEvent<KubeObject>): void {
  const key = keyOf(ev.object);
  const svcName = ev.object.metadata.labels?.["kubernetes.io/service-name"];
  if (!svcName) return;
  const svc = `${ev.object.metadata.namespace}/${svcName}`;
  if (ev.type === "DELETED") {
    slices.delete(key);
    slicesOf.get(svc)?.delete(key);
  } else {
    const ready: string[] = [];
    for (const ep of (ev.object as any).endpoints ?? [])
      if (ep.conditions?.ready !== false) ready.push(...(ep.addresses ?? []));
    slices.set(key, { svc, ready });
    if (!slicesOf.has(svc)) slicesOf.set(svc, new Set());
    slicesOf.get(svc)!.add(key);
  }
  recheck(svc);
}

function onLoadBalancer(ev: WatchEvent<KubeObject>): void {
  const key = keyOf(ev.object);
  if (ev.type === "DELETED") lbMembers.delete(key);
  else {
    const members: string[] = [];
    for (const pool of (ev.object as any).spec?.pools ?? [])
      for (const m of pool.members ?? []) members.push(m.address);
    lbMembers.set(key, members.sort());
  }
  recheck(key);
}

/** Is the Service fully reconciled (see the header)? */
function serviceReconciled(key: string): boolean {
  const want = wantSvc.get(key);
  const svc = services.get(key);
  if (!want || !svc) return false;
  const a = svc.metadata.annotations ?? {};
  if (!a[KEYS.vip] || !a[KEYS.pool]) return false;
  if (want.external && !a[KEYS.fip]) return false;
  let poolMembers = -1;
  try {
    poolMembers = JSON.parse(a[KEYS.pool])?.members?.length ?? -1;
  } catch {
    return false;
  }
  if (poolMembers !== want.expected) return false;
  const ready = new Set<string>();
  for (const s of slicesOf.get(key) ?? []) for (const ip of slices.get(s)?.ready ?? []) ready.add(ip);
  if (ready.size !== want.expected) return false;
  const members = lbMembers.get(key) ?? [];
  return members.length === ready.size && members.every((m) => ready.has(m));
}

function recheck(key: string): void {
  if (!wantSvc.has(key)) return;
  const done = serviceReconciled(key);
  if (done && !svcDone.has(key)) {
    svcDone.add(key);
    if (svcDone.size === S) mark("allServicesReconciled");
  } else if (!done && svcDone.has(key)) svcDone.delete(key);
  onProgress?.();
}

const allDone = () => podsAnnotated === P && podsRunning === P && svcDone.size === S;

// ---------------------------------------------------------------------------------------------

const PROF = values["cpu-prof"];
/** The machine is shared: a high load average flags a noisy run. */
const LOAD_AT_START = round2(loadavg()[0]);
const sb = await startBenchSandbox({ virtualNodes: NODES, serviceCidr: "10.96.0.0/16", cpuProfDir: PROF });
let ctl: RunningController | undefined;
const abort = new AbortController();
let report: any;
const window = { fromUs: 0, toUs: 0 };
try {
  const watches = [
    await keepWatching(sb.client, PODS, { labelSelector: LABEL }, onPod, abort.signal),
    await keepWatching(sb.client, SERVICES, { labelSelector: LABEL }, onService, abort.signal),
    await keepWatching(sb.client, ENDPOINTSLICES, {}, onSlice, abort.signal),
    await keepWatching(sb.client, LOADBALANCERS, {}, onLoadBalancer, abort.signal),
  ];

  // ---- Set-up: namespaces, Services, then pods, with many creates in flight.
  const setupStart = performance.now();
  const sandboxPids = {
    apiserver: sb.pids.apiserver,
    etcd: sb.pids.etcd,
    "controller-manager": sb.pids["controller-manager"],
    "bench client": process.pid,
  };
  const setupBefore = snapshot(sandboxPids);
  const namespaces = Array.from({ length: NS_COUNT }, (_, i) => `cold-${i}`);
  await mapLimit(namespaces, 16, (ns) =>
    retrying(() =>
      sb.client.create(NAMESPACE_RES, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns },
      }),
    ),
  );
  const svcIdx = Array.from({ length: S }, (_, s) => s);
  for (const s of svcIdx) {
    const expected = Array.from({ length: K }, (_, j) => s * K + j).filter((i) => i < P).length;
    wantSvc.set(`${nsOfSvc(s)}/svc-${s}`, { expected, external: s < EXTERNAL });
  }
  await mapLimit(svcIdx, CONCURRENCY, (s) =>
    retrying(() =>
      sb.client.create(SERVICES, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: `svc-${s}`, namespace: nsOfSvc(s), labels: { [LABEL]: "coldstart" } },
        spec: {
          selector: { app: `svc-${s}` },
          ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
          ...(s < EXTERNAL ? { externalIPs: [`172.16.0.${10 + s}`] } : {}),
        },
      } as KubeObject),
    ),
  );
  const servicesCreated = performance.now();
  const podIdx = Array.from({ length: P }, (_, i) => i);
  await mapLimit(podIdx, CONCURRENCY, (i) =>
    retrying(() =>
      sb.client.create(
        PODS,
        podObject(nsOfPod(i), `pod-${i}`, {
          labels: { [LABEL]: "coldstart", app: svcOfPod(i) >= 0 ? `svc-${svcOfPod(i)}` : "none" },
          nodeName: `virtual-node-${(i % NODES) + 1}`,
        }),
      ),
    ),
  );
  const podsCreated = performance.now();
  // Settled: every pod has been seen by its virtual node (ContainerCreating, waiting for
  // Raven), every Service has its (empty) EndpointSlice, and the controller-manager is idle.
  const settleDeadline = performance.now() + 300_000;
  while (podsSettled < P || [...wantSvc.keys()].some((k) => !slicesOf.get(k)?.size)) {
    if (performance.now() > settleDeadline) throw new Error("the cluster did not settle in 300 s");
    await sleep(250);
  }
  for (let quiet = 0; quiet < 2 && performance.now() < settleDeadline; ) {
    const a = procSample(sb.pids["controller-manager"]).cpu;
    await sleep(1000);
    quiet = procSample(sb.pids["controller-manager"]).cpu - a < 0.1 ? quiet + 1 : 0;
  }
  const settled = performance.now();
  const setupCpu = cpuBetween(setupBefore, snapshot(sandboxPids), (settled - setupStart) / 1000);
  const setup = {
    seconds: round1((settled - setupStart) / 1000),
    namespacesAndServicesSeconds: round1((servicesCreated - setupStart) / 1000),
    podCreatesSeconds: round1((podsCreated - servicesCreated) / 1000),
    podCreatesPerSecond: Math.round(P / ((podsCreated - servicesCreated) / 1000)),
    settleSeconds: round1((settled - podsCreated) / 1000),
    clientConcurrency: CONCURRENCY,
    cpu: setupCpu,
  };
  process.stderr.write(`set-up done in ${setup.seconds} s; starting raven-controller\n`);

  // ---- The cold start.
  const aBefore = await scrapeApiserver(sb.client);
  const before = snapshot(sandboxPids);
  const procsBefore = allProcesses();
  const splitBefore = machineSplit();
  t0 = performance.now();
  window.fromUs = monotonicUs();
  ctl = await startController(sb, {
    extraArgs: values["controller-args"]!.split(" ").filter(Boolean),
    nodeOptions: controllerNodeOptions,
    cpuProfDir: PROF,
    heapSnapshotDir: values["heap-snapshot"],
  });
  const pids = { "raven-controller": ctl.pid, ...sandboxPids };
  const ctlBefore = { "raven-controller": { cpu: 0, rssMiB: 0, hwmMiB: 0, writeSyscalls: 0 } };
  const rss = new RssSampler({ "raven-controller": ctl.pid }, 100);
  const timeline: { t: number; annotated: number; running: number; services: number; rssMiB: number }[] = [];
  const sampler = setInterval(() => {
    timeline.push({
      t: round1((performance.now() - t0) / 1000),
      annotated: podsAnnotated,
      running: podsRunning,
      services: svcDone.size,
      rssMiB: procSample(ctl!.pid).rssMiB,
    });
  }, 2000);
  void waitControllerReady(ctl, TIMEOUT_MS)
    .then(() => mark("controllerReady"))
    .catch(() => {});
  const finished = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), TIMEOUT_MS);
    onProgress = () => {
      if (!allDone()) return;
      clearTimeout(timer);
      resolve(true);
    };
    onProgress();
  });
  const end = performance.now();
  window.toUs = monotonicUs();
  onProgress = undefined;
  mark("fullyReconciled");
  clearInterval(sampler);
  rss.stop();
  const wall = (end - t0) / 1000;
  const after = snapshot(pids);
  const others = othersBetween(procsBefore, allProcesses(), splitBefore, machineSplit(), [
    ...Object.values(pids),
    ...Object.values(sb.pids),
  ]);
  const cpu = cpuBetween({ ...before, ...ctlBefore }, after, wall);
  const mCtl = await scrapeController(ctl);
  const aAfter = await scrapeApiserver(sb.client);
  const heapSnapshot = values["heap-snapshot"] ? await ctl.heapSnapshot() : undefined;
  const peakRss = Math.max(rss.peakMiB["raven-controller"] ?? 0, after["raven-controller"].hwmMiB);

  report = {
    benchmark: "raven-coldstart",
    date: new Date().toISOString(),
    machine: "2 cores",
    loadAverage1m: { atStart: LOAD_AT_START, atEnd: round2(loadavg()[0]) },
    config: {
      pods: P,
      services: S,
      podsPerService: K,
      namespaces: NS_COUNT,
      podsPerNamespace: PER_NS,
      servicesWithExternalIp: EXTERNAL,
      virtualNodes: NODES,
      controllerArgs: values["controller-args"],
      controllerNodeOptions: controllerNodeOptions,
      workload: "bare pods (spec.nodeName set), one ClusterIP Service per K pods",
    },
    setup,
    coldStart: {
      finished,
      seconds: round2(wall),
      milestones,
      progressAtEnd: { podsAnnotated, podsRunning, servicesReconciled: svcDone.size },
      controllerPeakRssMiB: peakRss,
      controllerRssAtEndMiB: after["raven-controller"].rssMiB,
      cpu,
      bottleneck: bottleneckOf(cpu),
      otherProcesses: others,
      controller: { ...reconcileSummary(mCtl), memoryMiB: nodeMemory(mCtl, "raven_controller_") },
      apiserver: {
        requests: apiserverRequests(aAfter, aBefore, 20),
        meanLatencyMs: apiserverLatency(aAfter, aBefore, 10),
      },
      timeline,
      ...(heapSnapshot ? { heapSnapshot } : {}),
    },
    targets: {
      fullyReconciledSeconds: { target: 30, got: round1(wall), met: finished && wall <= 30 },
      controllerPeakRssMiB: { target: 300, got: peakRss, met: peakRss <= 300 },
    },
    memoryAtEndMiB: {
      apiserver: after.apiserver.rssMiB,
      etcd: after.etcd.rssMiB,
      "controller-manager": after["controller-manager"].rssMiB,
    },
  };
  abort.abort();
  await Promise.all(watches.map((w) => w.done));
} finally {
  abort.abort();
  await ctl?.stop();
  await sb.stop();
}

// Profiles are written when the processes exit, so they are read after the clean-up.
if (PROF && ctl) {
  const procs = {
    "raven-controller": ctl.pid,
    apiserver: sb.pids.apiserver,
    "controller-manager": sb.pids["controller-manager"],
  };
  report.profiles = Object.fromEntries(
    Object.entries(procs).map(([name, pid]) => {
      const f = profileOf(PROF, pid);
      return [name, f ? summarizeProfile(f, window, 15) : "no profile found"];
    }),
  );
}
process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n`);
const cs = report.coldStart;
const m = (k: string) => milestones[k] ?? "-";
const table = markdownTable(
  [
    "pods",
    "Services",
    "set-up (s)",
    "controller ready (s)",
    "all pods annotated (s)",
    "all pods Running (s)",
    "all Services reconciled (s)",
    "fully reconciled (s)",
    "controller peak RSS (MiB)",
  ],
  [
    [
      P,
      S,
      report.setup.seconds,
      m("controllerReady"),
      m("allPodsAnnotated"),
      m("allPodsRunning"),
      m("allServicesReconciled"),
      cs.finished ? round1(cs.seconds) : `not in ${round1(cs.seconds)}`,
      cs.controllerPeakRssMiB,
    ],
  ],
);
const cpuTable = markdownTable(
  ["process", "CPU s during cold start", "cores (CPU s / wall s)", "write syscalls"],
  Object.entries(cs.cpu as Record<string, CpuUse>).map(([k, v]) => [
    k,
    v.cpuSeconds,
    v.cores,
    v.writeSyscalls ?? "",
  ]),
);
process.stdout.write(`${table}\n\n${cpuTable}\n`);
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
