// `raven sandbox up|stop|down|status`: starts etcd, the API server and the controllers as
// child processes, restarts any that die, and stops exactly what it started (by PID).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { Agent, request } from "undici";
import { annotationKeys } from "../controller/annotations.ts";
import { kubeconfigYaml, loadOrCreateConfig, paths, readConfig, type SandboxConfig } from "./config.ts";
import { type RunningEtcd, startEtcd } from "./etcd/process.ts";
import { ensurePki } from "./pki.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

export interface UpOptions {
  dir: string;
  virtualNodes?: number;
  nodes?: number;
  controllers?: string;
  backend?: SandboxConfig["backend"];
  audit?: boolean;
  ravenController?: boolean;
  annotationPrefix?: string;
  annotationNames?: SandboxConfig["annotationNames"];
  detach?: boolean;
  log: Logger;
  /** Where to print the `export KUBECONFIG=...` line. */
  out?: (line: string) => void;
}

interface State {
  pid: number;
  ready: boolean;
  children: Record<string, number>;
  startedAt: string;
}

/** The argv that runs a raven subcommand on this same Node. */
export function ravenCommand(args: string[]): { cmd: string; args: string[] } {
  return { cmd: process.execPath, args: ["--disable-warning=ExperimentalWarning", MAIN, ...args] };
}

/** Our children need no extra CA bundle; loading the machine's costs every Node start ~70 ms. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when `pid` is a live process whose command line mentions `marker` (our sandbox dir). */
export function isOurs(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").includes(marker);
  } catch {
    return false;
  }
}

function readState(dir: string): State | undefined {
  const f = paths(dir).state;
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, "utf8"));
  } catch {
    return undefined;
  }
}

async function waitReady(cfg: SandboxConfig, timeoutMs: number, alive: () => boolean): Promise<void> {
  const ca = readFileSync(join(paths(cfg.dir).pki, "ca.crt"));
  const agent = new Agent({ connect: { ca } });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (!alive()) throw new Error("the API server exited during start-up; see logs/apiserver.log");
      try {
        const r = await request(`https://127.0.0.1:${cfg.apiserverPort}/readyz`, { dispatcher: agent });
        await r.body.text();
        if (r.statusCode === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error("the API server did not become ready in time");
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await agent.close();
  }
}

class Component {
  readonly name: string;
  private readonly argv: string[];
  private readonly logFile: string;
  private readonly log: Logger;
  child?: ChildProcess;
  private stopping = false;
  private restarts = 0;
  private startedAt = 0;

  constructor(name: string, argv: string[], logFile: string, log: Logger) {
    this.name = name;
    this.argv = argv;
    this.logFile = logFile;
    this.log = log;
  }

  start(): void {
    const { cmd, args } = ravenCommand(this.argv);
    const fd = openSync(this.logFile, "a");
    this.startedAt = Date.now();
    const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], env: childEnv() });
    this.child = child;
    child.once("exit", (code, signal) => {
      if (this.stopping) return;
      // Crash-looping components back off like a kubelet would.
      if (Date.now() - this.startedAt > 60_000) this.restarts = 0;
      const delay = Math.min(500 * 2 ** this.restarts++, 30_000);
      this.log.warn({ component: this.name, code, signal, delay }, "component exited; restarting");
      setTimeout(() => !this.stopping && this.start(), delay);
    });
  }

  get alive(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    c.kill("SIGTERM");
    const t = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(t);
  }
}

export async function up(opts: UpOptions): Promise<void> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const existing = readState(opts.dir);
  if (existing && isAlive(existing.pid) && isOurs(existing.pid, "sandbox")) {
    throw new Error(
      `a sandbox is already running in ${opts.dir} (pid ${existing.pid}); use 'raven sandbox status'`,
    );
  }
  const overrides: Partial<SandboxConfig> = {};
  if (opts.virtualNodes !== undefined) overrides.virtualNodes = opts.virtualNodes;
  if (opts.nodes !== undefined) overrides.nodes = opts.nodes;
  if (opts.controllers !== undefined) overrides.controllers = opts.controllers;
  if (opts.backend !== undefined) overrides.backend = opts.backend;
  if (opts.audit !== undefined) overrides.audit = opts.audit;
  if (opts.ravenController !== undefined) overrides.ravenController = opts.ravenController;
  if (opts.annotationPrefix !== undefined) overrides.annotationPrefix = opts.annotationPrefix;
  if (opts.annotationNames !== undefined) overrides.annotationNames = opts.annotationNames;
  const cfg = await loadOrCreateConfig(opts.dir, overrides);
  if (opts.detach) return detach(cfg, opts, out);
  const p = paths(cfg.dir);
  mkdirSync(p.logs, { recursive: true });
  const pki = ensurePki(p.pki, ["10.0.0.1"]);
  writeFileSync(p.kubeconfig, kubeconfigYaml(cfg, "admin", pki.caCert), { mode: 0o600 });
  for (const id of ["controller-manager", "raven-controller", "raven-agent", "kubelet"])
    writeFileSync(p.componentKubeconfig(id), kubeconfigYaml(cfg, id, pki.caCert), { mode: 0o600 });

  const state: State = { pid: process.pid, ready: false, children: {}, startedAt: new Date().toISOString() };
  const saveState = () => writeFileSync(p.state, JSON.stringify(state, null, 2));
  saveState();
  let etcd: RunningEtcd | undefined;
  const components: Component[] = [];
  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => {
    shuttingDown ??= (async () => {
      opts.log.info("stopping sandbox");
      for (const c of [...components].reverse()) await c.stop();
      await etcd?.stop();
      rmSync(p.state, { force: true });
      opts.log.info("sandbox stopped");
    })();
    return shuttingDown;
  };
  const onSignal = () => void shutdown().then(() => process.exit(0));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    etcd = await startEtcd({
      dataDir: p.etcdData,
      logFile: join(p.logs, "etcd.log"),
      clientPort: cfg.etcdClientPort,
      peerPort: cfg.etcdPeerPort,
    });
    state.children.etcd = etcd.child.pid!;
    const apiserver = new Component(
      "apiserver",
      ["sandbox", "apiserver", "--dir", cfg.dir],
      join(p.logs, "apiserver.log"),
      opts.log,
    );
    components.push(apiserver);
    apiserver.start();
    await waitReady(cfg, 60_000, () => apiserver.alive);
    state.children.apiserver = apiserver.child!.pid!;
    const cm = new Component(
      "controller-manager",
      [
        "sandbox",
        "controller-manager",
        "--dir",
        cfg.dir,
        "--virtual-nodes",
        String(cfg.virtualNodes),
        "--controllers",
        cfg.controllers,
        // With Raven as the network, a virtual pod gets its IP from Raven's port, as with a CNI.
        ...(cfg.backend === "none" ? [] : ["--wait-for-port-annotation"]),
        "--port-annotation",
        annotationKeys(cfg.annotationPrefix, cfg.annotationNames).port,
      ],
      join(p.logs, "controller-manager.log"),
      opts.log,
    );
    components.push(cm);
    cm.start();
    state.children["controller-manager"] = cm.child!.pid!;
    if (cfg.backend !== "none") await installRavenCrds(p.kubeconfig);
    if (cfg.backend !== "none" && cfg.ravenController) {
      const raven = new Component(
        "raven-controller",
        [
          "controller",
          "--kubeconfig",
          p.componentKubeconfig("raven-controller"),
          "--backend",
          cfg.backend,
          "--pod-cidr",
          cfg.podCidr,
          "--service-cidr",
          cfg.serviceCidr,
          "--external-cidr",
          cfg.externalCidr,
          "--listen",
          `127.0.0.1:${cfg.ravenMetricsPort}`,
          "--annotation-prefix",
          cfg.annotationPrefix,
          "--annotation-names",
          cfg.annotationNames,
        ],
        join(p.logs, "raven-controller.log"),
        opts.log,
      );
      components.push(raven);
      raven.start();
      state.children["raven-controller"] = raven.child!.pid!;
    }
    state.ready = true;
    saveState();
    out(`export KUBECONFIG=${p.kubeconfig}`);
  } catch (err) {
    await shutdown();
    throw err;
  }
  // Keep the pid map current as components restart.
  setInterval(() => {
    for (const c of components) if (c.child?.pid) state.children[c.name] = c.child.pid;
    if (!shuttingDown) saveState();
  }, 2000).unref();
  await new Promise<never>(() => {});
}

/** The embedded backend's CRDs, installed as the cluster admin would (kubectl apply -f deploy/crds). */
async function installRavenCrds(adminKubeconfig: string): Promise<void> {
  const { KubeClient } = await import("../kube/client.ts");
  const { installCrds } = await import("../sdn/embedded/crds.ts");
  const client = await KubeClient.fromKubeConfig({ path: adminKubeconfig });
  try {
    await installCrds(client);
  } finally {
    await client.close();
  }
}

async function detach(cfg: SandboxConfig, opts: UpOptions, out: (l: string) => void): Promise<void> {
  const p = paths(cfg.dir);
  mkdirSync(p.logs, { recursive: true });
  const fd = openSync(join(p.logs, "sandbox.log"), "a");
  const { cmd, args } = ravenCommand(["sandbox", "up", "--dir", cfg.dir]);
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", fd, fd], env: childEnv() });
  child.unref();
  const deadline = Date.now() + 120_000;
  for (;;) {
    const s = readState(cfg.dir);
    if (s?.ready && s.pid === child.pid) break;
    if (child.exitCode !== null || !isAlive(child.pid!))
      throw new Error(`the sandbox failed to start; see ${join(p.logs, "sandbox.log")}`);
    if (Date.now() > deadline) throw new Error("the sandbox did not become ready in time");
    await new Promise((r) => setTimeout(r, 100));
  }
  opts.log.debug({ pid: child.pid }, "sandbox running in the background");
  out(`export KUBECONFIG=${p.kubeconfig}`);
}

/** Stops a running sandbox (keeps its data). Returns false when nothing was running. */
export async function stop(dir: string, timeoutMs = 60_000): Promise<boolean> {
  const s = readState(dir);
  if (!s) return false;
  const pids = [s.pid, ...Object.values(s.children)];
  if (isAlive(s.pid) && (isOurs(s.pid, dir) || isOurs(s.pid, "sandbox up"))) {
    process.kill(s.pid, "SIGTERM");
    const deadline = Date.now() + timeoutMs;
    while (isAlive(s.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }
  // A supervisor killed with -9 leaves its children: stop those that are still ours.
  for (const pid of pids) if (isAlive(pid) && isOurs(pid, dir)) process.kill(pid, "SIGKILL");
  for (const pid of pids) if (isOurs(pid, dir)) await new Promise((r) => setTimeout(r, 100));
  rmSync(paths(dir).state, { force: true });
  return true;
}

/** Stops the sandbox and removes everything it created. */
export async function down(dir: string, keepData = false): Promise<void> {
  await stop(dir);
  if (!keepData && readConfig(dir)) rmSync(dir, { recursive: true, force: true });
}

export async function status(
  dir: string,
): Promise<{ running: boolean; state?: State; components: Record<string, boolean>; server?: string }> {
  const s = readState(dir);
  const cfg = readConfig(dir);
  if (!s || !isAlive(s.pid)) return { running: false, components: {} };
  const components: Record<string, boolean> = {};
  for (const [name, pid] of Object.entries(s.children)) components[name] = isAlive(pid);
  return {
    running: true,
    state: s,
    components,
    server: cfg ? `https://127.0.0.1:${cfg.apiserverPort}` : undefined,
  };
}
