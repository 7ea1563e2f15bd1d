// raven-agent SIGKILLed at random moments while running pods' attachment selections churn (the
// sandbox restarts it, as a DaemonSet would). Once the churn stops: every pod's interfaces are
// exactly its selection, network-status says the same, no pod was restarted, and nothing leaked:
// no record of a detached interface, no host-local address, no veth on the node's bridges.
// Real node, real kubectl, the reference bridge and host-local plugins; the churn and the kills
// are seeded (RAVEN_CHAOS_SEED replays a run).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { defaultInterfaceName } from "../src/api/network-attachments.ts";
import { prng, sleep } from "./support/churn.ts";
import { eventually, run, type Sandbox, startSandbox } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));
const SEED = Number(process.env.RAVEN_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const NETWORKS = "k8s.v1.cni.cncf.io/networks";
const STATUS = "k8s.v1.cni.cncf.io/network-status";
/** Selections the churn picks from, and the interfaces each puts in the pod. */
const SELECTIONS: [string, string[]][] = [
  ["", []],
  ["data", [defaultInterfaceName("data")]],
  ["green", [defaultInterfaceName("green")]],
  ["data,green", [defaultInterfaceName("data"), defaultInterfaceName("green")]],
  ["data@d1,data@d2,green@g1", ["d1", "d2", "g1"]],
];

let sb: Sandbox;
before(async () => {
  sb = await startSandbox({ nodes: 1, backend: "embedded" });
});
after(async () => {
  await sb?.stop();
});

const k = async (args: string[], input?: string) => {
  const r = await sb.kubectl(args, { input, timeoutMs: 120_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const inNode = (argv: string[]) =>
  run(RAVEN, ["sandbox", "exec", "--dir", sb.dir, "node-1", "--", ...argv], { timeoutMs: 60_000 });
const agentPid = (): number | undefined =>
  JSON.parse(readFileSync(join(sb.dir, "state.json"), "utf8")).children["raven-agent-node-1"];

const nad = (name: string, bridge: string, subnet: string) => `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: ${name}
spec:
  config: '{"cniVersion": "1.0.0", "type": "bridge", "bridge": "${bridge}", "ipam": {"type": "host-local", "subnet": "${subnet}", "dataDir": "${join(sb.dir, "ipam")}"}}'
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hp
spec:
  replicas: 4
  selector:
    matchLabels: {app: hp}
  template:
    metadata:
      labels: {app: hp}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: busybox
        command: ["top"]
`;

type PodRun = { name: string; uid: string; run: string };

async function podRuns(): Promise<PodRun[]> {
  const items = JSON.parse(await k(["get", "pods", "-l", "app=hp", "-o", "json"])).items;
  return items.map((p: any) => ({
    name: p.metadata.name,
    uid: p.metadata.uid,
    run: JSON.stringify((p.status.containerStatuses ?? []).map((c: any) => [c.restartCount, c.containerID])),
  }));
}

/** The interfaces in the pod besides lo and eth0. */
async function extraLinks(pod: string): Promise<string[]> {
  const out = await k(["exec", pod, "--", "ip", "-o", "link"]);
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(":")[1].trim().split("@")[0])
    .filter((n) => n !== "lo" && n !== "eth0")
    .sort();
}

test("SIGKILLed while attachments churn, the restarted agent leaves every pod with exactly its selection, and nothing leaked", async () => {
  console.log(`attachment chaos seed ${SEED} (replay with RAVEN_CHAOS_SEED=${SEED})`);
  const rand = prng(SEED);
  await k(
    ["apply", "-f", "-"],
    nad("data", "data-br", "10.10.0.0/24") + "---\n" + nad("green", "green-br", "10.11.0.0/24"),
  );
  await k(["apply", "-f", "-"], DEPLOYMENT);
  await k(["rollout", "status", "deployment/hp", "--timeout=120s"]);
  const before = await podRuns();
  assert.equal(before.length, 4);
  const chosen = new Map<string, number>(before.map((p) => [p.name, 0]));

  let kills = 0;
  let changes = 0;
  const until = Date.now() + 30_000;
  const killing = (async () => {
    while (Date.now() < until) {
      await sleep(2_000 + rand() * 3_000);
      const pid = agentPid();
      if (!pid) continue;
      try {
        process.kill(pid, "SIGKILL");
        kills++;
      } catch {
        // it was restarting already
      }
    }
  })();
  while (Date.now() < until) {
    const pod = before[Math.floor(rand() * before.length)].name;
    const pick = Math.floor(rand() * SELECTIONS.length);
    chosen.set(pod, pick);
    const sel = SELECTIONS[pick][0];
    await k(["annotate", "--overwrite", "pod", pod, sel ? `${NETWORKS}=${sel}` : `${NETWORKS}-`]);
    changes++;
    await sleep(200 + rand() * 1_200);
  }
  await killing;
  console.log(`attachment chaos: ${kills} kills during ${changes} selection changes`);
  assert.ok(kills >= 3, "the agent was killed during the churn");

  for (const p of before) {
    const want = SELECTIONS[chosen.get(p.name)!][1];
    await eventually(
      async () => JSON.stringify(await extraLinks(p.name)) === JSON.stringify([...want].sort()),
      120_000,
      `${p.name} has exactly ${JSON.stringify(want)}`,
    );
    await eventually(
      async () => {
        const text = await k([
          "get",
          "pod",
          p.name,
          "-o",
          `jsonpath={.metadata.annotations.${STATUS.replaceAll(".", "\\.")}}`,
        ]);
        const status = text ? (JSON.parse(text) as { interface: string }[]) : [];
        return (
          JSON.stringify(status.map((s) => s.interface)) ===
          JSON.stringify(want.length || text ? ["eth0", ...want] : [])
        );
      },
      60_000,
      `${p.name}'s network-status lists eth0 and ${JSON.stringify(want)}`,
    );
  }
  assert.deepEqual(await podRuns(), before, "no pod was restarted");

  // Nothing leaked: records, addresses, veths on the node's bridges match the interfaces in pods.
  const records = join(sb.dir, "nodes", "node-1", "raven-agent", "attachments");
  const recorded = existsSync(records)
    ? readdirSync(records).flatMap((uid) => readdirSync(join(records, uid)).map((f) => `${uid}/${f}`))
    : [];
  const wantRecords = before.flatMap((p) =>
    SELECTIONS[chosen.get(p.name)!][1].map((i) => `${p.uid}/${i}.json`),
  );
  assert.deepEqual(recorded.sort(), wantRecords.sort(), "one record per attached interface, no other file");
  const count = (net: string) =>
    before.reduce(
      (n, p) =>
        n +
        SELECTIONS[chosen.get(p.name)!][1].filter((i) =>
          net === "data"
            ? i === defaultInterfaceName("data") || i.startsWith("d")
            : i === defaultInterfaceName("green") || i === "g1",
        ).length,
      0,
    );
  for (const net of ["data", "green"]) {
    const dir = join(sb.dir, "ipam", net);
    const leases = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
    assert.equal(leases.length, count(net), `${net}: host-local holds one address per attached interface`);
    const r = await inNode(["ip", "-j", "link", "show", "master", `${net}-br`]);
    const ports = r.code === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as unknown[]).length : 0;
    assert.equal(ports, count(net), `${net}-br has one veth per attached interface`);
  }
});
