// NetworkPolicy latency on a sandbox with two real nodes: from the request that creates a deny-all
// policy to the moment every node's kernel enforces it (in its nftables table, read with `nft -j
// list table` in each node's network namespace, the node's selected pods are targets of a policy
// whose ingress chain has no rule), and from a pod's relabel (making it selected by an existing
// deny-all) to its node's kernel isolating it. Times start at the API request (the client's
// create/patch/delete). Each round undoes its change and waits for the kernel to show that too.
// With --backend=neutron: the policy's security groups in Neutron, read back by each node's agent
// (it lists Neutron every 3 s: Neutron has no watch). Prints JSON and a markdown table.
// Usage: node bench/policy-latency.bench.ts [--rounds=20] [--backend=embedded|neutron] [--out=FILE]
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { NETWORKPOLICIES, PODS } from "../src/kube/resource.ts";
import { nodeLayout } from "../src/sandbox/node/layout.ts";
import { startSandbox } from "../test/support/sandbox.ts";
import { markdownTable, percentile, printReport } from "./stats.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "20" },
    backend: { type: "string", default: "embedded" },
    out: { type: "string" },
  },
});
const BACKEND = values.backend as "embedded" | "neutron";
const ROUNDS = Number(values.rounds);
const round1 = (x: number) => Math.round(x * 10) / 10;

const sb = await startSandbox({ nodes: 2, backend: BACKEND });
const results: Record<string, unknown>[] = [];
try {
  const cfg = JSON.parse(readFileSync(join(sb.dir, "config.json"), "utf8"));
  const k = async (args: string[], input?: string) => {
    const r = await sb.kubectl(args, { input, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  /**
   * The pods a deny-all ingress applies to on a node: in the target set of a policy whose
   * ingress chain has no rule (both backends program a deny-all so; with Neutron every pod is in
   * some group's set, the default group's allowing everything).
   */
  const isolated = (netns: string): Promise<Set<string>> =>
    new Promise((resolve) =>
      execFile(
        "nsenter",
        [`--net=/run/netns/${netns}`, "nft", "-j", "list", "table", "ip", "raven-policy"],
        { maxBuffer: 64 << 20 },
        (err, out) => {
          if (err) return resolve(new Set());
          const items = JSON.parse(out).nftables as any[];
          const rulesIn = new Map<string, number>();
          for (const i of items) if (i.chain) rulesIn.set(i.chain.name, 0);
          for (const i of items) if (i.rule) rulesIn.set(i.rule.chain, (rulesIn.get(i.rule.chain) ?? 0) + 1);
          const denied = new Set<string>();
          for (const i of items) {
            const m = /^p(\d+)-t$/.exec(i.set?.name ?? "");
            if (m && rulesIn.get(`p${m[1]}-in`) === 0) for (const e of i.set.elem ?? []) denied.add(e);
          }
          resolve(denied);
        },
      ),
    );
  await k(["create", "namespace", "bench"]);
  const nodes = [1, 2].map((i) => ({ name: `node-${i}`, netns: nodeLayout(cfg.dir, cfg, i).netns }));
  const manifest = Array.from({ length: 6 }, (_, i) =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `web-${i}`, namespace: "bench", labels: { app: "web" } },
      spec: {
        nodeName: nodes[i % 2].name,
        containers: [{ name: "c", image: "busybox", command: ["sleep", "1d"] }],
      },
    }),
  ).join("\n---\n");
  await k(["apply", "-f", "-"], manifest);
  await k(["wait", "-n", "bench", "--for=condition=Ready", "pod", "--all", "--timeout=180s"]);
  const pods = JSON.parse(await k(["get", "pods", "-n", "bench", "-o", "json"])).items.map((p: any) => ({
    name: p.metadata.name as string,
    ip: p.status.podIP as string,
    netns: nodes.find((n) => n.name === p.spec.nodeName)!.netns,
  }));
  /** Polls until `ok` holds for every node; ms since `t0`. */
  const until = async (t0: number, ok: (netns: string, set: Set<string>) => boolean) => {
    for (;;) {
      const sets = await Promise.all(nodes.map(async (n) => ok(n.netns, await isolated(n.netns))));
      if (sets.every(Boolean)) return performance.now() - t0;
      if (performance.now() - t0 > 60_000) throw new Error("not enforced within 60 s");
    }
  };
  const policy = (name: string, selector: Record<string, string>) =>
    sb.client.create(NETWORKPOLICIES, {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name, namespace: "bench" },
      spec: { podSelector: { matchLabels: selector } },
    });
  const label = (pod: string, value: string | null) =>
    sb.client.patch(PODS, "bench", pod, "merge", { metadata: { labels: { tier: value } } });
  const created: number[] = [];
  const deleted: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = performance.now();
    await policy("deny", { app: "web" });
    created.push(
      await until(t0, (netns, set) =>
        pods.filter((p: any) => p.netns === netns).every((p: any) => set.has(p.ip)),
      ),
    );
    t0 = performance.now();
    await sb.client.delete(NETWORKPOLICIES, "bench", "deny");
    deleted.push(await until(t0, (_n, set) => set.size === 0));
  }
  await policy("locked", { tier: "locked" });
  const labelled: number[] = [];
  const unlabelled: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const p = pods[r % pods.length];
    let t0 = performance.now();
    await label(p.name, "locked");
    labelled.push(await until(t0, (netns, set) => netns !== p.netns || set.has(p.ip)));
    t0 = performance.now();
    await label(p.name, null);
    unlabelled.push(await until(t0, (_n, set) => !set.has(p.ip)));
  }
  const q = (name: string, xs: number[]) => {
    xs.sort((a, b) => a - b);
    results.push({
      change: name,
      n: xs.length,
      p50: round1(percentile(xs, 0.5)),
      p99: round1(percentile(xs, 0.99)),
    });
  };
  q("policy created -> enforced on both nodes", created);
  q("policy deleted -> lifted on both nodes", deleted);
  q("pod relabelled into a policy -> isolated on its node", labelled);
  q("pod relabelled out of it -> no longer isolated", unlabelled);
} finally {
  await sb.stop();
}
printReport(
  `NetworkPolicy: API request -> nftables on the nodes (${BACKEND} backend)`,
  { backend: BACKEND, results },
  values.out,
  [
    markdownTable(
      ["change", "n", "p50 (ms)", "p99 (ms)"],
      results.map((r: any) => [r.change, r.n, r.p50, r.p99]),
    ),
  ],
);
