// kubectl logs / exec / port-forward, with the real kubectl (1.33 and 1.27), through the real
// sandbox API server, our kubelet server and a real containerd: the API server proxies to the
// kubelet named by the Node object, which asks containerd's CRI for a streaming URL and passes
// the upgrade through. The node here is a network namespace of the test's own (veth to the
// host, no default route) with a private containerd; the kubelet server runs inside it. The
// test plays the rest of the kubelet: it registers the Node, starts the pod's containers over
// CRI and reports the pod Running.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CriClient } from "../src/cri/client.ts";
import type { ContainerConfig, PodSandboxConfig } from "../src/cri/types.ts";
import { NODES, PODS } from "../src/kube/resource.ts";
import { buildImages } from "../src/sandbox/images/build.ts";
import { catalogImage, SANDBOX_IMAGE } from "../src/sandbox/images/catalog.ts";
import { importImages } from "../src/sandbox/images/import.ts";
import { ensureKubeletCert } from "../src/sandbox/kubelet/server/cert.ts";
import type { KubeletPod } from "../src/sandbox/kubelet/server/types.ts";
import {
  cleanupContainerdState,
  startContainerd,
  stopContainerd,
  waitContainerdReady,
} from "../src/sandbox/node/containerd.ts";
import { nodeLayout } from "../src/sandbox/node/layout.ts";
import { KUBECTL, type Sandbox, startSandbox } from "./support/sandbox.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NODE_BIN = join(ROOT, "node_modules", ".bin", "node");
const NODE_NAME = "stream-node";

/** The kubelet server in the node's netns; its pod lookup re-reads a JSON file the test writes. */
const KUBELET_MAIN = `
import { readFileSync } from "node:fs";
import { CriClient } from ${JSON.stringify(join(ROOT, "src/cri/client.ts"))};
import { startKubeletServer } from ${JSON.stringify(join(ROOT, "src/sandbox/kubelet/server/server.ts"))};
import { createLogger } from ${JSON.stringify(join(ROOT, "src/util/log.ts"))};
const o = JSON.parse(process.env.RAVEN_STREAM_TEST);
const runtime = CriClient.connect(o.socket);
const server = await startKubeletServer({
  host: o.host, port: o.port, certFile: o.certFile, keyFile: o.keyFile, authToken: o.token, runtime,
  pods: { find: (ns, name) => JSON.parse(readFileSync(o.podsFile, "utf8"))[ns + "/" + name] },
  log: createLogger("kubelet-server", { level: "warn" }),
});
process.stdout.write("ready " + server.port + "\\n");
process.once("SIGTERM", () => void server.close().then(() => { runtime.close(); process.exit(0); }));
`;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A free /30 in 10.253.0.0/16 for the host<->node veth (checked against the host's routes). */
async function pickLinkNet(): Promise<number> {
  const { stdout } = await run("ip", ["-4", "route", "show"]);
  for (;;) {
    const third = randomBytes(1)[0];
    if (!stdout.includes(`10.253.${third}.`)) return third;
  }
}

/** A long-running kubectl whose stdout we watch. */
function spawnKubectl(sb: Sandbox, version: "1.33" | "1.27", args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: sb.kubeconfig, HOME: join(sb.dir, "home") };
  delete env.NODE_EXTRA_CA_CERTS;
  const child = spawn(KUBECTL(version), args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, out: () => out, err: () => err };
}

test("kubectl logs, exec and port-forward reach real containers through the kubelet server", {
  timeout: 300_000,
}, async (t) => {
  // Clean-up steps run last-registered first, each even when an earlier one fails.
  const cleanups: (() => Promise<unknown>)[] = [];
  const defer = (fn: () => Promise<unknown>) => cleanups.push(fn);
  t.after(async () => {
    const errors: unknown[] = [];
    for (const fn of cleanups.reverse()) await fn().catch((e) => errors.push(e));
    if (errors.length) throw errors[0];
  });
  const suffix = randomBytes(3).toString("hex");
  const netns = `rvst${suffix}`;
  const hostVeth = `rvst${suffix}h`;
  const third = await pickLinkNet();
  const hostIp = `10.253.${third}.1`;
  const nodeIp = `10.253.${third}.2`;
  const podSubnet = `10.251.${third}.0/24`;
  const tmp = await mkdtemp(`/tmp/rvst-${suffix}-`);
  defer(() => rm(tmp, { recursive: true, force: true }));

  const sb = await startSandbox({ nodes: 0 });
  defer(() => sb.stop());

  // The node: a netns joined to the host by a veth, and nothing else (no default route).
  await run("ip", ["netns", "add", netns]);
  defer(() => run("ip", ["netns", "del", netns]));
  await run("ip", ["link", "add", hostVeth, "type", "veth", "peer", "name", `rvst${suffix}n`]);
  defer(() => run("ip", ["link", "del", hostVeth]).catch(() => undefined)); // gone with the netns
  await run("ip", ["link", "set", `rvst${suffix}n`, "netns", netns]);
  await run("ip", ["-n", netns, "link", "set", `rvst${suffix}n`, "name", "eth0"]);
  await run("ip", ["addr", "add", `${hostIp}/30`, "dev", hostVeth]);
  await run("ip", ["link", "set", hostVeth, "up"]);
  await run("ip", ["-n", netns, "addr", "add", `${nodeIp}/30`, "dev", "eth0"]);
  await run("ip", ["-n", netns, "link", "set", "eth0", "up"]);
  await run("ip", ["-n", netns, "link", "set", "lo", "up"]);

  const base = nodeLayout(
    tmp,
    { instanceId: netns, nodeCidr: "10.253.0.0/24", nodePodCidr: "10.251.0.0/16" },
    1,
  );
  const layout = { ...base, name: NODE_NAME, netns, netnsPath: `/run/netns/${netns}`, nodeIp };
  await mkdir(layout.cniConfDir, { recursive: true });
  await writeFile(
    join(layout.cniConfDir, "10-test.conflist"),
    JSON.stringify({
      cniVersion: "1.0.0",
      name: netns,
      plugins: [
        {
          type: "bridge",
          bridge: `rvst${suffix}b`,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: "host-local", ranges: [[{ subnet: podSubnet }]], dataDir: layout.cniDataDir },
        },
      ],
    }),
  );

  // containerd in the node, with the sandbox's images.
  const logFile = join(tmp, "containerd.log");
  const containerd = await startContainerd(layout, { sandboxImage: SANDBOX_IMAGE, logFile });
  const cri = CriClient.connect(layout.containerdSocket);
  defer(async () => {
    try {
      for (const c of await cri.listContainers()) await cri.removeContainer(c.id).catch(() => undefined);
      for (const p of await cri.listPodSandbox()) {
        await cri.stopPodSandbox(p.id).catch(() => undefined);
        await cri.removePodSandbox(p.id).catch(() => undefined);
      }
    } catch {
      // containerd already gone
    }
    cri.close();
    await stopContainerd(containerd);
    assert.deepEqual(await cleanupContainerdState(layout), []);
  });
  await waitContainerdReady(layout, { child: containerd, logFile });
  const images = await buildImages({ only: ["busybox", "pause"] });
  await importImages(layout.containerdSocket, images);

  // The pod: two containers, "app" (logs, stdin, an HTTP server on 8080) and "side".
  const uid = `uid-${suffix}`;
  const logDir = join(tmp, "pod-logs", `default_web_${uid}`);
  for (const c of ["app", "side"]) await mkdir(join(logDir, c), { recursive: true });
  const sandboxConfig: PodSandboxConfig = {
    metadata: { name: "web", uid, namespace: "default", attempt: 0 },
    hostname: "web",
    logDirectory: logDir,
    labels: { "raven-test": suffix },
    linux: { securityContext: { namespaceOptions: { network: 0, pid: 1, ipc: 0 } } },
  };
  const sandboxId = await cri.runPodSandbox(sandboxConfig);
  const podIp = (await cri.podSandboxStatus(sandboxId)).status.network?.ip ?? "";
  assert.ok(podIp.startsWith(`10.251.${third}.`), `pod IP ${podIp}`);
  const busybox = catalogImage("busybox").ref;
  const container = async (name: string, attempt: number, script: string): Promise<string> => {
    const config: ContainerConfig = {
      metadata: { name, attempt },
      image: { image: busybox },
      command: ["sh", "-c", script],
      labels: { "raven-test": suffix },
      logPath: `${name}/${attempt}.log`,
    };
    const id = await cri.createContainer(sandboxId, config, sandboxConfig);
    await cri.startContainer(id);
    return id;
  };
  const appId = await container(
    "app",
    0,
    "echo hello-log-1; echo err-line >&2; mkdir -p /www; echo hello-from-pod > /www/index.html; " +
      "httpd -p 8080 -h /www; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done",
  );
  const sideId = await container("side", 0, "echo side-car-says-hi; exec sleep 3600");

  // What the kubelet knows about the pod (re-read on every request by the kubelet server).
  const podsFile = join(tmp, "pods.json");
  const setLookup = (pod: KubeletPod) => writeFile(podsFile, JSON.stringify({ "default/web": pod }));
  await setLookup({
    uid,
    sandboxId,
    containers: [
      { name: "app", id: appId, logPath: join(logDir, "app/0.log") },
      { name: "side", id: sideId, logPath: join(logDir, "side/0.log") },
    ],
  });

  // The kubelet server inside the node, with a certificate from the sandbox CA and the
  // sandbox's kubelet token (what the API server presents).
  const cert = ensureKubeletCert(join(sb.dir, "pki"), { root: join(tmp, "node"), name: NODE_NAME, nodeIp });
  const cfg = JSON.parse(await readFile(join(sb.dir, "config.json"), "utf8"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RAVEN_STREAM_TEST: JSON.stringify({
      socket: layout.containerdSocket,
      host: nodeIp,
      port: 10250,
      ...cert,
      token: cfg.tokens.kubelet.token,
      podsFile,
    }),
  };
  const kubelet: ChildProcess = spawn(
    "nsenter",
    [`--net=${layout.netnsPath}`, NODE_BIN, "--input-type=module", "-e", KUBELET_MAIN],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] },
  );
  defer(async () => {
    if (kubelet.exitCode === null) {
      const exited = once(kubelet, "exit");
      kubelet.kill("SIGTERM");
      const timer = setTimeout(() => kubelet.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  });
  const [ready] = (await once(kubelet.stdout!, "data")) as [Buffer];
  assert.match(ready.toString(), /^ready 10250/);

  // The API objects: the Node with its kubelet endpoint, the pod bound to it and Running.
  const node = await sb.client.create(NODES, {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: NODE_NAME },
  });
  (node as any).status = {
    ...(node as any).status,
    addresses: [
      { type: "InternalIP", address: nodeIp },
      { type: "Hostname", address: NODE_NAME },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
  };
  await sb.client.updateStatus(NODES, node);
  const pod = await sb.client.create(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default" },
    spec: {
      nodeName: NODE_NAME,
      containers: [
        { name: "app", image: "busybox" },
        { name: "side", image: "busybox" },
      ],
    },
  } as any);
  (pod as any).status = { ...(pod as any).status, phase: "Running", podIP: podIp, podIPs: [{ ip: podIp }] };
  await sb.client.updateStatus(PODS, pod);

  for (const version of ["1.33", "1.27"] as const) {
    const kubectl = (args: string[], input?: string) =>
      sb.kubectl(args, { version, input, timeoutMs: 30_000 });

    // logs: both streams, -c, --tail, the apiserver's container check.
    const logs = await kubectl(["logs", "web", "-c", "app"]);
    assert.equal(logs.code, 0, logs.stderr);
    // stdout and stderr are copied separately by containerd: their relative order may vary.
    assert.deepEqual(logs.stdout.split("\n").slice(0, 3).sort(), ["err-line", "hello-log-1", "tick 1"]);
    const side = await kubectl(["logs", "web", "-c", "side"]);
    assert.equal(side.stdout, "side-car-says-hi\n");
    const tail = await kubectl(["logs", "web", "-c", "app", "--tail=1"]);
    assert.match(tail.stdout, /^tick \d+\n$/);
    const ts = await kubectl(["logs", "web", "-c", "side", "--timestamps"]);
    assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z side-car-says-hi\n$/);

    // exec: the pod's network (ip a shows the pod IP), stdin, exit codes.
    const ipA = await kubectl(["exec", "web", "-c", "app", "--", "ip", "a"]);
    assert.equal(ipA.code, 0, ipA.stderr);
    assert.match(ipA.stdout, new RegExp(`inet ${podIp.replaceAll(".", "\\.")}/24`));
    // (1.33 first asks for WebSocket v5, which containerd 1.6 refuses; the SPDY fallback is silent.)
    assert.equal(ipA.stderr, "");
    const stdin = await kubectl(
      ["exec", "-i", "web", "-c", "app", "--", "sh", "-c", "cat; echo done"],
      "from-stdin\n",
    );
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.equal(stdin.stdout, "from-stdin\ndone\n");
    const exit3 = await kubectl([
      "exec",
      "web",
      "-c",
      "app",
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 3",
    ]);
    assert.equal(exit3.code, 3);
    assert.equal(exit3.stdout, "out\n");
    assert.match(exit3.stderr, /err\n/);
    assert.match(exit3.stderr, /command terminated with exit code 3/);

    // attach: the running process's output.
    const attach = spawnKubectl(sb, version, ["attach", "web", "-c", "app"]);
    try {
      await until("attached output", async () => (/tick \d+\n/.test(attach.out()) ? true : undefined));
    } finally {
      attach.child.kill("SIGTERM");
      await attach.exited;
    }

    // port-forward: a local port reaches the pod's port 8080.
    const pf = spawnKubectl(sb, version, ["port-forward", "pod/web", ":8080"]);
    try {
      const localPort = await until(
        "port-forward to listen",
        async () => pf.out().match(/127\.0\.0\.1:(\d+) -> 8080/)?.[1],
      );
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`http://127.0.0.1:${localPort}/`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), "hello-from-pod\n");
      }
    } finally {
      pf.child.kill("SIGTERM");
      await pf.exited;
    }
  }

  // A container the pod does not have: kube-apiserver's message.
  const wrong = await sb.kubectl(["logs", "web", "-c", "nope"]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /container nope is not valid for pod web/);

  // logs -f: follows new lines, and ends when the container stops (here: a restart).
  const follow = spawnKubectl(sb, "1.33", ["logs", "-f", "web", "-c", "app"]);
  try {
    const first = Number(
      await until("a followed tick", async () => follow.out().match(/tick (\d+)\n$/)?.[1]),
    );
    await until("a newer tick", async () =>
      follow.out().includes(`tick ${first + 1}\n`) ? true : undefined,
    );
    await cri.stopContainer(appId, 0);
    const appNew = await container("app", 1, "echo second-run; exec sleep 3600");
    await setLookup({
      uid,
      sandboxId,
      containers: [
        {
          name: "app",
          id: appNew,
          logPath: join(logDir, "app/1.log"),
          previousLogPath: join(logDir, "app/0.log"),
        },
        { name: "side", id: sideId, logPath: join(logDir, "side/0.log") },
      ],
    });
    const code = await Promise.race([
      follow.exited,
      new Promise((r) => setTimeout(() => r("still running"), 15_000)),
    ]);
    assert.equal(code, 0, `kubectl logs -f should end once the container stops: ${follow.err()}`);
  } finally {
    follow.child.kill("SIGTERM");
  }

  // --previous: the instance before the restart; without it, the new one.
  const current = await until("the new instance's log", async () => {
    const r = await sb.kubectl(["logs", "web", "-c", "app"]);
    return r.stdout === "second-run\n" ? r : undefined;
  });
  assert.equal(current.code, 0);
  const previous = await sb.kubectl(["logs", "web", "-c", "app", "--previous"], { version: "1.27" });
  assert.equal(previous.code, 0, previous.stderr);
  assert.match(previous.stdout, /^(hello-log-1\nerr-line|err-line\nhello-log-1)\ntick 1\n(tick \d+\n)+$/);
  const noPrevious = await sb.kubectl(["logs", "web", "-c", "side", "--previous"]);
  assert.notEqual(noPrevious.code, 0);
  assert.match(noPrevious.stderr, /previous terminated container "side" in pod "web" not found/);
});

test("with a sandbox node: kubectl logs -f/--previous, exec and port-forward against kubelet-run pods", {
  timeout: 240_000,
}, async (t) => {
  const sb = await startSandbox({ nodes: 1 });
  t.after(() => sb.stop());
  const kubectl = (args: string[], version: "1.33" | "1.27" = "1.33") =>
    sb.kubectl(args, { version, timeoutMs: 60_000 });
  await until(
    "node-1 Ready",
    async () => {
      const r = await kubectl([
        "get",
        "node",
        "node-1",
        "-o",
        "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
      ]);
      return r.stdout === "True" ? true : undefined;
    },
    60_000,
  );

  // counter prints three lines and fails; restartPolicy Always runs it again after the back-off.
  const script = 'for i in 1 2 3; do echo "line $i"; sleep 1; done; exit 1';
  for (const [name, image, args] of [
    ["counter", "busybox", ["--", "sh", "-c", script]],
    ["bb", "busybox", ["--", "sleep", "3600"]],
    ["hello", "gcr.io/google-samples/hello-app:1.0", []],
  ] as const) {
    const r = await kubectl(["run", name, `--image=${image}`, ...args]);
    assert.equal(r.code, 0, r.stderr);
  }
  const runningIp = (name: string) =>
    until(
      `${name} Running`,
      async () => {
        const r = await kubectl(["get", "pod", name, "-o", "jsonpath={.status.phase} {.status.podIP}"]);
        const [phase, ip] = r.stdout.split(" ");
        return phase === "Running" && ip ? ip : undefined;
      },
      60_000,
    );

  // logs -f follows the lines as they come and ends when the container exits.
  await runningIp("counter");
  const follow = spawnKubectl(sb, "1.33", ["logs", "-f", "counter"]);
  const code = await Promise.race([
    follow.exited,
    new Promise((r) => setTimeout(() => r("still running"), 20_000)),
  ]);
  follow.child.kill("SIGTERM");
  assert.equal(code, 0, follow.err());
  assert.match(follow.out(), /line 1\nline 2\nline 3\n$/);

  // exec: ip a shows the pod IP (both kubectls).
  const bbIp = await runningIp("bb");
  for (const version of ["1.33", "1.27"] as const) {
    const ipA = await kubectl(["exec", "bb", "--", "ip", "a"], version);
    assert.equal(ipA.code, 0, ipA.stderr);
    assert.match(ipA.stdout, new RegExp(`inet ${bbIp.replaceAll(".", "\\.")}/`));
  }

  // port-forward to hello-app: it answers with its hostname.
  await runningIp("hello");
  for (const version of ["1.33", "1.27"] as const) {
    const pf = spawnKubectl(sb, version, ["port-forward", "pod/hello", ":8080"]);
    try {
      const port = await until(
        "port-forward to listen",
        async () => pf.out().match(/127\.0\.0\.1:(\d+) -> 8080/)?.[1],
      );
      const res = await fetch(`http://127.0.0.1:${port}/`);
      assert.match(await res.text(), /Hostname: hello/);
    } finally {
      pf.child.kill("SIGTERM");
      await pf.exited;
    }
  }

  // After the restart, --previous shows the first run.
  await until(
    "counter restarted",
    async () => {
      const r = await kubectl([
        "get",
        "pod",
        "counter",
        "-o",
        "jsonpath={.status.containerStatuses[0].restartCount}",
      ]);
      return Number(r.stdout) >= 1 ? true : undefined;
    },
    60_000,
  );
  const previous = await kubectl(["logs", "counter", "--previous"], "1.27");
  assert.equal(previous.code, 0, previous.stderr);
  assert.equal(previous.stdout, "line 1\nline 2\nline 3\n");
});
