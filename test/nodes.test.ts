// Real sandbox nodes: each a network namespace on the sandbox's underlay bridge with its own
// containerd. Checks the addresses and routes (no default route: nothing leaves the machine),
// node <-> node and node -> gateway reachability, the API server on the gateway (its cert names
// that IP), CRI on every node, and that `raven sandbox down` leaves nothing behind, also after
// the supervisor was killed with SIGKILL and after an `up` that recovered from that.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { CriClient } from "../src/cri/client.ts";
import type { PodSandboxConfig } from "../src/cri/types.ts";
import { type NodeLayout, nodeLayout } from "../src/sandbox/node/layout.ts";
import { eventually, run, type Sandbox, startSandbox } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));

function sh(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as any).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );
}

const ipJson = async (args: string[]) => {
  const r = await sh("ip", ["-j", ...args]);
  assert.equal(r.code, 0, r.out);
  return r.out.trim() ? JSON.parse(r.out) : [];
};
const inNetns = (node: NodeLayout, cmd: string, args: string[]) =>
  sh("nsenter", [`--net=${node.netnsPath}`, cmd, ...args]);

interface Cfg {
  instanceId: string;
  nodeCidr: string;
  nodePodCidr: string;
  apiserverPort: number;
  dir: string;
}

function sandboxInfo(sb: Sandbox, nodes: number): { cfg: Cfg; layouts: NodeLayout[] } {
  const cfg: Cfg = JSON.parse(readFileSync(join(sb.dir, "config.json"), "utf8"));
  const layouts = Array.from({ length: nodes }, (_, i) => nodeLayout(cfg.dir, cfg, i + 1));
  return { cfg, layouts };
}

/**
 * The sandbox's process `pid` no longer runs: gone, a zombie waiting for PID 1 to reap it (its
 * cmdline is empty), or the PID now belongs to a process that is not the sandbox's.
 */
function processGone(pid: number, dir: string): boolean {
  return !cmdline(pid).includes(dir);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** Everything of the sandbox still on the machine, described; empty when `down` was complete. */
async function leftovers(dir: string, instanceId: string): Promise<string[]> {
  const left: string[] = [];
  for (const n of await ipJson(["netns", "list"]))
    if (n.name.startsWith(instanceId)) left.push(`netns ${n.name}`);
  for (const l of await ipJson(["link", "show"]))
    if (l.ifname.startsWith(instanceId)) left.push(`link ${l.ifname}`);
  const nft = await sh("nft", ["-j", "list", "tables"]);
  for (const t of JSON.parse(nft.out).nftables)
    if (t.table?.name.startsWith(instanceId)) left.push(`nft table ${t.table.family} ${t.table.name}`);
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").join(" ");
      if (cmdline.includes(dir)) left.push(`process ${e}: ${cmdline}`);
    } catch {
      // exited
    }
  }
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n"))
    if (line.split(" ")[4]?.startsWith(dir)) left.push(`mount ${line.split(" ")[4]}`);
  if (existsSync(dir)) left.push(`dir ${dir}`);
  return left;
}

const hostIpForward = () => readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();

/** A pod sandbox with one busybox container running `sleep`, made through CRI (no kubelet needed). */
async function runPod(node: NodeLayout, name: string): Promise<{ podId: string; ip: string }> {
  const cri = CriClient.connect(node.containerdSocket);
  try {
    const config: PodSandboxConfig = {
      metadata: { name, uid: `uid-${name}`, namespace: "nodes-test", attempt: 0 },
      hostname: name,
      logDirectory: join(node.podLogsDir, `nodes-test_${name}`),
      linux: {},
    };
    const podId = await cri.runPodSandbox(config);
    const ctr = await cri.createContainer(
      podId,
      {
        metadata: { name: "main", attempt: 0 },
        image: { image: "docker.io/library/busybox:latest" },
        command: ["sleep", "3600"],
        logPath: "main/0.log",
      },
      config,
    );
    await cri.startContainer(ctr);
    const st = await cri.podSandboxStatus(podId);
    return { podId, ip: st.status.network?.ip ?? "" };
  } finally {
    cri.close();
  }
}

async function down(dir: string): Promise<void> {
  const r = await run(RAVEN, ["sandbox", "down", "--dir", dir], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `down: ${r.stderr}${r.stdout}`);
}

test("two real nodes: underlay, routes, isolation, API on the gateway, CRI; down leaves nothing", async (t) => {
  const forwardBefore = hostIpForward();
  const t0 = Date.now();
  const sb = await startSandbox({ nodes: 2 });
  const upMs = Date.now() - t0;
  t.after(() => sb.stop());
  t.diagnostic(`sandbox up with 2 nodes: ${upMs} ms`);
  const { cfg, layouts } = sandboxInfo(sb, 2);
  const [n1, n2] = layouts;
  const gw = n1.gatewayIp;
  assert.match(cfg.nodeCidr, /^10\.254\.\d+\.0\/24$/);

  const bridge = (await ipJson(["addr", "show", "dev", `${cfg.instanceId}-br`]))[0];
  assert.ok(
    bridge.addr_info.some((a: any) => a.local === gw && a.prefixlen === 24),
    "gateway on the bridge",
  );
  const state = JSON.parse(readFileSync(join(sb.dir, "state.json"), "utf8"));
  for (const n of layouts) {
    assert.ok(state.children[`containerd-${n.name}`] > 0, `containerd of ${n.name} in state.json`);
    assert.ok(state.children[`kubelet-${n.name}`] > 0, `kubelet of ${n.name} in state.json`);
    const eth0 = (await ipJson(["-n", n.netns, "addr", "show", "dev", "eth0"]))[0];
    assert.ok(
      eth0.addr_info.some((a: any) => a.local === n.nodeIp && a.prefixlen === 24),
      `${n.name} has ${n.nodeIp}/24`,
    );
    const routes: any[] = await ipJson(["-n", n.netns, "-4", "route", "show"]);
    assert.ok(!routes.some((r) => r.dst === "default"), `${n.name}: no default route`);
    const other = n === n1 ? n2 : n1;
    assert.ok(
      routes.some((r) => r.dst === other.podCidr && r.gateway === other.nodeIp),
      `${n.name} routes ${other.podCidr} via ${other.nodeIp}: ${JSON.stringify(routes)}`,
    );
    assert.ok(
      routes.some((r) => r.dst === "192.168.0.0/16" && r.type === "unreachable"),
      "192.168.0.0/16 unreachable",
    );
    // The service and external ranges go to a bridge with no ports (so the node's own
    // connections reach the agent's DNAT; without a rule they go nowhere).
    for (const cidr of ["10.0.0.0/24", "172.16.0.0/24"])
      assert.ok(
        routes.some((r) => r.dst === cidr && r.dev === "rvsink" && r.prefsrc === n.nodeIp),
        `${cidr} to rvsink: ${JSON.stringify(routes)}`,
      );
    const sinkPorts = (await ipJson(["-n", n.netns, "link", "show"])).filter(
      (l: any) => l.master === "rvsink",
    );
    assert.deepEqual(sinkPorts, [], "the sink bridge has no ports");
    // Nothing leaves: no route to an outside address, and a connection fails at once.
    const get = await sh("ip", ["-n", n.netns, "route", "get", "192.0.2.1"]);
    assert.notEqual(get.code, 0);
    assert.match(get.out, /unreachable/i);
    const curlOut = await inNetns(n, "curl", ["-sS", "--connect-timeout", "3", "http://192.0.2.1/"]);
    assert.notEqual(curlOut.code, 0);
    assert.match(curlOut.out, /unreachable|Couldn't connect/i);
    const svc = await inNetns(n, "curl", ["-sS", "--connect-timeout", "5", "http://10.0.0.9/"]);
    assert.notEqual(svc.code, 0, "no rule, no answer");
    assert.match(svc.out, /No route to host|timed out|Couldn't connect/i);
    // Forwarding and bridge netfilter are on inside the node only.
    for (const [key, want] of [
      ["net/ipv4/ip_forward", "1"],
      ["net/bridge/bridge-nf-call-iptables", "1"],
    ])
      assert.equal((await inNetns(n, "cat", [`/proc/sys/${key}`])).out.trim(), want, key);
    // Reachability on the underlay.
    for (const target of [gw, other.nodeIp]) {
      const ping = await inNetns(n, "busybox", ["ping", "-c", "1", "-W", "3", target]);
      assert.equal(ping.code, 0, `${n.name} pings ${target}: ${ping.out}`);
    }
    // The API server on the gateway, verified against the sandbox CA (the cert names the IP).
    const ready = await inNetns(n, "curl", [
      "-sS",
      "--cacert",
      join(sb.dir, "pki", "ca.crt"),
      `https://${gw}:${cfg.apiserverPort}/readyz`,
    ]);
    assert.equal(ready.out, "ok", `readyz from ${n.name}`);
    const kubeconfig = readFileSync(join(n.root, "kubelet.kubeconfig"), "utf8");
    assert.match(kubeconfig, new RegExp(`server: https://${gw.replaceAll(".", "\\.")}:${cfg.apiserverPort}`));
    // CRI answers on the node's containerd.
    const cri = CriClient.connect(n.containerdSocket);
    try {
      assert.equal((await cri.version()).runtimeName, "containerd");
      const tags = (await cri.listImages()).flatMap((i) => i.repoTags);
      assert.ok(tags.includes("registry.k8s.io/pause:3.9"), `images: ${tags.join(", ")}`);
    } finally {
      cri.close();
    }
  }
  assert.equal(hostIpForward(), forwardBefore, "host ip_forward untouched");

  // A running pod (CNI ADD, overlay rootfs, netns mount) and an nft table with our prefix.
  const pod = await runPod(n1, "web");
  assert.ok(pod.ip.startsWith("10.244.1."), `pod IP ${pod.ip} in ${n1.podCidr}`);
  const fromOther = await inNetns(n2, "busybox", ["ping", "-c", "1", "-W", "3", pod.ip]);
  assert.equal(fromOther.code, 0, `node-2 reaches a pod on node-1: ${fromOther.out}`);
  // The host drops what a pod sends it: its answer would take the default route out of the machine.
  const rpf = await sh("ip", ["route", "get", gw, "from", pod.ip, "iif", `${cfg.instanceId}-br`]);
  assert.notEqual(rpf.code, 0, `host accepts a packet from pod ${pod.ip}: ${rpf.out}`);
  const fromNode = await sh("ip", ["route", "get", gw, "from", n2.nodeIp, "iif", `${cfg.instanceId}-br`]);
  assert.equal(fromNode.code, 0, `host accepts a packet from a node: ${fromNode.out}`);
  assert.equal((await sh("nft", ["add", "table", "inet", `${cfg.instanceId}-test`])).code, 0);
  assert.notDeepEqual(await leftovers(cfg.dir, cfg.instanceId), []);

  await down(sb.dir);
  assert.deepEqual(await leftovers(cfg.dir, cfg.instanceId), []);
  assert.equal(hostIpForward(), forwardBefore, "host ip_forward untouched");
});

test("a supervisor killed with SIGKILL: up recovers, and down still removes everything", async (t) => {
  const sb = await startSandbox({ nodes: 1 });
  t.after(() => sb.stop());
  const { cfg, layouts } = sandboxInfo(sb, 1);
  const [n1] = layouts;
  const killHard = async () => {
    const state = JSON.parse(readFileSync(join(sb.dir, "state.json"), "utf8"));
    process.kill(state.pid, "SIGKILL");
    await eventually(() => !existsSync(`/proc/${state.pid}`), 10_000, "supervisor gone");
    return state.children as Record<string, number>;
  };

  await runPod(n1, "first");
  const children = await killHard();
  assert.ok(existsSync(`/proc/${children[`containerd-${n1.name}`]}`), "containerd outlives its supervisor");

  // `up` again: stops the orphans, reuses the network, and the node works.
  const again = await run(RAVEN, ["sandbox", "up", "--detach", "--dir", sb.dir, "--nodes", "1"], {
    timeoutMs: 120_000,
  });
  assert.equal(again.code, 0, again.stderr);
  // Killed orphans are reaped by PID 1, which may take a moment.
  for (const pid of Object.values(children))
    await eventually(() => processGone(pid, sb.dir), 5000, `orphan ${pid} stopped (${cmdline(pid)})`);
  const ready = await inNetns(n1, "curl", [
    "-sS",
    "--cacert",
    join(sb.dir, "pki", "ca.crt"),
    `https://${n1.gatewayIp}:${cfg.apiserverPort}/readyz`,
  ]);
  assert.equal(ready.out, "ok");
  const second = await runPod(n1, "second");
  assert.ok(second.ip.startsWith("10.244.1."), `pod IP ${second.ip}`);

  await killHard();
  await down(sb.dir);
  assert.deepEqual(await leftovers(cfg.dir, cfg.instanceId), []);
  rmSync(sb.dir, { recursive: true, force: true });
});
