// CNI ADD and DEL as the container runtime runs them: raven-cni (the shim, the agent's socket,
// the port lookup, the veth) against the reference bridge + host-local plugins, on the same
// "node" (a network namespace this benchmark makes, on the sandbox's underlay, where it reaches
// the API server) and fresh pod network namespaces. raven-cni talks to a real raven-agent
// serving that node (a node name no kubelet runs, so this script is its runtime), whose pods
// get their ports from raven-controller; ADD is called once the port annotation is there, as a
// kubelet does once the pod is scheduled. The breakdown: Node's own start (`node -e 0`, the
// floor of any Node shim), shim start
// (VERSION, answered by the shim alone), + socket round trip (STATUS, answered by the agent),
// + the agent's work (ADD minus STATUS: port verification and netlink), and the wait for the
// annotation (ADD sent at pod creation minus ADD with the annotation there). Prints JSON and a
// markdown table. Usage: node bench/cni.bench.ts [--n=40] [--out=FILE]
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { buildCniBundle, installCniPlugin, ravenConflist } from "../src/agent/cni-plugin.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { PODS } from "../src/kube/resource.ts";
import { startSandbox } from "../test/support/sandbox.ts";
import { markdownTable, percentile } from "./stats.ts";

const { values } = parseArgs({ options: { n: { type: "string", default: "40" }, out: { type: "string" } } });
const N = Number(values.n);
const exec = promisify(execFile);
const sh = (cmd: string, args: string[]) => exec(cmd, args);
const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));
const PREFIX = `rvcb${process.pid % 100000}`;
const NODE_NS = `${PREFIX}-node`;
const NODE = "bench-node";
const round1 = (x: number) => Math.round(x * 10) / 10;
const made: string[] = [];

async function netns(name: string): Promise<string> {
  await sh("ip", ["netns", "add", name]);
  made.push(name);
  return `/run/netns/${name}`;
}

/** Runs a CNI plugin in the node's netns as the runtime does; answers the wall time in ms. */
function cni(
  plugin: string,
  env: Record<string, string>,
  config: object,
): Promise<{ ms: number; out: string; code: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = execFile(
      "nsenter",
      [`--net=/run/netns/${NODE_NS}`, plugin],
      { env: { PATH: process.env.PATH, ...env } },
      (err, stdout) =>
        resolve({ ms: performance.now() - t0, out: String(stdout), code: err ? Number(err.code ?? 1) : 0 }),
    );
    child.stdin?.end(JSON.stringify(config));
  });
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: round1(percentile(s, 0.5)), p99: round1(percentile(s, 0.99)) };
};

const work = mkdtempSync(join(tmpdir(), "raven-cni-bench-"));
const sb = await startSandbox({ nodes: 1, backend: "embedded" });
let agent: ChildProcess | undefined;
const report: Record<string, unknown> = {};
try {
  // The node: its netns on the sandbox's underlay (.240), the agent, raven-cni.
  const cfg = JSON.parse(readFileSync(join(sb.dir, "config.json"), "utf8"));
  const [a1, a2, a3] = cfg.nodeCidr.split(".");
  const nodeIp = `${a1}.${a2}.${a3}.240`;
  const gateway = `${a1}.${a2}.${a3}.1`;
  await netns(NODE_NS);
  await sh("ip", ["link", "add", `${PREFIX}u`, "type", "veth", "peer", "name", "eth0", "netns", NODE_NS]);
  await sh("ip", ["link", "set", `${PREFIX}u`, "master", `${cfg.instanceId}-br`]);
  await sh("ip", ["link", "set", `${PREFIX}u`, "up"]);
  for (const args of [
    ["addr", "add", `${nodeIp}/24`, "dev", "eth0"],
    ["link", "set", "eth0", "up"],
    ["link", "set", "lo", "up"],
  ])
    await sh("ip", ["-n", NODE_NS, ...args]);
  // The admin's kubeconfig, with the API server at the underlay's gateway.
  const kubeconfig = join(work, "kubeconfig");
  writeFileSync(
    kubeconfig,
    readFileSync(sb.kubeconfig, "utf8").replace(
      /server: https:\/\/127\.0\.0\.1:/,
      `server: https://${gateway}:`,
    ),
  );
  const socket = join(work, "agent.sock");
  agent = spawn(
    "nsenter",
    [
      `--net=/run/netns/${NODE_NS}`,
      RAVEN,
      "agent",
      "--kubeconfig",
      kubeconfig,
      "--node",
      NODE,
      "--node-ip",
      nodeIp,
      "--socket",
      socket,
    ],
    { stdio: ["ignore", "ignore", openSync(join(work, "agent.log"), "a")] },
  );
  const bundle = join(work, "raven-cni.cjs");
  await buildCniBundle(bundle);
  const raven = installCniPlugin(join(work, "bin"), bundle);
  const ravenConf = {
    cniVersion: "1.0.0",
    name: "raven",
    ...(ravenConflist({ agentSocket: socket }) as any).plugins[0],
  };
  const base = { CNI_PATH: "/usr/lib/cni", CNI_IFNAME: "eth0" };
  // The agent answers STATUS once synced.
  for (let i = 0; (await cni(raven, { ...base, CNI_COMMAND: "STATUS" }, ravenConf)).code !== 0; i++) {
    if (i > 600)
      throw new Error(
        `raven-agent did not become ready:\n${readFileSync(join(work, "agent.log"), "utf8").slice(-3000)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
  // The floor of any Node shim: Node itself starting and exiting, run the same way (a shell
  // wrapper exec'ing the same Node).
  const bare = join(work, "bin", "node-bare");
  writeFileSync(bare, `#!/bin/sh\nunset NODE_EXTRA_CA_CERTS\nexec '${process.execPath}' -e 0\n`, {
    mode: 0o755,
  });
  const version: number[] = [];
  const status: number[] = [];
  const nodeBare: number[] = [];
  for (let i = 0; i < N; i++) {
    nodeBare.push((await cni(bare, base, {})).ms);
    version.push((await cni(raven, { ...base, CNI_COMMAND: "VERSION" }, ravenConf)).ms);
    status.push((await cni(raven, { ...base, CNI_COMMAND: "STATUS" }, ravenConf)).ms);
  }

  const pod = (name: string): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { nodeName: NODE, containers: [{ name: "c", image: "busybox" }] },
  });
  const annotated = async (name: string) => {
    for (;;) {
      const p = await sb.client.get(PODS, "default", name);
      if (p.metadata.annotations?.["raven.io/port"]) return p;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const ravenAdd: number[] = [];
  const ravenDel: number[] = [];
  const ravenAddAtCreate: number[] = [];
  const run = async (tag: string, i: number, waitFirst: boolean) => {
    const name = `cni-${tag}-${i}`;
    const created = await sb.client.create(PODS, pod(name));
    if (waitFirst) await annotated(name);
    const ns = await netns(`${PREFIX}-${tag}${i}`);
    const env = {
      ...base,
      CNI_CONTAINERID: `${tag}${i}`,
      CNI_NETNS: ns,
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name};K8S_POD_UID=${created.metadata.uid}`,
    };
    const add = await cni(raven, { ...env, CNI_COMMAND: "ADD" }, ravenConf);
    if (add.code !== 0) throw new Error(`raven-cni ADD ${name}: ${add.out}`);
    (waitFirst ? ravenAdd : ravenAddAtCreate).push(add.ms);
    const del = await cni(raven, { ...env, CNI_COMMAND: "DEL" }, ravenConf);
    if (waitFirst) ravenDel.push(del.ms);
  };
  for (let i = 0; i < N; i++) await run("w", i, true);
  for (let i = 0; i < Math.min(N, 20); i++) await run("c", i, false);

  // The reference plugins on the same node.
  const refConf = {
    cniVersion: "1.0.0",
    name: "ref",
    type: "bridge",
    bridge: "rvcbref0",
    isGateway: true,
    hairpinMode: true,
    ipam: { type: "host-local", subnet: "10.124.0.0/24", dataDir: join(work, "ipam") },
  };
  const refAdd: number[] = [];
  const refDel: number[] = [];
  for (let i = 0; i < N; i++) {
    const ns = await netns(`${PREFIX}-r${i}`);
    const env = { ...base, CNI_CONTAINERID: `r${i}`, CNI_NETNS: ns, CNI_ARGS: "IgnoreUnknown=1" };
    const add = await cni("/usr/lib/cni/bridge", { ...env, CNI_COMMAND: "ADD" }, refConf);
    if (add.code !== 0) throw new Error(`bridge ADD: ${add.out}`);
    refAdd.push(add.ms);
    refDel.push((await cni("/usr/lib/cni/bridge", { ...env, CNI_COMMAND: "DEL" }, refConf)).ms);
  }
  const [a, d, r, rd] = [stats(ravenAdd), stats(ravenDel), stats(refAdd), stats(refDel)];
  const v = stats(version);
  const st = stats(status);
  Object.assign(report, {
    benchmark: "CNI ADD/DEL, raven-cni vs bridge + host-local, same node",
    date: new Date().toISOString(),
    loadAverage1m: round1(loadavg()[0]),
    n: N,
    ravenCni: { add: a, del: d, addAtPodCreation: stats(ravenAddAtCreate) },
    reference: { add: r, del: rd },
    breakdownP50Ms: {
      nodeBareStart: stats(nodeBare).p50,
      shimStart: v.p50,
      socketRoundTrip: round1(st.p50 - v.p50),
      agentWork: round1(a.p50 - st.p50),
      waitForAnnotation: round1(stats(ravenAddAtCreate).p50 - a.p50),
    },
    ratioAddP50: Math.round((a.p50 / r.p50) * 100) / 100,
    ratioDelP50: Math.round((d.p50 / rd.p50) * 100) / 100,
  });
} finally {
  agent?.kill("SIGTERM");
  for (const ns of made.reverse()) await sh("ip", ["netns", "del", ns]).catch(() => {});
  await sb.stop();
  rmSync(work, { recursive: true, force: true });
}

const json = JSON.stringify(report, null, 2);
if (values.out) writeFileSync(values.out, `${json}\n`);
console.log(json);
console.log();
const rc = report.ravenCni as any;
const ref = report.reference as any;
console.log(
  markdownTable(
    ["plugin", "ADD p50 (ms)", "ADD p99 (ms)", "DEL p50 (ms)", "DEL p99 (ms)"],
    [
      ["raven-cni (annotation there)", rc.add.p50, rc.add.p99, rc.del.p50, rc.del.p99],
      ["raven-cni (ADD at pod creation)", rc.addAtPodCreation.p50, rc.addAtPodCreation.p99, "", ""],
      ["bridge + host-local", ref.add.p50, ref.add.p99, ref.del.p50, ref.del.p99],
      ["ratio raven / reference (p50)", report.ratioAddP50, "", report.ratioDelP50, ""],
    ],
  ),
);
console.log();
const b = report.breakdownP50Ms as any;
console.log(
  markdownTable(
    [
      "Node's own start, node -e 0 (ms)",
      "shim start (ms)",
      "socket round trip (ms)",
      "agent: verify + netlink (ms)",
      "wait for annotation (ms)",
    ],
    [[b.nodeBareStart, b.shimStart, b.socketRoundTrip, b.agentWork, b.waitForAnnotation]],
  ),
);
