// Hot-plugged attachments on a sandbox node running real containers: the time from the patch
// that adds `k8s.v1.cni.cncf.io/networks: data` to a running pod to the first watch event whose
// network-status lists the new interface (raven-agent saw the change, found the sandbox over CRI,
// ran the bridge + host-local plugins in the pod's netns, recorded it and patched the status),
// for one pod at a time and for 10 pods at once. Each round removes the attachments again (timed
// the same way, to the status without it). Prints JSON and a markdown table.
// Usage: node bench/attachments.bench.ts [--pods=10] [--rounds=10] [--out=FILE]
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultInterfaceName } from "../src/api/network-attachments.ts";
import type { KubeClient } from "../src/kube/client.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { NETWORK_ATTACHMENT_DEFINITIONS, PODS } from "../src/kube/resource.ts";
import { startSandbox } from "../test/support/sandbox.ts";
import { markdownTable, percentile } from "./stats.ts";

const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "10" },
    rounds: { type: "string", default: "10" },
    out: { type: "string" },
  },
});
const PODS_N = Number(values.pods);
const ROUNDS = Number(values.rounds);
const NS = "default";
const NETWORKS = "k8s.v1.cni.cncf.io/networks";
const STATUS = "k8s.v1.cni.cncf.io/network-status";
const IFACE = defaultInterfaceName("data");
const round1 = (x: number) => Math.round(x * 10) / 10;

const hasIface = (p: KubeObject) => (p.metadata.annotations?.[STATUS] ?? "").includes(`"${IFACE}"`);

/** Patches `names` at once (adding or removing the selection); ms from each patch to its status event. */
async function change(client: KubeClient, names: string[], add: boolean): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const took = new Map<string, number>();
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
        const p = ev.object as KubeObject;
        const t0 = sentAt.get(p.metadata?.name ?? "");
        if (t0 === undefined || took.has(p.metadata.name!) || hasIface(p) !== add) return;
        took.set(p.metadata.name!, performance.now() - t0);
        if (took.size === names.length) allDone();
      },
      abort.signal,
    )
    .catch(() => {});
  await Promise.all(
    names.map(async (name) => {
      sentAt.set(name, performance.now());
      await client.patch(PODS, NS, name, "merge", {
        metadata: { annotations: { [NETWORKS]: add ? "data" : null } },
      });
    }),
  );
  const timeout = new Promise<void>((r) => setTimeout(r, 120_000).unref());
  await Promise.race([done, timeout]);
  abort.abort();
  await watching;
  if (took.size !== names.length) throw new Error(`${names.length - took.size} pods never showed the change`);
  return [...took.values()];
}

const sb = await startSandbox({ nodes: 1, backend: "embedded" });
const samples = {
  one: { add: [] as number[], del: [] as number[] },
  many: { add: [] as number[], del: [] as number[] },
};
try {
  await sb.client.create(NETWORK_ATTACHMENT_DEFINITIONS, {
    apiVersion: "k8s.cni.cncf.io/v1",
    kind: "NetworkAttachmentDefinition",
    metadata: { name: "data", namespace: NS },
    spec: {
      config: JSON.stringify({
        cniVersion: "1.0.0",
        type: "bridge",
        bridge: "data-br",
        ipam: { type: "host-local", subnet: "10.10.0.0/24", dataDir: join(sb.dir, "ipam-data") },
      }),
    },
  });
  const names = Array.from({ length: PODS_N }, (_, i) => `hotplug-${i}`);
  for (const name of names)
    await sb.client.create(PODS, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: NS },
      spec: {
        containers: [{ name: "app", image: "busybox", command: ["top"] }],
        terminationGracePeriodSeconds: 1,
      },
    });
  for (;;) {
    const pods = (await sb.client.list(PODS, { namespace: NS })).items;
    if (
      pods.filter((p) => names.includes(p.metadata.name!) && p.status?.phase === "Running").length === PODS_N
    )
      break;
    await new Promise((r) => setTimeout(r, 250));
  }
  // A warm-up round (first plugin runs, page cache).
  await change(sb.client, [names[0]], true);
  await change(sb.client, [names[0]], false);
  for (let r = 0; r < ROUNDS; r++) {
    const one = names[r % PODS_N];
    samples.one.add.push(...(await change(sb.client, [one], true)));
    samples.one.del.push(...(await change(sb.client, [one], false)));
    samples.many.add.push(...(await change(sb.client, names, true)));
    samples.many.del.push(...(await change(sb.client, names, false)));
  }
} finally {
  await sb.stop();
}

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: round1(percentile(s, 0.5)),
    p99: round1(percentile(s, 0.99)),
    max: round1(s.at(-1) ?? Number.NaN),
  };
};
const results = {
  oneAdd: stat(samples.one.add),
  oneDel: stat(samples.one.del),
  manyAdd: stat(samples.many.add),
  manyDel: stat(samples.many.del),
};
const report = {
  benchmark:
    "hot-plugged attachment: annotation patch -> network-status updated (bridge + host-local), one real node",
  date: new Date().toISOString(),
  loadAverage1m: round1(loadavg()[0]),
  pods: PODS_N,
  rounds: ROUNDS,
  results,
  ratioManyToOneAddP50: round1(results.manyAdd.p50 / results.oneAdd.p50),
};
const json = JSON.stringify(report, null, 2);
if (values.out) writeFileSync(values.out, `${json}\n`);
console.log(json);
console.log();
console.log(
  markdownTable(
    ["change", "samples", "p50 (ms)", "p99 (ms)", "max (ms)"],
    [
      ["add, one pod", results.oneAdd],
      ["remove, one pod", results.oneDel],
      [`add, ${PODS_N} pods at once`, results.manyAdd],
      [`remove, ${PODS_N} pods at once`, results.manyDel],
    ].map(([what, s]) => {
      const x = s as ReturnType<typeof stat>;
      return [what as string, x.n, x.p50, x.p99, x.max];
    }),
  ),
);
