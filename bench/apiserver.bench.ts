// Benchmark of the sandbox API server: create throughput and watch-delivery latency at a few
// client concurrency levels, and the memory of the API server and etcd. Prints JSON and a
// markdown table. Usage: node bench/apiserver.bench.ts [--objects N] [--out docs/bench-apiserver.json]
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { KubeClient } from "../src/kube/client.ts";
import { CONFIGMAPS } from "../src/kube/resource.ts";
import { startSandbox } from "../test/support/sandbox.ts";
import { markdownTable, percentile } from "./stats.ts";

const { values } = parseArgs({
  options: {
    objects: { type: "string", default: "2000" },
    out: { type: "string" },
    concurrency: { type: "string", default: "1,8,32,128" },
  },
});
const N = Number(values.objects);
const LEVELS = values.concurrency!.split(",").map(Number);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

async function run(client: KubeClient, ns: string, concurrency: number) {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let seen = 0;
  let done!: () => void;
  const allSeen = new Promise<void>((r) => {
    done = r;
  });
  const abort = new AbortController();
  const list = (await client.list(CONFIGMAPS, { namespace: ns })) as any;
  const watching = client
    .watch(
      CONFIGMAPS,
      { namespace: ns, resourceVersion: list.metadata.resourceVersion },
      (ev) => {
        if (ev.type !== "ADDED") return;
        const t = sentAt.get(ev.object.metadata.name!);
        if (t === undefined) return;
        latencies.push(performance.now() - t);
        if (++seen === N) done();
      },
      abort.signal,
    )
    .catch(() => {});
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < N) {
      const name = `cm-${concurrency}-${next++}`;
      sentAt.set(name, performance.now());
      await client.create(CONFIGMAPS, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace: ns },
        data: { key: "value".repeat(20) },
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const createSeconds = (performance.now() - start) / 1000;
  await allSeen;
  abort.abort();
  await watching;
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    objects: N,
    createsPerSecond: Math.round(N / createSeconds),
    watchLatencyMs: { p50: round(percentile(latencies, 0.5)), p99: round(percentile(latencies, 0.99)) },
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

const sb = await startSandbox();
try {
  const state = JSON.parse(readFileSync(`${sb.dir}/state.json`, "utf8"));
  const apiPid = state.children.apiserver;
  const etcdPid = state.children.etcd;
  const idle = { apiserverMiB: rssMiB(apiPid), etcdMiB: rssMiB(etcdPid) };
  const results = [];
  for (const c of LEVELS) {
    const ns = `bench-${c}`;
    await sb.client.create(
      { group: "", version: "v1", plural: "namespaces", namespaced: false },
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    );
    results.push(await run(sb.client, ns, c));
  }
  const loaded = { apiserverMiB: rssMiB(apiPid), etcdMiB: rssMiB(etcdPid), objects: N * LEVELS.length };
  const report = {
    benchmark: "apiserver",
    date: new Date().toISOString(),
    machine: "2 cores",
    results,
    memory: { idle, loaded },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n`);
  const table = markdownTable(
    ["concurrency", "objects", "creates/s", "watch p50 (ms)", "watch p99 (ms)"],
    results.map((r) => [
      r.concurrency,
      r.objects,
      r.createsPerSecond,
      r.watchLatencyMs.p50,
      r.watchLatencyMs.p99,
    ]),
  );
  const mem = markdownTable(
    ["state", "API server RSS (MiB)", "etcd RSS (MiB)"],
    [
      ["idle", idle.apiserverMiB, idle.etcdMiB],
      [`${loaded.objects} ConfigMaps stored`, loaded.apiserverMiB, loaded.etcdMiB],
    ],
  );
  process.stdout.write(`${table}\n\n${mem}\n`);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
} finally {
  await sb.stop();
}
