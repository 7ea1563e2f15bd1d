// Benchmark of raven-controller's steady-state latency: pods are created open-loop (a pacer
// sends each create at its scheduled time, whatever the completions) at a few target rates on
// virtual nodes, and a pod watch opened beforehand times, per pod, the moment it is seen with
// Raven's `raven.io/port` annotation and the moment it is seen Running (the virtual node sets
// Running once the annotation is there). Reports p50/p99 per rate, the achieved rate, and the
// CPU and memory of raven-controller and the sandbox's processes. Prints JSON and markdown.
//
// Usage: node bench/raven-latency.bench.ts [--rates 20,100] [--duration 30 | --pods N]
//          [--nodes 4] [--pods-per-namespace 200] [--scheduler] [--cpu-prof DIR] [--out FILE]
//          [--controller-args="--pod-workers 32"] [--controller-node-options="--max-semi-space-size=8"]
// --cpu-prof DIR profiles raven-controller, the API server and the controller-manager
// (NODE_OPTIONS=--cpu-prof) and adds each one's hot functions per rate to the JSON.
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { KubeObject, WatchEvent } from "../src/kube/objects.ts";
import { PODS } from "../src/kube/resource.ts";
import { NETWORKS, SUBNETS } from "../src/sdn/embedded/resources.ts";
import { monotonicUs, profileOf, summarizeProfile } from "./cpuprofile.ts";
import {
  allProcesses,
  apiserverLatency,
  apiserverRequests,
  type BenchSandbox,
  bottleneckOf,
  cpuBetween,
  deployedNodeOptions,
  keepWatching,
  machineSplit,
  mapLimit,
  NAMESPACE_RES,
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
import { markdownTable, percentile } from "./stats.ts";

const { values } = parseArgs({
  options: {
    rates: { type: "string", default: "20,100" },
    duration: { type: "string", default: "30" },
    pods: { type: "string" },
    nodes: { type: "string", default: "4" },
    "pods-per-namespace": { type: "string", default: "200" },
    warmup: { type: "string", default: "100" },
    scheduler: { type: "boolean", default: false },
    "settle-timeout": { type: "string", default: "120" },
    "cpu-prof": { type: "string" },
    "controller-args": { type: "string", default: "" },
    // Default: the NODE_OPTIONS of deploy/controller.yaml (pass "" for none).
    "controller-node-options": { type: "string" },
    out: { type: "string" },
  },
});
const controllerNodeOptions = values["controller-node-options"] ?? deployedNodeOptions();
const RATES = values.rates!.split(",").map(Number);
const NODES = Number(values.nodes);
const PER_NS = Number(values["pods-per-namespace"]);
const WARMUP = Number(values.warmup);
const SETTLE_MS = Number(values["settle-timeout"]) * 1000;
const LABEL = "raven-bench";
const PORT_KEY = "raven.io/port";

interface Track {
  sentAt: number;
  createdAt?: number;
  scheduledAt?: number;
  annotatedAt?: number;
  runningAt?: number;
  failed?: string;
}

const tracks = new Map<string, Track>();
let lastEventAt = 0;
let pendingDone: (() => void) | undefined;
let outstanding = 0;

function onPodEvent(ev: WatchEvent<KubeObject>): void {
  if (ev.type === "DELETED") return;
  const pod = ev.object;
  const t = tracks.get(`${pod.metadata.namespace}/${pod.metadata.name}`);
  if (!t) return;
  const now = performance.now();
  lastEventAt = now;
  const wasDone = t.annotatedAt !== undefined && t.runningAt !== undefined;
  if (t.scheduledAt === undefined && pod.spec?.nodeName) t.scheduledAt = now;
  if (t.annotatedAt === undefined && pod.metadata.annotations?.[PORT_KEY]) t.annotatedAt = now;
  if (t.runningAt === undefined && pod.status?.phase === "Running") t.runningAt = now;
  if (!wasDone && t.annotatedAt !== undefined && t.runningAt !== undefined && --outstanding === 0)
    pendingDone?.();
}

async function ensureNamespaces(sb: BenchSandbox, names: string[]): Promise<void> {
  await mapLimit(names, 16, (ns) =>
    retrying(() =>
      sb.client.create(NAMESPACE_RES, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }),
    ),
  );
  // Wait until raven-controller has given every namespace its network and subnet, as it would
  // have long before a namespace's pods arrive in a real cluster.
  const deadline = performance.now() + 60_000;
  for (;;) {
    const nets = (await sb.client.list(NETWORKS)).items;
    const subnets = (await sb.client.list(SUBNETS)).items;
    const withSubnet = new Set(subnets.map((s: any) => s.spec?.networkId));
    const ready = new Set(
      nets.filter((n: any) => withSubnet.has(n.metadata.uid)).map((n) => n.metadata.name),
    );
    if (names.every((ns) => ready.has(`pods-${ns}`))) return;
    if (performance.now() > deadline) throw new Error("namespaces did not get their networks in 60 s");
    await sleep(200);
  }
}

/** Creates `count` pods open-loop at `rate`/s and waits until each is annotated and Running. */
async function phase(sb: BenchSandbox, prefix: string, count: number, rate: number) {
  const nsCount = Math.ceil(count / PER_NS);
  const namespaces = Array.from({ length: nsCount }, (_, i) => `${prefix}-${i}`);
  await ensureNamespaces(sb, namespaces);
  const names: { ns: string; name: string; key: string; node: string }[] = [];
  for (let i = 0; i < count; i++) {
    // Round-robin over namespaces and nodes, as pods of many apps arrive interleaved.
    const ns = namespaces[i % nsCount];
    const name = `p-${i}`;
    names.push({ ns, name, key: `${ns}/${name}`, node: `virtual-node-${(i % NODES) + 1}` });
  }
  outstanding = count;
  const allDone = new Promise<void>((r) => {
    pendingDone = r;
  });
  let sendLagMax = 0;
  const sendLags: number[] = [];
  let createErrors = 0;
  const start = performance.now();
  const interval = 1000 / rate;
  // The pacer: each tick sends every create whose time has come, without waiting for any.
  await new Promise<void>((resolve) => {
    let i = 0;
    const tick = () => {
      const now = performance.now();
      while (i < count && start + i * interval <= now) {
        const p = names[i];
        const lag = now - (start + i * interval);
        sendLags.push(lag);
        sendLagMax = Math.max(sendLagMax, lag);
        const t: Track = { sentAt: performance.now() };
        tracks.set(p.key, t);
        const body = podObject(p.ns, p.name, {
          labels: { [LABEL]: "latency", app: p.ns },
          nodeName: values.scheduler ? undefined : p.node,
        });
        sb.client.create(PODS, body).then(
          () => {
            t.createdAt = performance.now();
          },
          (err) => {
            t.failed = String(err);
            createErrors++;
            if (--outstanding === 0) pendingDone?.();
          },
        );
        i++;
      }
      if (i >= count) return resolve();
      setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
    };
    tick();
  });
  const sendSeconds = (performance.now() - start) / 1000;
  const timedOut = await Promise.race([allDone.then(() => false), sleep(SETTLE_MS).then(() => true)]);
  const end = timedOut ? performance.now() : lastEventAt;
  const tr = names.map((p) => tracks.get(p.key)!);
  const lat = (f: (t: Track) => number | undefined) =>
    tr
      .map((t) => f(t))
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
  const stats = (xs: number[]) => ({
    p50: round1(percentile(xs, 0.5)),
    p90: round1(percentile(xs, 0.9)),
    p99: round1(percentile(xs, 0.99)),
    max: round1(xs[xs.length - 1] ?? Number.NaN),
  });
  sendLags.sort((a, b) => a - b);
  return {
    targetRate: rate,
    pods: count,
    namespaces: nsCount,
    // Creates sent per second of sending (the pacer's achieved rate).
    achievedRate: count > 1 ? round1((count - 1) / sendSeconds) : Number.NaN,
    sendLagMs: { p99: round1(percentile(sendLags, 0.99)), max: round1(sendLagMax) },
    createErrors,
    notDone: tr.filter((t) => !t.failed && (t.annotatedAt === undefined || t.runningAt === undefined)).length,
    createMs: stats(lat((t) => (t.createdAt === undefined ? undefined : t.createdAt - t.sentAt))),
    ...(values.scheduler
      ? {
          scheduledMs: stats(
            lat((t) => (t.scheduledAt === undefined ? undefined : t.scheduledAt - t.sentAt)),
          ),
        }
      : {}),
    annotatedMs: stats(lat((t) => (t.annotatedAt === undefined ? undefined : t.annotatedAt - t.sentAt))),
    runningMs: stats(lat((t) => (t.runningAt === undefined ? undefined : t.runningAt - t.sentAt))),
    wallSeconds: round1((end - start) / 1000),
    startedAt: start,
    endedAt: end,
  };
}

const PROF = values["cpu-prof"];
/** The machine is shared: a high load average flags a noisy run. */
const LOAD_AT_START = round2(loadavg()[0]);
const sb = await startBenchSandbox({ virtualNodes: NODES, cpuProfDir: PROF });
let ctl: RunningController | undefined;
const abort = new AbortController();
const windows: { rate: number; fromUs: number; toUs: number }[] = [];
let report: any;
try {
  ctl = await startController(sb, {
    extraArgs: values["controller-args"]!.split(" ").filter(Boolean),
    nodeOptions: controllerNodeOptions,
    cpuProfDir: PROF,
  });
  await waitControllerReady(ctl);
  const pids = {
    "raven-controller": ctl.pid,
    apiserver: sb.pids.apiserver,
    etcd: sb.pids.etcd,
    "controller-manager": sb.pids["controller-manager"],
    "bench client": process.pid,
  };
  const watch = await keepWatching(sb.client, PODS, { labelSelector: LABEL }, onPodEvent, abort.signal);

  // Warm-up (not measured): JIT, connections, the first namespace's network.
  if (WARMUP > 0) await phase(sb, "lat-warmup", WARMUP, 20);

  const results = [];
  for (const rate of RATES) {
    const count = values.pods ? Number(values.pods) : Math.round(rate * Number(values.duration));
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const mBefore = await scrapeController(ctl);
    const aBefore = await scrapeApiserver(sb.client);
    const before = snapshot(pids);
    const procsBefore = allProcesses();
    const splitBefore = machineSplit();
    const rss = new RssSampler({ "raven-controller": ctl.pid });
    const fromUs = monotonicUs();
    const r = await phase(sb, `lat-${rate}`, count, rate);
    windows.push({ rate, fromUs, toUs: monotonicUs() });
    const after = snapshot(pids);
    const others = othersBetween(procsBefore, allProcesses(), splitBefore, machineSplit(), [
      ...Object.values(pids),
      ...Object.values(sb.pids),
    ]);
    rss.stop();
    loop.disable();
    const mAfter = await scrapeController(ctl);
    const aAfter = await scrapeApiserver(sb.client);
    const cpu = cpuBetween(before, after, r.wallSeconds);
    const { startedAt: _s, endedAt: _e, ...rest } = r;
    results.push({
      ...rest,
      cpu,
      bottleneck: bottleneckOf(cpu),
      controller: {
        rssMiB: after["raven-controller"].rssMiB,
        peakRssMiB: rss.peakMiB["raven-controller"],
        cpuSeconds: cpu["raven-controller"].cpuSeconds,
        ...reconcileSummary(mAfter, mBefore),
      },
      apiserver: {
        requests: apiserverRequests(aAfter, aBefore, 12),
        meanLatencyMs: apiserverLatency(aAfter, aBefore, 8),
      },
      otherProcesses: others,
      benchEventLoopDelayP99Ms: round1(loop.percentile(99) / 1e6),
    });
  }
  abort.abort();
  await watch.done;

  report = {
    benchmark: "raven-latency",
    date: new Date().toISOString(),
    machine: "2 cores",
    loadAverage1m: { atStart: LOAD_AT_START, atEnd: round2(loadavg()[0]) },
    config: {
      virtualNodes: NODES,
      controllerArgs: values["controller-args"],
      controllerNodeOptions: controllerNodeOptions,
      podsPerNamespace: PER_NS,
      binding: values.scheduler ? "scheduler" : "spec.nodeName set by the client",
      warmupPods: WARMUP,
    },
    target: "annotation p99 <= 100 ms at 100 pods/s",
    targetMet: results.some((r) => r.targetRate >= 100)
      ? results.filter((r) => r.targetRate >= 100).every((r) => r.annotatedMs.p99 <= 100 && r.notDone === 0)
      : null,
    results,
    memory: {
      controllerRssMiB: procSample(ctl.pid).rssMiB,
      controllerPeakRssMiB: procSample(ctl.pid).hwmMiB,
      apiserverRssMiB: procSample(sb.pids.apiserver).rssMiB,
      etcdRssMiB: procSample(sb.pids.etcd).rssMiB,
    },
  };
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
    windows.map((w) => [
      `${w.rate}/s`,
      Object.fromEntries(
        Object.entries(procs).map(([name, pid]) => {
          const f = profileOf(PROF, pid);
          return [name, f ? summarizeProfile(f, w, 12) : "no profile found"];
        }),
      ),
    ]),
  );
}

const results: any[] = report.results;
process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n`);
const table = markdownTable(
  [
    "pods/s (target)",
    "achieved/s",
    "pods",
    "create p50/p99 (ms)",
    ...(values.scheduler ? ["scheduled p50/p99 (ms)"] : []),
    "annotated p50 (ms)",
    "annotated p99 (ms)",
    "annotated max (ms)",
    "Running p50 (ms)",
    "Running p99 (ms)",
    "not done",
  ],
  results.map((r) => [
    r.targetRate,
    r.achievedRate,
    r.pods,
    `${r.createMs.p50} / ${r.createMs.p99}`,
    ...(values.scheduler ? [`${r.scheduledMs.p50} / ${r.scheduledMs.p99}`] : []),
    r.annotatedMs.p50,
    r.annotatedMs.p99,
    r.annotatedMs.max,
    r.runningMs.p50,
    r.runningMs.p99,
    r.notDone + r.createErrors,
  ]),
);
const names = Object.keys(results[0]?.cpu ?? {});
const cpuTable = markdownTable(
  ["pods/s", "wall (s)", ...names.map((n) => `${n} CPU s (cores)`), "controller RSS peak (MiB)"],
  results.map((r) => [
    r.targetRate,
    r.wallSeconds,
    ...names.map((n) => `${r.cpu[n].cpuSeconds} (${r.cpu[n].cores})`),
    r.controller.peakRssMiB,
  ]),
);
process.stdout.write(`${table}\n\n${cpuTable}\n`);
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
