// Benchmark of the two etcd clients against one real etcd: the JSON gateway client
// (bench/etcd-gateway-client.ts, the sandbox's old client) and the native gRPC client
// (src/sandbox/etcd/client.ts). Measures sequential puts/s, concurrent transactional creates/s
// (the API server's create: a txn guarded by create_revision = 0) and watch events/s (a watch
// replaying history), with etcd's CPU seconds (/proc/<pid>/stat) and this process's CPU
// seconds per 1,000 operations. Phases alternate between the clients, so the ratios compare
// like with like on a shared machine. Prints JSON and a markdown table.
// Note: a watch replaying history is paced by etcd 3.4 itself (an unsynced watcher gets at most
// 1,000 revisions per 100 ms sync), so events/s tops out near 10,000 for both clients; the CPU
// per event is the telling number there.
// Usage: node bench/etcd-client.bench.ts [--puts N] [--txns N] [--events N] [--concurrency C]
//        [--value-bytes B] [--rounds R] [--out FILE]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EtcdClient, prefixEnd } from "../src/sandbox/etcd/client.ts";
import { startEtcd } from "../src/sandbox/etcd/process.ts";
import { ensureEtcdPki } from "../src/sandbox/pki.ts";
import { freePort } from "../src/util/ports.ts";
import { GatewayEtcdClient } from "./etcd-gateway-client.ts";
import { markdownTable } from "./stats.ts";

const { values } = parseArgs({
  options: {
    puts: { type: "string", default: "2000" },
    txns: { type: "string", default: "5000" },
    events: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "64" },
    "value-bytes": { type: "string", default: "2048" },
    rounds: { type: "string", default: "2" },
    out: { type: "string" },
  },
});
const PUTS = Number(values.puts);
const TXNS = Number(values.txns);
const EVENTS = Number(values.events);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
// A pod-sized JSON-ish value.
const VALUE = Buffer.from(
  JSON.stringify({ data: "x".repeat(Math.max(0, Number(values["value-bytes"]) - 11)) }),
);

/** The client surface both implementations share (structural, so neither depends on the other). */
type AnyClient = Pick<EtcdClient, "put" | "txn" | "watch" | "range" | "close">;

const clockTicks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** utime + stime of a process in seconds (fields 14 and 15 of /proc/<pid>/stat). */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

const selfCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Measure {
  ops: number;
  seconds: number;
  etcdCpu: number;
  clientCpu: number;
}

async function measure(etcdPid: number, ops: number, body: () => Promise<void>): Promise<Measure> {
  const e0 = cpuSecondsOf(etcdPid);
  const c0 = selfCpuSeconds();
  const t0 = performance.now();
  await body();
  return {
    ops,
    seconds: (performance.now() - t0) / 1000,
    etcdCpu: cpuSecondsOf(etcdPid) - e0,
    clientCpu: selfCpuSeconds() - c0,
  };
}

async function sequentialPuts(c: AnyClient, prefix: string): Promise<void> {
  for (let i = 0; i < PUTS; i++) await c.put(`${prefix}${i}`, VALUE);
}

async function concurrentCreates(c: AnyClient, prefix: string): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < TXNS) {
      const key = `${prefix}${next++}`;
      const r = await c.txn(
        [{ key, target: "CREATE", createRevision: 0 }],
        [{ put: { key, value: VALUE } }],
        [{ range: { key } }],
      );
      if (!r.succeeded) throw new Error(`create of ${key} failed`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Writes EVENTS keys (not measured), then times a watch replaying them from history. */
async function prepareWatch(c: AnyClient, prefix: string): Promise<number> {
  const start = (await c.range(prefix, { end: prefixEnd(prefix), countOnly: true })).revision + 1;
  let next = 0;
  const worker = async () => {
    while (next < EVENTS) await c.put(`${prefix}${next++}`, VALUE);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return start;
}

async function watchReplay(c: AnyClient, prefix: string, from: number): Promise<void> {
  const abort = new AbortController();
  let seen = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => {
    done = r;
  });
  const watching = c
    .watch(
      prefix,
      prefixEnd(prefix),
      from,
      (b) => {
        seen += b.events.length;
        if (seen >= EVENTS) done();
      },
      abort.signal,
    )
    .catch((err) => {
      if (!abort.signal.aborted) throw err;
    });
  await Promise.race([all, watching.then(() => Promise.reject(new Error("watch ended early")))]);
  abort.abort();
  await watching;
}

const dir = mkdtempSync(join(tmpdir(), "rv-bench-etcd-"));
const etcd = await startEtcd({
  dataDir: join(dir, "data"),
  logFile: join(dir, "etcd.log"),
  clientPort: await freePort(),
  peerPort: await freePort(),
  pki: ensureEtcdPki(join(dir, "pki")),
});
const pid = etcd.child.pid!;
const clients: Record<string, AnyClient> = {
  gateway: new GatewayEtcdClient(etcd.endpoint, etcd.tls),
  grpc: new EtcdClient(etcd.endpoint, { tls: etcd.tls }),
};
type Phase = "puts" | "txns" | "watch";
const results: Record<string, Record<Phase, Measure[]>> = {};
try {
  for (const [name, c] of Object.entries(clients)) {
    results[name] = { puts: [], txns: [], watch: [] };
    // Warm-up: connections, JIT.
    for (let i = 0; i < 200; i++) await c.put(`/warm/${name}/${i}`, VALUE);
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which client goes first, so neither always runs on a fresher database.
    const order = round % 2 === 0 ? Object.keys(clients) : Object.keys(clients).reverse();
    for (const name of order) {
      const c = clients[name];
      const p = `/bench/${round}/${name}`;
      results[name].puts.push(await measure(pid, PUTS, () => sequentialPuts(c, `${p}/put/`)));
      results[name].txns.push(await measure(pid, TXNS, () => concurrentCreates(c, `${p}/txn/`)));
      const from = await prepareWatch(c, `${p}/watch/`);
      results[name].watch.push(await measure(pid, EVENTS, () => watchReplay(c, `${p}/watch/`, from)));
    }
  }
} finally {
  for (const c of Object.values(clients)) await c.close();
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}

const sum = (ms: Measure[], f: (m: Measure) => number) => ms.reduce((a, m) => a + f(m), 0);
function summarize(ms: Measure[]) {
  const ops = sum(ms, (m) => m.ops);
  return {
    perSecond: Math.round(ops / sum(ms, (m) => m.seconds)),
    etcdCpuSecondsPer1000: Math.round((sum(ms, (m) => m.etcdCpu) / ops) * 1000 * 1000) / 1000,
    clientCpuSecondsPer1000: Math.round((sum(ms, (m) => m.clientCpu) / ops) * 1000 * 1000) / 1000,
  };
}
const summary = Object.fromEntries(
  Object.entries(results).map(([name, r]) => [
    name,
    { puts: summarize(r.puts), txns: summarize(r.txns), watch: summarize(r.watch) },
  ]),
) as Record<string, Record<Phase, ReturnType<typeof summarize>>>;

const report = {
  etcdVersion: spawnSync("etcd", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0],
  params: {
    puts: PUTS,
    txns: TXNS,
    events: EVENTS,
    concurrency: CONCURRENCY,
    valueBytes: VALUE.length,
    rounds: ROUNDS,
  },
  summary,
  rounds: results,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n`);

const ratio = (a: number, b: number) => `${(b / a).toFixed(2)}x`;
const rows: unknown[][] = [];
const labels: Record<Phase, string> = {
  puts: "sequential puts",
  txns: `${CONCURRENCY}-concurrent txn creates`,
  watch: "watch events delivered",
};
for (const phase of ["puts", "txns", "watch"] as Phase[]) {
  const g = summary.gateway[phase];
  const r = summary.grpc[phase];
  const unit = phase === "watch" ? "events" : "writes";
  rows.push([`${labels[phase]} /s`, g.perSecond, r.perSecond, ratio(g.perSecond, r.perSecond)]);
  rows.push([
    `etcd CPU s per 1,000 ${unit}`,
    g.etcdCpuSecondsPer1000,
    r.etcdCpuSecondsPer1000,
    ratio(g.etcdCpuSecondsPer1000, r.etcdCpuSecondsPer1000),
  ]);
  rows.push([
    `client CPU s per 1,000 ${unit}`,
    g.clientCpuSecondsPer1000,
    r.clientCpuSecondsPer1000,
    ratio(g.clientCpuSecondsPer1000, r.clientCpuSecondsPer1000),
  ]);
}
process.stdout.write(`${markdownTable(["metric", "gateway (JSON)", "gRPC", "gRPC / gateway"], rows)}\n`);
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
