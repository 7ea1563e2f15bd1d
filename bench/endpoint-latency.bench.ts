// Endpoint ready -> first packet through the VIP, on a real node with raven-controller and
// raven-agent: a Service with one hello-app pod whose readiness probe reads a file; the file is
// removed (the VIP refuses once the pod leaves the members) and created again, many times. A
// prober in the node's network namespace connects to the VIP every 2 ms; the latency of a round
// is from the watch event showing the endpoint ready in the EndpointSlice to the prober's first
// successful connect (the same machine's clock). Prints JSON and a markdown table.
// Usage: node bench/endpoint-latency.bench.ts [--rounds=20] [--out=FILE]
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ENDPOINTSLICES } from "../src/kube/resource.ts";
import { startSandbox } from "../test/support/sandbox.ts";
import { markdownTable, percentile } from "./stats.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "20" }, out: { type: "string" } },
});
const ROUNDS = Number(values.rounds);
const round1 = (x: number) => Math.round(x * 10) / 10;

const MANIFEST = `apiVersion: v1
kind: Pod
metadata:
  name: lat
  labels: {app: lat}
spec:
  containers:
  - name: hello
    image: gcr.io/google-samples/hello-app:1.0
    command: ["sh", "-c", "touch /tmp/ready && exec /hello-app"]
    readinessProbe:
      exec:
        command: ["cat", "/tmp/ready"]
      periodSeconds: 1
      failureThreshold: 1
      successThreshold: 1
---
apiVersion: v1
kind: Service
metadata:
  name: lat
spec:
  selector: {app: lat}
  ports:
  - port: 80
    targetPort: 8080
`;

// Connects to VIP:80 every 2 ms; prints "up <epoch ms>" / "down <epoch ms>" on each change.
const PROBER = `
const net = require("node:net");
const [vip] = process.argv.slice(1);
let state = "";
const once = () => new Promise((resolve) => {
  const s = net.connect({ host: vip, port: 80 });
  const done = (ok) => { s.destroy(); resolve(ok); };
  s.once("connect", () => done(true));
  s.once("error", () => done(false));
  s.setTimeout(200, () => done(false));
});
(async () => {
  for (;;) {
    const ok = await once();
    const now = ok ? "up" : "down";
    if (now !== state) { state = now; process.stdout.write(now + " " + Date.now() + "\\n"); }
    await new Promise((r) => setTimeout(r, 2));
  }
})();
`;

const sb = await startSandbox({ nodes: 1, backend: "embedded" });
const latencies: number[] = [];
let prober: ReturnType<typeof spawn> | undefined;
try {
  const k = async (args: string[], input?: string) => {
    const r = await sb.kubectl(args, { input, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  await k(["apply", "-f", "-"], MANIFEST);
  await k(["wait", "--for=condition=Ready", "pod/lat", "--timeout=120s"]);
  const vip = await k(["get", "service", "lat", "-o", "jsonpath={.spec.clusterIP}"]);
  const cfg = JSON.parse(readFileSync(join(sb.dir, "config.json"), "utf8"));
  const netns = `/run/netns/${cfg.instanceId}-node1`;
  prober = spawn("nsenter", [`--net=${netns}`, process.execPath, "-e", PROBER, vip], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const transitions: { state: string; at: number }[] = [];
  let buf = "";
  prober.stdout!.on("data", (d) => {
    buf += d;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const [state, at] = buf.slice(0, i).split(" ");
      transitions.push({ state, at: Number(at) });
      buf = buf.slice(i + 1);
    }
  });
  const readyAt: number[] = [];
  const abort = new AbortController();
  void sb.client
    .watch(
      ENDPOINTSLICES,
      { namespace: "default", labelSelector: "kubernetes.io/service-name=lat" },
      (ev) => {
        const eps = (ev.object as any).endpoints ?? [];
        if (eps.some((e: any) => e.conditions?.ready)) readyAt.push(Date.now());
      },
      abort.signal,
    )
    .catch(() => {});
  const waitFor = async (state: string, after: number) => {
    for (let i = 0; i < 30_000 / 5; i++) {
      const t = transitions.find((x) => x.state === state && x.at >= after);
      if (t) return t.at;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`the prober never saw the VIP ${state}`);
  };
  await waitFor("up", 0);
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = Date.now();
    await k(["exec", "lat", "--", "rm", "/tmp/ready"]);
    await waitFor("down", t0);
    const t1 = Date.now();
    await k(["exec", "lat", "--", "touch", "/tmp/ready"]);
    const up = await waitFor("up", t1);
    const ready = readyAt.filter((t) => t >= t1).at(0);
    if (ready !== undefined) latencies.push(up - ready);
  }
  abort.abort();
} finally {
  prober?.kill();
  await sb.stop();
}
const s = [...latencies].sort((a, b) => a - b);
const report = {
  benchmark: "endpoint ready (EndpointSlice) -> first connection through the VIP, one real node",
  date: new Date().toISOString(),
  loadAverage1m: round1(loadavg()[0]),
  rounds: s.length,
  latencyMs: { p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s.at(-1) },
  samplesMs: latencies,
};
const json = JSON.stringify(report, null, 2);
if (values.out) writeFileSync(values.out, `${json}\n`);
console.log(json);
console.log();
console.log(
  markdownTable(
    ["rounds", "p50 (ms)", "p99 (ms)", "max (ms)"],
    [[s.length, report.latencyMs.p50, report.latencyMs.p99, report.latencyMs.max]],
  ),
);
