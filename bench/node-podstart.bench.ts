// Benchmark of a sandbox node running real containers: N busybox pods created at once on one
// node (containerd + runc + CNI + our kubelet), timed per pod from the create request to the
// first watch event showing phase Running, and to the first showing the Ready condition. Run
// twice in one go: with the reference CNI plugins (bridge + host-local, no Raven) and with Raven
// (raven-controller gives each pod a port, raven-cni and raven-agent bind it), so the ratio
// compares like with like on a noisy machine: both sandboxes run side by side and their rounds
// alternate (each count `--repeat` times, the order flipped every time), so a busy spell of the
// machine falls on both. The pods are deleted (and gone) between rounds; the percentiles are over
// every pod of every repeat. Prints JSON and a markdown table.
// Usage: node bench/node-podstart.bench.ts [--counts=1,10,50] [--repeat=5] [--backends=none,embedded] [--out=FILE]
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import type { KubeClient } from "../src/kube/client.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { PODS } from "../src/kube/resource.ts";
import { startSandbox } from "../test/support/sandbox.ts";
import { markdownTable, percentile } from "./stats.ts";

const { values } = parseArgs({
  options: {
    counts: { type: "string", default: "1,10,50" },
    repeat: { type: "string", default: "5" },
    backends: { type: "string", default: "none,embedded" },
    out: { type: "string" },
  },
});
const COUNTS = values.counts!.split(",").map(Number);
const REPEAT = Number(values.repeat);
const NS = "default";
const round1 = (x: number) => Math.round(x * 10) / 10;

const podObject = (name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: NS, labels: { bench: "podstart" } },
  spec: {
    containers: [{ name: "app", image: "busybox", command: ["sleep", "3600"] }],
    terminationGracePeriodSeconds: 1,
  },
});

const isReady = (p: KubeObject): boolean =>
  (p as any).status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True") ?? false;

async function round(client: KubeClient, n: number, tag: string) {
  const sentAt = new Map<string, number>();
  const running = new Map<string, number>();
  const ready = new Map<string, number>();
  let allDone!: () => void;
  const done = new Promise<void>((r) => {
    allDone = r;
  });
  const abort = new AbortController();
  const list = await client.list(PODS, { namespace: NS });
  const watching = client
    .watch(
      PODS,
      { namespace: NS, resourceVersion: list.metadata.resourceVersion },
      (ev) => {
        const p = ev.object as any;
        const t0 = sentAt.get(p?.metadata?.name);
        if (t0 === undefined) return;
        const now = performance.now();
        if (p.status?.phase === "Running" && !running.has(p.metadata.name))
          running.set(p.metadata.name, now - t0);
        if (isReady(p) && !ready.has(p.metadata.name)) ready.set(p.metadata.name, now - t0);
        if (ready.size === n && running.size === n) allDone();
      },
      abort.signal,
    )
    .catch(() => {});
  const start = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const name = `bench-${tag}-${i}`;
      sentAt.set(name, performance.now());
      await client.create(PODS, podObject(name));
    }),
  );
  const timeout = new Promise<void>((r) => setTimeout(r, 300_000).unref());
  await Promise.race([done, timeout]);
  const wallSeconds = (performance.now() - start) / 1000;
  abort.abort();
  await watching;
  const r = [...running.values()].sort((a, b) => a - b);
  const d = [...ready.values()].sort((a, b) => a - b);
  // Clean up and wait until the node has torn every pod down.
  await client.deleteCollection(PODS, NS, { labelSelector: "bench=podstart" });
  for (;;) {
    const left = await client.list(PODS, { namespace: NS, labelSelector: "bench=podstart" });
    if (!left.items.length) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  return { running: r, ready: d, notDone: n - Math.min(running.size, ready.size), wallSeconds };
}

/** The rounds of one CNI and count, pooled. */
function summary(n: number, rounds: Awaited<ReturnType<typeof round>>[]) {
  const r = rounds.flatMap((x) => x.running).sort((a, b) => a - b);
  const d = rounds.flatMap((x) => x.ready).sort((a, b) => a - b);
  const walls = rounds.map((x) => x.wallSeconds).sort((a, b) => a - b);
  return {
    pods: n,
    rounds: rounds.length,
    runningMs: {
      p50: round1(percentile(r, 0.5)),
      p99: round1(percentile(r, 0.99)),
      max: round1(r.at(-1) ?? Number.NaN),
    },
    readyMs: {
      p50: round1(percentile(d, 0.5)),
      p99: round1(percentile(d, 0.99)),
      max: round1(d.at(-1) ?? Number.NaN),
    },
    notDone: rounds.reduce((sum, x) => sum + x.notDone, 0),
    /** All Ready, median over the rounds. */
    wallSeconds: round1(percentile(walls, 0.5)),
  };
}

const BACKENDS = values.backends!.split(",") as ("none" | "embedded")[];
const CNI_NAME = { none: "bridge + host-local", embedded: "raven-cni" };
const sandboxes: { backend: "none" | "embedded"; sb: Awaited<ReturnType<typeof startSandbox>> }[] = [];
const samples = new Map<string, Awaited<ReturnType<typeof round>>[]>();
try {
  for (const backend of BACKENDS) {
    const sb = await startSandbox({ nodes: 1, backend });
    sandboxes.push({ backend, sb });
    // The node is up once it is Ready; a first pod warms the image snapshots.
    await round(sb.client, 1, "warmup");
  }
  for (let rep = 0; rep < REPEAT; rep++)
    for (const n of COUNTS)
      for (const { backend, sb } of rep % 2 ? [...sandboxes].reverse() : sandboxes) {
        const key = `${backend}/${n}`;
        samples.set(key, [...(samples.get(key) ?? []), await round(sb.client, n, `${n}-${rep}`)]);
      }
} finally {
  for (const { sb } of sandboxes) await sb.stop();
}
const results = BACKENDS.flatMap((backend) =>
  COUNTS.map((n) => ({ cni: CNI_NAME[backend], ...summary(n, samples.get(`${backend}/${n}`) ?? []) })),
);

const ratios = COUNTS.map((n) => {
  const ref = results.find((r) => r.pods === n && r.cni === CNI_NAME.none);
  const raven = results.find((r) => r.pods === n && r.cni === CNI_NAME.embedded);
  return {
    pods: n,
    readyP50: ref && raven ? Math.round((raven.readyMs.p50 / ref.readyMs.p50) * 100) / 100 : Number.NaN,
    readyP99: ref && raven ? Math.round((raven.readyMs.p99 / ref.readyMs.p99) * 100) / 100 : Number.NaN,
  };
});
const report = {
  benchmark: "node pod start (created -> Running / Ready), one real node, reference CNI vs raven-cni",
  date: new Date().toISOString(),
  loadAverage1m: round1(loadavg()[0]),
  results,
  ratios,
};
const json = JSON.stringify(report, null, 2);
if (values.out) writeFileSync(values.out, `${json}\n`);
console.log(json);
console.log();
console.log(
  markdownTable(
    [
      "CNI",
      "pods at once",
      "rounds",
      "Running p50 (ms)",
      "Running p99 (ms)",
      "Ready p50 (ms)",
      "Ready p99 (ms)",
      "all Ready, median round (s)",
      "not done",
    ],
    results.map((r) => [
      r.cni,
      r.pods,
      r.rounds,
      r.runningMs.p50,
      r.runningMs.p99,
      r.readyMs.p50,
      r.readyMs.p99,
      r.wallSeconds,
      r.notDone,
    ]),
  ),
);
console.log();
console.log(
  markdownTable(
    ["pods at once", "Ready p50 raven / reference", "Ready p99 raven / reference"],
    ratios.map((r) => [r.pods, r.readyP50, r.readyP99]),
  ),
);
