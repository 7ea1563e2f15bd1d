// NetworkPolicy at scale: 1,000 pods (20 namespaces x 50) and 200 policies (10 per namespace:
// deny-all, app-to-app on a port, from labelled namespaces on a named port, an ipBlock with
// except, egress to a namespace), all pods on one node (the worst case for that node's agent).
// Measures what a change costs end to end inside Raven: the controller's compiler
// (controller/policy-compiler.ts, the policies the change touches) and the agent's enforcer
// (agent/policies.ts: plan + one `nft -f` transaction into a network namespace this benchmark
// makes and deletes), for pod relabels, pods coming and going, and policies created and deleted;
// plus the whole table's first programming and its rule and set-element counts (from
// `nft -j list table`). Goal (issue 12): p99 <= 100 ms per change at this size.
// Prints JSON and a markdown table. Usage: node bench/policy-scale.bench.ts [--changes=50] [--out=FILE]
import { execFile } from "node:child_process";
import { parseArgs, promisify } from "node:util";
import { PolicyEnforcer } from "../src/agent/policies.ts";
import type { CompiledPolicy } from "../src/api/compiled-policy.ts";
import {
  compilePolicy,
  type PolicyCluster,
  type PolicyPod,
  policyConcerns,
} from "../src/controller/policy-compiler.ts";
import { nftTool } from "../src/dataplane/nft.ts";
import { policyCounts } from "../src/dataplane/nft-policy.ts";
import { silentLogger } from "../src/kube/log.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { markdownTable, percentile, printReport } from "./stats.ts";

const { values } = parseArgs({
  options: { changes: { type: "string", default: "50" }, out: { type: "string" } },
});
const CHANGES = Number(values.changes);
const exec = promisify(execFile);
const NS = `rvpb${process.pid % 100000}`;
const NODE = "node-1";
const round1 = (x: number) => Math.round(x * 10) / 10;

const NAMESPACES = Array.from({ length: 20 }, (_, i) => ({
  name: `ns${i}`,
  labels: { "kubernetes.io/metadata.name": `ns${i}`, team: `team${i % 4}` },
}));
const pods = new Map<string, PolicyPod>();
let podSeq = 0;
function newPod(ns: number, app: number): PolicyPod {
  const n = podSeq++;
  const p: PolicyPod = {
    namespace: `ns${ns}`,
    name: `pod${n}`,
    labels: { app: `app${app}`, tier: app % 2 ? "back" : "front" },
    ip: `192.168.${ns}.${10 + (n % 200)}`,
    node: NODE,
    namedPorts: [{ name: "http", protocol: "TCP", port: 8000 + (n % 3) }],
    hostNetwork: false,
  };
  pods.set(`${p.namespace}/${p.name}`, p);
  return p;
}
for (let ns = 0; ns < 20; ns++) for (let i = 0; i < 50; i++) newPod(ns, i % 10);
const cluster: PolicyCluster = {
  namespaces: () => NAMESPACES,
  podsIn: (ns) => [...pods.values()].filter((p) => p.namespace === ns),
};

let npSeq = 0;
function networkPolicy(ns: number, kind: number): KubeObject {
  const app = (x: number) => ({ matchLabels: { app: `app${x % 10}` } });
  const specs: Record<string, unknown>[] = [
    { podSelector: {}, policyTypes: ["Ingress"] },
    { podSelector: app(kind), ingress: [{ from: [{ podSelector: app(kind + 1) }], ports: [{ port: 80 }] }] },
    {
      podSelector: app(kind),
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { team: `team${kind % 4}` } } }],
          ports: [{ port: "http" }],
        },
      ],
    },
    {
      podSelector: { matchLabels: { tier: "back" } },
      ingress: [
        {
          from: [{ ipBlock: { cidr: "10.0.0.0/8", except: [`10.${kind}.0.0/16`] } }],
          ports: [{ port: 443, endPort: 450 }],
        },
      ],
    },
    {
      podSelector: app(kind),
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": `ns${(ns + 1) % 20}` } } },
          ],
        },
      ],
    },
  ];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: `np${kind}`, namespace: `ns${ns}`, uid: `np-uid-${npSeq++}` },
    spec: { policyTypes: ["Ingress"], ...specs[kind % specs.length] },
  };
}
const policies = new Map<string, KubeObject>();
for (let ns = 0; ns < 20; ns++)
  for (let kind = 0; kind < 10; kind++) {
    const np = networkPolicy(ns, kind);
    policies.set(`${np.metadata.namespace}/${np.metadata.name}`, np);
  }

// The backend's view: compiled policies by key.
const compiled = new Map<string, CompiledPolicy>();
const compileAll = () => {
  for (const [key, np] of policies) compiled.set(key, compilePolicy(np, cluster).policy);
};

/** The controller's work for a pod change: find the touched policies, recompile them. */
function podChanged(before: PolicyPod | undefined, after: PolicyPod | undefined): number {
  let touched = 0;
  for (const [key, np] of policies) {
    const hit = [before, after].some(
      (v) => v && policyConcerns(np, v, NAMESPACES.find((n) => n.name === v.namespace)?.labels),
    );
    if (!hit) continue;
    touched++;
    compiled.set(key, compilePolicy(np, cluster).policy);
  }
  return touched;
}

await exec("ip", ["netns", "add", NS]);
const results: Record<string, unknown>[] = [];
let counts: ReturnType<typeof policyCounts> | undefined;
let kernel: { rules: number; elements: number } | undefined;
let wholeMs = 0;
try {
  const nft = nftTool(NS);
  let last = { ms: 0 };
  const enforcer = new PolicyEnforcer({
    policies: () => [...compiled.values()],
    nft,
    table: "raven-policy",
    nodeName: NODE,
    log: silentLogger,
    onApplied: (i) => {
      last = i;
    },
  });
  const t0 = performance.now();
  compileAll();
  const compileAllMs = performance.now() - t0;
  await enforcer.sync();
  wholeMs = last.ms;
  counts = policyCounts(enforcer.model());
  const listed = (await nft.listTable("raven-policy")) as { nftables: Record<string, any>[] };
  kernel = {
    rules: listed.nftables.filter((o) => "rule" in o).length,
    elements: listed.nftables.filter((o) => "set" in o).reduce((n, o) => n + (o.set.elem?.length ?? 0), 0),
  };
  results.push({
    change: "all 200 policies compiled, then the whole table",
    compileMs: round1(compileAllMs),
    applyMs: round1(wholeMs),
  });

  /** Times `fn` (the controller's part) and the enforcer's sync after it, `CHANGES` times. */
  async function measure(name: string, fn: (i: number) => number) {
    const compile: number[] = [];
    const apply: number[] = [];
    const total: number[] = [];
    let touched = 0;
    for (let i = 0; i < CHANGES; i++) {
      const a = performance.now();
      touched += fn(i);
      const b = performance.now();
      await enforcer.sync();
      const c = performance.now();
      compile.push(b - a);
      apply.push(c - b);
      total.push(c - a);
    }
    const q = (xs: number[]) => {
      xs.sort((x, y) => x - y);
      return { p50: round1(percentile(xs, 0.5)), p99: round1(percentile(xs, 0.99)) };
    };
    results.push({
      change: name,
      touchedPerChange: round1(touched / CHANGES),
      compileMs: q(compile),
      syncMs: q(apply),
      totalMs: q(total),
    });
  }

  const all = () => [...pods.values()];
  await measure("pod relabelled (app changes)", (i) => {
    const p = all()[(i * 37) % pods.size];
    const before = { ...p };
    p.labels = { ...p.labels, app: `app${(Number(p.labels.app.slice(3)) + 1) % 10}` };
    return podChanged(before, p);
  });
  await measure("pod created", (i) => podChanged(undefined, newPod(i % 20, i % 10)));
  await measure("pod deleted", (i) => {
    const p = all()[(i * 53) % pods.size];
    pods.delete(`${p.namespace}/${p.name}`);
    return podChanged(p, undefined);
  });
  await measure("policy created", (i) => {
    const np = networkPolicy(i % 20, 10 + i);
    const key = `${np.metadata.namespace}/${np.metadata.name}`;
    policies.set(key, np);
    compiled.set(key, compilePolicy(np, cluster).policy);
    return 1;
  });
  await measure("policy deleted", (i) => {
    const key = `ns${i % 20}/np${10 + i}`;
    policies.delete(key);
    compiled.delete(key);
    return 1;
  });
} finally {
  await exec("ip", ["netns", "del", NS]);
}

printReport(
  "NetworkPolicy changes at 1,000 pods x 200 policies (controller compile + agent nft transaction)",
  { pods: 1000, policies: 200, programmed: counts, kernel, results },
  values.out,
  [
    markdownTable(
      [
        "change",
        "policies recompiled",
        "compile p50/p99 (ms)",
        "agent sync p50/p99 (ms)",
        "total p50/p99 (ms)",
      ],
      results
        .slice(1)
        .map((r: any) => [
          r.change,
          r.touchedPerChange,
          `${r.compileMs.p50} / ${r.compileMs.p99}`,
          `${r.syncMs.p50} / ${r.syncMs.p99}`,
          `${r.totalMs.p50} / ${r.totalMs.p99}`,
        ]),
    ),
    `whole table: ${round1(wholeMs)} ms; ${kernel?.rules} rules, ${kernel?.elements} set elements in the kernel (${counts?.policies} policies on the node)`,
  ],
);
