// Shared machinery of the raven-controller benchmarks: a sandbox whose raven-controller the
// benchmark starts itself (so it knows its PID, flags and start time), per-process CPU and
// memory from /proc, Prometheus scrapes, a self-restarting watch, and a bounded-concurrency map.
import { type ChildProcess, spawn } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeClient } from "../src/kube/client.ts";
import { isAlreadyExists, isGone } from "../src/kube/errors.ts";
import type { KubeObject, WatchEvent } from "../src/kube/objects.ts";
import type { ApiResource } from "../src/kube/resource.ts";
import { instanceIdFor } from "../src/sandbox/config.ts";
import { freePort } from "../src/util/ports.ts";
import { run } from "../test/support/sandbox.ts";

export { deployedNodeOptions } from "../src/sandbox/deployed-node-options.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RAVEN = join(ROOT, "bin", "raven");
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux we run on). */
const CLK_TCK = 100;

export const round1 = (x: number) => Math.round(x * 10) / 10;
export const round2 = (x: number) => Math.round(x * 100) / 100;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The sandbox

export interface BenchSandbox {
  dir: string;
  kubeconfig: string;
  client: KubeClient;
  /** PIDs of the sandbox's processes (etcd, apiserver, controller-manager) and the supervisor. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * A sandbox with the embedded backend's CRDs installed, virtual pods waiting for Raven's port
 * annotation, and no raven-controller (the benchmark starts it). `serviceCidr` is written
 * into the sandbox config before the first start (the default /24 holds only 253 ClusterIPs).
 */
export async function startBenchSandbox(opts: {
  virtualNodes: number;
  serviceCidr?: string;
  /** Run the sandbox's Node processes (API server, controller-manager) with --cpu-prof into this dir. */
  cpuProfDir?: string;
  /** Write DIR/logs/audit.log (one line per API request), for diagnosis. */
  audit?: boolean;
  /** neutron: the sandbox also runs Neutron and Octavia (DIR/openstack/clouds.yaml). Default embedded. */
  backend?: "embedded" | "neutron";
}): Promise<BenchSandbox> {
  const dir = mkdtempSync(join(tmpdir(), "raven-bench-"));
  if (opts.serviceCidr)
    writeFileSync(join(dir, "config.json"), `${JSON.stringify({ serviceCidr: opts.serviceCidr })}\n`, {
      mode: 0o600,
    });
  let stopped = false;
  const down = async () => {
    if (stopped) return;
    stopped = true;
    await run(RAVEN, ["sandbox", "down", "--dir", dir], { timeoutMs: 120_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (opts.cpuProfDir) {
    mkdirSync(opts.cpuProfDir, { recursive: true });
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --cpu-prof --cpu-prof-dir=${opts.cpuProfDir}`.trim();
  }
  const up = await run(
    RAVEN,
    [
      "sandbox",
      "up",
      "--detach",
      "--dir",
      dir,
      "--virtual-nodes",
      String(opts.virtualNodes),
      // Virtual nodes only: a real node's containerd would only add noise to the controller's numbers.
      "--nodes",
      "0",
      "--backend",
      opts.backend ?? "embedded",
      "--no-raven-controller",
      ...(opts.audit ? ["--audit"] : []),
    ],
    { timeoutMs: 120_000, env },
  );
  if (up.code !== 0) {
    await down();
    throw new Error(`sandbox up failed (${up.code}): ${up.stderr}${up.stdout}`);
  }
  const kubeconfig = join(dir, "kubeconfig");
  // Many creates in flight: one connection each, as kubectl/client-go would open at most a few
  // hundred; 256 is plenty for the concurrency the benchmarks use.
  const client = await KubeClient.fromKubeConfig({ path: kubeconfig });
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  return {
    dir,
    kubeconfig,
    client,
    pids: { supervisor: state.pid, ...state.children },
    stop: async () => {
      if (!stopped) await client.close();
      await down();
    },
  };
}

/** The sandbox config (ports, CIDRs) as `raven sandbox up` wrote it. */
export function sandboxConfig(dir: string): { serviceCidr: string; podCidr: string; externalCidr: string } {
  return JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
}

// ---------------------------------------------------------------------------------------------
// raven-controller as a child process

export interface RunningController {
  pid: number;
  child: ChildProcess;
  metricsUrl: string;
  /** performance.now() when the process was spawned. */
  spawnedAt: number;
  logFile: string;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process has exited. */
  stop(timeoutMs?: number): Promise<void>;
  /** Asks for a heap snapshot (needs heapSnapshotDir) and waits until it is written; answers its path. */
  heapSnapshot(): Promise<string | undefined>;
}

export async function startController(
  sb: BenchSandbox,
  opts: {
    extraArgs?: string[];
    /** Added to the controller's NODE_OPTIONS (e.g. "--max-old-space-size=192"). */
    nodeOptions?: string;
    cpuProfDir?: string;
    /** Enables `heapSnapshot()`: SIGUSR2 writes a heap snapshot into this dir. */
    heapSnapshotDir?: string;
    logName?: string;
    /** neutron: against the sandbox's Neutron and Octavia. Default embedded. */
    backend?: "embedded" | "neutron";
  } = {},
): Promise<RunningController> {
  const cfg = sandboxConfig(sb.dir);
  const port = await freePort();
  const logFile = join(sb.dir, "logs", opts.logName ?? "bench-raven-controller.log");
  const fd = openSync(logFile, "a");
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  if (opts.cpuProfDir) {
    mkdirSync(opts.cpuProfDir, { recursive: true });
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --cpu-prof --cpu-prof-dir=${opts.cpuProfDir}`.trim();
  }
  if (opts.nodeOptions) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} ${opts.nodeOptions}`.trim();
  const neutron = opts.backend === "neutron";
  if (neutron) env.OS_CLIENT_CONFIG_FILE = join(sb.dir, "openstack", "clouds.yaml");
  if (opts.heapSnapshotDir) {
    mkdirSync(opts.heapSnapshotDir, { recursive: true });
    env.NODE_OPTIONS =
      `${env.NODE_OPTIONS ?? ""} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${opts.heapSnapshotDir}`.trim();
  }
  const spawnedAt = performance.now();
  // bin/raven execs node, so the child's PID is the controller's.
  const child = spawn(
    RAVEN,
    [
      "controller",
      "--kubeconfig",
      join(sb.dir, "raven-controller.kubeconfig"),
      "--backend",
      opts.backend ?? "embedded",
      ...(neutron ? ["--os-cloud", "raven-sandbox", "--cluster-id", instanceIdFor(sb.dir)] : []),
      "--pod-cidr",
      cfg.podCidr,
      "--service-cidr",
      cfg.serviceCidr,
      "--external-cidr",
      cfg.externalCidr,
      "--listen",
      `127.0.0.1:${port}`,
      "--no-leader-elect",
      ...(opts.extraArgs ?? []),
    ],
    { stdio: ["ignore", fd, fd], env },
  );
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    pid: child.pid!,
    child,
    metricsUrl: `http://127.0.0.1:${port}`,
    spawnedAt,
    logFile,
    heapSnapshot: async () => {
      const dir = opts.heapSnapshotDir;
      if (!dir) return undefined;
      const mine = () =>
        readdirSync(dir).filter((f) => f.endsWith(".heapsnapshot") && f.includes(`.${child.pid}.`));
      const known = new Set(mine());
      child.kill("SIGUSR2");
      // The file appears at once and grows while V8 writes it; done when its size holds still.
      for (let last = -1, i = 0; i < 1200; i++) {
        await sleep(500);
        const f = mine().find((x) => !known.has(x));
        if (!f) continue;
        const size = statSync(join(dir, f)).size;
        if (size > 0 && size === last) return join(dir, f);
        last = size;
      }
      return undefined;
    },
    stop: async (timeoutMs = 20_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Polls the controller's /readyz until 200 (caches synced); answers when, or throws. */
export async function waitControllerReady(c: RunningController, timeoutMs = 120_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (c.child.exitCode !== null)
      throw new Error(`raven-controller exited (${c.child.exitCode}); see ${c.logFile}`);
    try {
      const r = await fetch(`${c.metricsUrl}/readyz`);
      await r.text();
      if (r.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error("raven-controller did not become ready in time");
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// /proc: CPU seconds and memory per process

export interface ProcSample {
  /** utime + stime, seconds. */
  cpu: number;
  rssMiB: number;
  /** Peak RSS (VmHWM) so far, MiB. */
  hwmMiB: number;
  /** write-type syscalls so far (/proc/PID/io syscw): socket sends are most of a component's. */
  writeSyscalls: number;
}

export function procSample(pid: number): ProcSample {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpu = (Number(f[11]) + Number(f[12])) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
    const io = readFileSync(`/proc/${pid}/io`, "utf8");
    const writeSyscalls = Number(/syscw:\s+(\d+)/.exec(io)?.[1] ?? Number.NaN);
    return {
      cpu,
      rssMiB: Math.round(kb("VmRSS") / 1024),
      hwmMiB: Math.round(kb("VmHWM") / 1024),
      writeSyscalls,
    };
  } catch {
    return { cpu: Number.NaN, rssMiB: Number.NaN, hwmMiB: Number.NaN, writeSyscalls: Number.NaN };
  }
}

/** This process (the benchmark client) as a ProcSample. */
export function selfSample(): ProcSample {
  return procSample(process.pid);
}

/** CPU seconds of every process on the machine, by PID (with a short command line). */
export function allProcesses(): Map<number, { cpu: number; cmd: string }> {
  const out = new Map<number, { cpu: number; cmd: string }>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim();
      out.set(Number(d), {
        cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK,
        cmd: (cmd || stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")))
          .replace(/\/work\/main\//g, "")
          .slice(0, 100),
      });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The machine's CPU time split: user+nice, system, irq+softirq (e.g. loopback networking), steal. */
export function machineSplit(): Record<string, number> {
  const c = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return {
    user: (c[0] + c[1]) / CLK_TCK,
    system: c[2] / CLK_TCK,
    irq: (c[5] + c[6]) / CLK_TCK,
    steal: (c[7] ?? 0) / CLK_TCK,
  };
}

/**
 * What else used the machine between two allProcesses() calls: the busiest processes not in
 * `ours` (PIDs), and the kernel's interrupt time (not charged to any process).
 */
export function othersBetween(
  a: ReturnType<typeof allProcesses>,
  b: ReturnType<typeof allProcesses>,
  splitA: Record<string, number>,
  splitB: Record<string, number>,
  ours: number[],
  top = 5,
) {
  const mine = new Set(ours);
  const rows: { pid: number; cpuSeconds: number; cmd: string }[] = [];
  for (const [pid, x] of b) {
    if (mine.has(pid)) continue;
    const d = x.cpu - (a.get(pid)?.cpu ?? 0);
    if (d >= 0.05) rows.push({ pid, cpuSeconds: round2(d), cmd: x.cmd });
  }
  return {
    kernelIrqSeconds: round2(splitB.irq - splitA.irq),
    stealSeconds: round2(splitB.steal - splitA.steal),
    busiest: rows.sort((x, y) => y.cpuSeconds - x.cpuSeconds).slice(0, top),
  };
}

/** Busy CPU seconds of the whole machine since boot (every process, ours or not). */
export function machineBusySeconds(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...: all but idle and iowait.
  const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] ?? 0);
  return busy / CLK_TCK;
}

export type Snapshot = Record<string, ProcSample>;

/** The processes' samples, plus "other processes" (the machine's busy CPU minus theirs). */
export function snapshot(pids: Record<string, number>): Snapshot {
  const out: Snapshot = {};
  let ours = 0;
  for (const [name, pid] of Object.entries(pids)) {
    out[name] = procSample(pid);
    ours += Number.isFinite(out[name].cpu) ? out[name].cpu : 0;
  }
  out[OTHERS] = {
    cpu: machineBusySeconds() - ours,
    rssMiB: Number.NaN,
    hwmMiB: Number.NaN,
    writeSyscalls: Number.NaN,
  };
  return out;
}

/** The pseudo-process of snapshot(): everything else running on the (shared) machine. */
export const OTHERS = "other processes";

export interface CpuUse {
  /** CPU seconds used between the two snapshots. */
  cpuSeconds: number;
  /** cpuSeconds / wall seconds: 1.0 = one core busy all the time. */
  cores: number;
  /** write syscalls between the two snapshots (null when unknown). */
  writeSyscalls: number | null;
}

export function cpuBetween(a: Snapshot, b: Snapshot, wallSeconds: number): Record<string, CpuUse> {
  const out: Record<string, CpuUse> = {};
  for (const name of Object.keys(a)) {
    if (!b[name]) continue;
    const s = round2(b[name].cpu - a[name].cpu);
    const w = b[name].writeSyscalls - a[name].writeSyscalls;
    out[name] = {
      cpuSeconds: s,
      cores: round2(s / wallSeconds),
      writeSyscalls: Number.isFinite(w) ? w : null,
    };
  }
  return out;
}

/** The busiest of the cluster's processes (not the benchmark client, not other processes). */
export function bottleneckOf(cpu: Record<string, CpuUse>): string {
  return Object.entries(cpu)
    .filter(([k]) => k !== "bench client" && k !== OTHERS)
    .sort((a, b) => b[1].cores - a[1].cores)[0][0];
}

/** Samples RSS of some processes every `everyMs` and keeps the peak of each. */
export class RssSampler {
  readonly peakMiB: Record<string, number> = {};
  private readonly timer: NodeJS.Timeout;

  constructor(pids: Record<string, number>, everyMs = 200) {
    const tick = () => {
      for (const [name, pid] of Object.entries(pids)) {
        const { rssMiB } = procSample(pid);
        if (Number.isFinite(rssMiB)) this.peakMiB[name] = Math.max(this.peakMiB[name] ?? 0, rssMiB);
      }
    };
    tick();
    this.timer = setInterval(tick, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Prometheus text format

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sums of the samples called `name`, grouped by the labels listed (joined with " "). */
export function sumBy(samples: Sample[], name: string, by: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const k = by.map((b) => s.labels[b] ?? "").join(" ");
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

/** a - b per key (keys of a), dropping zeros. */
export function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) {
    const d = round2(v - (b[k] ?? 0));
    if (d !== 0) out[k] = d;
  }
  return out;
}

export async function scrapeController(c: RunningController): Promise<Sample[]> {
  try {
    const r = await fetch(`${c.metricsUrl}/metrics`);
    return parsePrometheus(await r.text());
  } catch {
    return [];
  }
}

export async function scrapeApiserver(client: KubeClient): Promise<Sample[]> {
  try {
    return parsePrometheus(String(await client.raw("GET", "/metrics")));
  } catch {
    return [];
  }
}

/** The controller's per-kind reconcile counts and mean reconcile time (ms). */
export function reconcileSummary(samples: Sample[], before: Sample[] = []) {
  const count = diff(
    sumBy(samples, "raven_reconcile_duration_seconds_count", ["kind"]),
    sumBy(before, "raven_reconcile_duration_seconds_count", ["kind"]),
  );
  const sum = diff(
    sumBy(samples, "raven_reconcile_duration_seconds_sum", ["kind"]),
    sumBy(before, "raven_reconcile_duration_seconds_sum", ["kind"]),
  );
  const out: Record<string, { reconciles: number; meanMs: number; busySeconds: number }> = {};
  for (const [kind, n] of Object.entries(count))
    out[kind] = {
      reconciles: n,
      meanMs: round1(((sum[kind] ?? 0) / n) * 1000),
      busySeconds: round1(sum[kind] ?? 0),
    };
  const errors = diff(
    sumBy(samples, "raven_reconcile_total", ["kind", "result"]),
    sumBy(before, "raven_reconcile_total", ["kind", "result"]),
  );
  const backendOps = diff(
    sumBy(samples, "raven_backend_operations_total", ["op", "result"]),
    sumBy(before, "raven_backend_operations_total", ["op", "result"]),
  );
  return { perKind: out, results: errors, backendOps };
}

/** Memory of a Node process from prom-client's default metrics (prefix as registered), MiB. */
export function nodeMemory(samples: Sample[], prefix: string) {
  const one = (n: string) => {
    const v = samples.find((s) => s.name === `${prefix}${n}`)?.value;
    return v === undefined ? Number.NaN : Math.round(v / 2 ** 20);
  };
  const spaces: Record<string, number> = {};
  for (const s of samples)
    if (s.name === `${prefix}nodejs_heap_space_size_used_bytes`)
      spaces[s.labels.space] = Math.round(s.value / 2 ** 20);
  return {
    rss: one("process_resident_memory_bytes"),
    heapTotal: one("nodejs_heap_size_total_bytes"),
    heapUsed: one("nodejs_heap_size_used_bytes"),
    external: one("nodejs_external_memory_bytes"),
    heapSpacesUsed: spaces,
  };
}

/** The API server's requests by "verb resource code" between two scrapes, most first. */
export function apiserverRequests(after: Sample[], before: Sample[], top = 15): Record<string, number> {
  const d = diff(
    sumBy(after, "apiserver_request_total", ["verb", "resource", "code"]),
    sumBy(before, "apiserver_request_total", ["verb", "resource", "code"]),
  );
  return Object.fromEntries(
    Object.entries(d)
      .sort((a, b) => b[1] - a[1])
      .slice(0, top),
  );
}

/** Mean latency (ms) per "verb resource" from the API server's histogram, between two scrapes. */
export function apiserverLatency(after: Sample[], before: Sample[], top = 10): Record<string, number> {
  const n = diff(
    sumBy(after, "apiserver_request_duration_seconds_count", ["verb", "resource"]),
    sumBy(before, "apiserver_request_duration_seconds_count", ["verb", "resource"]),
  );
  const s = diff(
    sumBy(after, "apiserver_request_duration_seconds_sum", ["verb", "resource"]),
    sumBy(before, "apiserver_request_duration_seconds_sum", ["verb", "resource"]),
  );
  return Object.fromEntries(
    Object.entries(n)
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, c]) => [k, round1(((s[k] ?? 0) / c) * 1000)]),
  );
}

// ---------------------------------------------------------------------------------------------
// A watch that survives the server ending it (timeouts) and 410s (relists)

/**
 * Lists `res` (with `labelSelector`), hands every listed object to `onEvent` as ADDED, then
 * watches from the list's resourceVersion, reopening the watch when the server ends it. Answers
 * once the first list is done (so the watch is open before the caller starts writing).
 */
export async function keepWatching(
  client: KubeClient,
  res: ApiResource,
  opts: { labelSelector?: string },
  onEvent: (ev: WatchEvent<KubeObject>) => void,
  signal: AbortSignal,
): Promise<{ done: Promise<void> }> {
  const relist = async (): Promise<string> => {
    let rv = "";
    let cont: string | undefined;
    do {
      const page = (await client.list(res, {
        labelSelector: opts.labelSelector,
        limit: 1000,
        continue: cont,
      })) as any;
      for (const o of page.items) onEvent({ type: "ADDED", object: o });
      rv = page.metadata.resourceVersion;
      cont = page.metadata.continue;
    } while (cont);
    return rv;
  };
  let rv = await relist();
  const done = (async () => {
    while (!signal.aborted) {
      try {
        await client.watch(
          res,
          {
            labelSelector: opts.labelSelector,
            resourceVersion: rv,
            allowWatchBookmarks: true,
            timeoutSeconds: 600,
          },
          (ev) => {
            if (ev.object?.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
            if (ev.type !== "BOOKMARK") onEvent(ev as WatchEvent<KubeObject>);
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) return;
        if (isGone(err)) rv = await relist();
        else await sleep(200);
      }
    }
  })();
  return { done };
}

// ---------------------------------------------------------------------------------------------
// Bounded concurrency

/** Runs `fn` over `items` with at most `concurrency` in flight; rethrows the first failure. */
export async function mapLimit<T>(
  items: T[],
  concurrency: number,
  fn: (item: T, i: number) => Promise<unknown>,
) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Retries `fn` on transient failures (connection resets, 429/5xx) a few times; AlreadyExists counts as done. */
export async function retrying<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (isAlreadyExists(err)) return undefined as T; // an earlier attempt got through
      const code = (err as any)?.code;
      const transient = typeof code !== "number" || code === 429 || code >= 500;
      if (!transient || i >= attempts - 1) throw err;
      await sleep(100 * 2 ** i);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Objects

export const NAMESPACE_RES: ApiResource = {
  group: "",
  version: "v1",
  plural: "namespaces",
  namespaced: false,
};

export function podObject(
  namespace: string,
  name: string,
  opts: { labels?: Record<string, string>; nodeName?: string },
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: opts.labels },
    spec: {
      ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
      containers: [{ name: "app", image: "registry.k8s.io/pause:3.10", ports: [{ containerPort: 8080 }] }],
      terminationGracePeriodSeconds: 0,
    },
  } as KubeObject;
}
