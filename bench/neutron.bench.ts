// The neutron backend against the sandbox's real Neutron and Octavia (virtual nodes, so the
// numbers are Raven's and OpenStack's, not containerd's):
// - pod created -> network ready (the port annotation on the pod), without and with port pools,
//   rounds alternating between two controllers started one after the other, each burst spread
//   over the virtual nodes;
// - Neutron/Octavia calls per pod and per Service (raven_openstack_requests_total);
// - controller cold start with N pods waiting (created while no controller runs).
// Prints JSON and markdown tables. Usage: node bench/neutron.bench.ts [--burst=20] [--rounds=3] [--cold=1000]
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import type { KubeClient } from "../src/kube/client.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { DEPLOYMENTS, ENDPOINTSLICES, PODS, SERVICES } from "../src/kube/resource.ts";
import {
  mapLimit,
  NAMESPACE_RES,
  podObject,
  type RunningController,
  round1,
  scrapeController,
  sleep,
  startBenchSandbox,
  startController,
  sumBy,
  waitControllerReady,
} from "./raven-harness.ts";
import { markdownTable, percentile } from "./stats.ts";

const { values } = parseArgs({
  options: {
    burst: { type: "string", default: "20" },
    rounds: { type: "string", default: "3" },
    cold: { type: "string", default: "1000" },
    out: { type: "string" },
  },
});
const BURST = Number(values.burst);
const ROUNDS = Number(values.rounds);
const COLD = Number(values.cold);
const NODES = 2;
const POOL = [
  "--port-pool-min",
  String(BURST),
  "--port-pool-batch",
  String(BURST),
  "--port-pool-max",
  String(2 * BURST),
];
const KEY = "raven.io/port";

const annotated = (p: KubeObject) => Boolean(p.metadata.annotations?.[KEY]);

async function openstackCalls(c: RunningController): Promise<Record<string, number>> {
  return sumBy(await scrapeController(c), "raven_openstack_requests_total", ["service", "method"]);
}
const totalCalls = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

/** Polls until `pred` holds for the pods labelled `sel`; answers each pod's ms from `sentAt` to when it first held. */
async function timePods(
  client: KubeClient,
  sel: string,
  sentAt: Map<string, number>,
  timeoutMs: number,
): Promise<Map<string, number>> {
  const done = new Map<string, number>();
  const deadline = performance.now() + timeoutMs;
  while (done.size < sentAt.size && performance.now() < deadline) {
    const list = await client.list(PODS, { namespace: "default", labelSelector: sel });
    const now = performance.now();
    for (const p of list.items)
      if (annotated(p) && !done.has(p.metadata.name!))
        done.set(p.metadata.name!, now - sentAt.get(p.metadata.name!)!);
    await sleep(20);
  }
  return done;
}

async function deleteAndWait(client: KubeClient, sel: string): Promise<void> {
  await client.deleteCollection(PODS, "default", { labelSelector: sel });
  for (;;) {
    if (!(await client.list(PODS, { namespace: "default", labelSelector: sel })).items.length) return;
    await sleep(200);
  }
}

/** One burst: BURST pods at once, spread over the virtual nodes; ms to each pod's port annotation. */
async function burst(client: KubeClient, tag: string): Promise<number[]> {
  const sel = `bench=${tag}`;
  const sentAt = new Map<string, number>();
  await Promise.all(
    Array.from({ length: BURST }, async (_, i) => {
      const name = `${tag}-${i}`;
      sentAt.set(name, performance.now());
      await client.create(
        PODS,
        podObject("default", name, { labels: { bench: tag }, nodeName: `virtual-node-${(i % NODES) + 1}` }),
      );
    }),
  );
  const done = await timePods(client, sel, sentAt, 300_000);
  await deleteAndWait(client, sel);
  return [...done.values()];
}

const sb = await startBenchSandbox({ virtualNodes: NODES, backend: "neutron" });
const report: Record<string, unknown> = {};
try {
  const client = sb.client;
  const latencies = { unpooled: [] as number[], pooled: [] as number[] };
  const callsPerPod = { unpooled: [] as number[], pooled: [] as number[] };
  let perService: Record<string, number> | undefined;
  for (let r = 0; r < ROUNDS; r++)
    for (const mode of r % 2 ? (["pooled", "unpooled"] as const) : (["unpooled", "pooled"] as const)) {
      const c = await startController(sb, {
        backend: "neutron",
        extraArgs: mode === "pooled" ? POOL : [],
        logName: `bench-${mode}-${r}.log`,
      });
      try {
        await waitControllerReady(c);
        if (mode === "pooled") {
          // Warm the pools: a pod per node makes them; wait until they are full.
          await burstWarm(client, `warm-${r}`);
        }
        const before = await openstackCalls(c);
        latencies[mode].push(...(await burst(client, `${mode}-${r}`)));
        const after = await openstackCalls(c);
        callsPerPod[mode].push((totalCalls(after) - totalCalls(before)) / BURST);
        if (mode === "unpooled" && !perService) perService = await serviceCalls(client, c);
      } finally {
        await c.stop();
      }
    }
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { n: s.length, p50: round1(percentile(s, 0.5)), p99: round1(percentile(s, 0.99)) };
  };
  const u = stats(latencies.unpooled);
  const p = stats(latencies.pooled);
  const mean = (xs: number[]) => round1(xs.reduce((a, b) => a + b, 0) / xs.length);
  Object.assign(report, {
    networkReady: { unpooled: u, pooled: p, ratioP50: Math.round((p.p50 / u.p50) * 100) / 100 },
    callsPerPod: { unpooled: mean(callsPerPod.unpooled), pooled: mean(callsPerPod.pooled) },
    callsPerService: perService,
  });
  if (COLD > 0) report.coldStart = await coldStart(client, COLD);
} finally {
  await sb.stop();
}

/** Two pods (one per node) start the pools; then wait until each node's pool is full. */
async function burstWarm(client: KubeClient, tag: string): Promise<void> {
  for (let i = 0; i < NODES; i++)
    await client.create(
      PODS,
      podObject("default", `${tag}-${i}`, { labels: { bench: tag }, nodeName: `virtual-node-${i + 1}` }),
    );
  await timePods(
    client,
    `bench=${tag}`,
    new Map(Array.from({ length: NODES }, (_, i) => [`${tag}-${i}`, 0])),
    120_000,
  );
  await deleteAndWait(client, `bench=${tag}`);
  // The pooled ports are Neutron ports named raven-pool: count them through the API the CLI uses.
  const { execFileSync } = await import("node:child_process");
  const env = { ...process.env, OS_CLIENT_CONFIG_FILE: `${sb.dir}/openstack/clouds.yaml` };
  for (let i = 0; i < 600; i++) {
    const n = JSON.parse(
      execFileSync(
        "openstack",
        ["--os-cloud", "raven-sandbox", "port", "list", "--name", "raven-pool", "-f", "json"],
        { env, encoding: "utf8" },
      ),
    ).length;
    if (n >= NODES * BURST) return;
    await sleep(500);
  }
  throw new Error("the port pools did not fill");
}

/** A Deployment of 3 and a Service: the calls from the Service's creation to its load balancer with 3 members. */
async function serviceCalls(client: KubeClient, c: RunningController): Promise<Record<string, number>> {
  await client.create(DEPLOYMENTS, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "svcbench", namespace: "default" },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "svcbench" } },
      template: {
        metadata: { labels: { app: "svcbench" } },
        spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] },
      },
    },
  } as KubeObject);
  for (;;) {
    const pods = (await client.list(PODS, { namespace: "default", labelSelector: "app=svcbench" })).items;
    if (pods.length === 3 && pods.every(annotated)) break;
    await sleep(200);
  }
  const before = await openstackCalls(c);
  await client.create(SERVICES, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "svcbench", namespace: "default" },
    spec: { selector: { app: "svcbench" }, ports: [{ port: 80, targetPort: 8080 }] },
  } as KubeObject);
  for (;;) {
    const svc = await client.get(SERVICES, "default", "svcbench");
    const slices = (
      await client.list(ENDPOINTSLICES, {
        namespace: "default",
        labelSelector: "kubernetes.io/service-name=svcbench",
      })
    ).items;
    const ready = slices.flatMap((s) => s.endpoints ?? []).length;
    const pool = svc.metadata.annotations?.["raven.io/lb-pool"];
    if (ready === 3 && pool && (JSON.parse(pool).members ?? []).length === 3) break;
    await sleep(200);
  }
  await sleep(1000); // anything the last sync still does
  const after = await openstackCalls(c);
  const delta: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) delta[k] = v - (before[k] ?? 0);
  await client.delete(SERVICES, "default", "svcbench");
  await client.delete(DEPLOYMENTS, "default", "svcbench");
  await deleteAndWait(client, "app=svcbench");
  return delta;
}

/**
 * N pods created while no controller runs, 100 per namespace (a namespace's /24 holds 253); a
 * controller started then: time until every pod has its port.
 */
async function coldStart(client: KubeClient, n: number) {
  const spaces = Math.ceil(n / 100);
  for (let i = 0; i < spaces; i++)
    await client.create(NAMESPACE_RES, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: `cold-${i}` },
    } as KubeObject);
  await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    32,
    (i) =>
      client.create(
        PODS,
        podObject(`cold-${i % spaces}`, `cold-${i}`, {
          labels: { bench: "cold" },
          nodeName: `virtual-node-${(i % NODES) + 1}`,
        }),
      ),
  );
  const c = await startController(sb, { backend: "neutron", logName: "bench-cold.log" });
  try {
    const t0 = c.spawnedAt;
    const ready = await waitControllerReady(c, 300_000);
    for (;;) {
      const pods = (await client.list(PODS, { labelSelector: "bench=cold" })).items;
      if (pods.filter(annotated).length === n) break;
      await sleep(500);
    }
    const all = performance.now();
    const calls = await openstackCalls(c);
    return {
      pods: n,
      readySeconds: round1((ready - t0) / 1000),
      allPortsSeconds: round1((all - t0) / 1000),
      calls: totalCalls(calls),
    };
  } finally {
    await c.stop();
  }
}

report.benchmark = "neutron backend: network ready with and without port pools, OpenStack calls, cold start";
report.date = new Date().toISOString();
report.loadAverage1m = round1(loadavg()[0]);
report.burst = BURST;
report.rounds = ROUNDS;
const json = JSON.stringify(report, null, 2);
if (values.out) writeFileSync(values.out, `${json}\n`);
console.log(json);
const nr = report.networkReady as any;
console.log();
console.log(
  markdownTable(
    ["ports", "pods", "network ready p50 (ms)", "p99 (ms)", "calls per pod"],
    [
      [
        "made at pod creation",
        nr.unpooled.n,
        nr.unpooled.p50,
        nr.unpooled.p99,
        (report.callsPerPod as any).unpooled,
      ],
      ["taken from a pool", nr.pooled.n, nr.pooled.p50, nr.pooled.p99, (report.callsPerPod as any).pooled],
      ["ratio pooled / made (p50)", "", nr.ratioP50, "", ""],
    ],
  ),
);
console.log();
console.log(
  markdownTable(
    ["calls for one Service (3 members)", "count"],
    Object.entries(report.callsPerService as object),
  ),
);
if (report.coldStart) {
  const cs = report.coldStart as any;
  console.log();
  console.log(
    markdownTable(
      ["cold start: pods", "controller ready (s)", "every pod has its port (s)", "OpenStack calls"],
      [[cs.pods, cs.readySeconds, cs.allPortsSeconds, cs.calls]],
    ),
  );
}
