// raven-agent killed with SIGKILL while pods start and stop (the sandbox restarts it, as a
// DaemonSet would): once the churn ends, every pod has exactly one interface, with its port's
// address, every node end of a pod veth belongs to a running pod and names its port, every
// such port is ACTIVE, and the node's Service rules hold exactly the ready pods. Real node, real
// kubectl; the churn and the kills are seeded (RAVEN_CHAOS_SEED replays a run).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { prng, sleep } from "./support/churn.ts";
import { eventually, run, type Sandbox, startSandbox } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));
const SEED = Number(process.env.RAVEN_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

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

const CHURN = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: churn
spec:
  replicas: 4
  selector:
    matchLabels: {app: churn}
  template:
    metadata:
      labels: {app: churn}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: gcr.io/google-samples/hello-app:1.0
---
apiVersion: v1
kind: Service
metadata:
  name: churn
spec:
  selector: {app: churn}
  ports:
  - port: 80
    targetPort: 8080
`;

test("SIGKILLed while pods come and go, the restarted agent leaves every pod bound once to its port, and no leaked veth or rule", async () => {
  console.log(`agent chaos seed ${SEED} (replay with RAVEN_CHAOS_SEED=${SEED})`);
  const rand = prng(SEED);
  await k(["apply", "-f", "-"], CHURN);
  await k(["rollout", "status", "deployment/churn", "--timeout=120s"]);
  let kills = 0;
  const until = Date.now() + 30_000;
  const killing = (async () => {
    while (Date.now() < until) {
      await sleep(3_000 + rand() * 4_000);
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
  let scales = 0;
  while (Date.now() < until) {
    await k(["scale", "deployment/churn", `--replicas=${1 + Math.floor(rand() * 7)}`]);
    scales++;
    await sleep(1_000 + rand() * 3_000);
  }
  await killing;
  const final = 5;
  await k(["scale", "deployment/churn", `--replicas=${final}`]);
  console.log(`agent chaos: ${kills} kills during ${scales} scalings`);
  assert.ok(kills >= 2, "the agent was killed during the churn");
  await k(["rollout", "status", "deployment/churn", "--timeout=180s"]);

  type PodView = { name: string; ip: string; port: { id: string; ip: string } };
  const pods = (await eventually(
    async (): Promise<PodView[] | undefined> => {
      const items = JSON.parse(await k(["get", "pods", "-l", "app=churn", "-o", "json"])).items;
      if (items.length !== final || items.some((p: any) => p.metadata.deletionTimestamp)) return undefined;
      return items.map((p: any): PodView => {
        const port = JSON.parse(p.metadata.annotations["raven.io/port"]);
        return {
          name: p.metadata.name,
          ip: p.status.podIP,
          port: { id: port.id, ip: port.fixed_ips[0].ip_address },
        };
      });
    },
    120_000,
    `${final} churn pods and no terminating one`,
  )) as PodView[];
  // Inside each pod: one interface besides lo, with exactly the port's address.
  for (const p of pods) {
    assert.equal(p.ip, p.port.ip, `${p.name}: status.podIP is its port's`);
    const links = (await k(["exec", p.name, "--", "ip", "-o", "link"])).split("\n").filter(Boolean);
    assert.deepEqual(
      links.map((l) => l.split(":")[1].trim().split("@")[0]).sort(),
      ["eth0", "lo"],
      `${p.name}: ${links.join(" | ")}`,
    );
    const inet = [
      ...(await k(["exec", p.name, "--", "ip", "-4", "-o", "addr", "show", "eth0"])).matchAll(/inet (\S+)/g),
    ];
    assert.deepEqual(
      inet.map((m) => m[1].split("/")[0]),
      [p.port.ip],
      `${p.name}: eth0 has its port's address only`,
    );
  }
  // On the node: a pod veth per running pod (others on the node: none), each naming its pod's port.
  let seen = "";
  await eventually(
    async () => {
      const r = await inNode(["ip", "-j", "-d", "link", "show"]);
      const veths = (JSON.parse(r.stdout) as { ifname: string; ifalias?: string }[]).filter((l) =>
        /^rv[0-9a-f]{11}$/.test(l.ifname),
      );
      const named = veths.map((l) => l.ifalias?.replace("raven-port=", "")).sort();
      const want = pods.map((p) => p.port.id).sort();
      seen = `veths ${JSON.stringify(veths)}, pods' ports ${JSON.stringify(want)}`;
      return JSON.stringify(named) === JSON.stringify(want) || undefined;
    },
    60_000,
    "one pod veth per running pod, naming its port",
  ).catch((err) => assert.fail(`${err.message}: ${seen}`));
  // Every port ACTIVE; the Service's rules hold exactly the pods.
  await eventually(
    async () => {
      const r = await run(RAVEN, ["net", "ports", "-o", "json", "--kubeconfig", sb.kubeconfig]);
      const ports = JSON.parse(r.stdout).filter((p: any) => p.name.startsWith("churn-"));
      return (ports.length === final && ports.every((p: any) => p.status === "ACTIVE")) || undefined;
    },
    60_000,
    "every churn port ACTIVE and no other",
  );
  const vip = await k(["get", "service", "churn", "-o", "jsonpath={.spec.clusterIP}"]);
  await eventually(
    async () => {
      const table = (await inNode(["nft", "list", "table", "ip", "raven"])).stdout;
      const members = [
        ...table.matchAll(
          new RegExp(`${vip.replace(/\./g, "\\.")} \\. tcp \\. 80 \\. \\d+ : (\\S+) \\. 8080`, "g"),
        ),
      ]
        .map((m) => m[1])
        .sort();
      return JSON.stringify(members) === JSON.stringify(pods.map((p) => p.ip).sort()) || undefined;
    },
    60_000,
    "the VIP's members in nftables are exactly the pods",
  );
});
