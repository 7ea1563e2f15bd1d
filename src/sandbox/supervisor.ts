// `raven sandbox up|stop|down|status`: starts etcd, the API server, the controllers and the real
// nodes (containerd + kubelet in a network namespace each) as child processes, restarts any that
// die, and stops exactly what it started (by PID). `down` also removes the nodes' network
// namespaces, links, mounts and processes (node/cleanup.ts), then the dir.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { Agent, request } from "undici";
import { annotationKeys } from "../api/annotations.ts";
import { Component, childEnv } from "./component.ts";
import { kubeconfigYaml, loadOrCreateConfig, paths, readConfig, type SandboxConfig } from "./config.ts";
import { deployedNodeOptions } from "./deployed-node-options.ts";
import { type RunningEtcd, startEtcd } from "./etcd/process.ts";
import type { BuiltImage } from "./images/build.ts";
import {
  deleteSandboxNetwork,
  deleteSandboxNftTables,
  killSandboxProcesses,
  mountsUnder,
  removeAllPods,
  removeEmptyRuncDirs,
  stopAllPods,
  unmountUnder,
} from "./node/cleanup.ts";
import { cleanupContainerdState } from "./node/containerd.ts";
import {
  deleteExternalHost,
  deleteNodeNetwork,
  deleteUnderlay,
  ensureExternalHost,
  ensureUnderlay,
  gatewayIp,
  netnsNames,
} from "./node/network.ts";
import { OpenStackServices } from "./openstack/services.ts";
import { ensureEtcdPki, ensurePki } from "./pki.ts";
import { neutronEnv, neutronFlags, nodeLayouts, RunningNode, SANDBOX_CLOUD } from "./real-nodes.ts";

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
  /** Where to print what happens, for a person: one short line per step, with its time. */
  progress?: (line: string) => void;
}

interface State {
  pid: number;
  ready: boolean;
  children: Record<string, number>;
  startedAt: string;
}

/** The argv that runs a raven subcommand on this same Node. */
export function ravenCommand(args: string[], nodeFlags: string[] = []): { cmd: string; args: string[] } {
  return {
    cmd: process.execPath,
    args: ["--disable-warning=ExperimentalWarning", ...nodeFlags, MAIN, ...args],
  };
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

/** `  etcd             0.4 s`: a step and how long it took, aligned for a person. */
export function progressLine(what: string, ms: number, detail = ""): string {
  return `  ${what.padEnd(17)}${(ms / 1000).toFixed(1).padStart(5)} s${detail ? `  (${detail})` : ""}`;
}

export async function up(opts: UpOptions): Promise<void> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const progress = opts.progress ?? (() => {});
  const existing = readState(opts.dir);
  if (existing && isAlive(existing.pid) && isOurs(existing.pid, "sandbox")) {
    throw new Error(
      `a sandbox is already running in ${opts.dir} (pid ${existing.pid}); use 'raven sandbox status'`,
    );
  }
  // A supervisor killed with -9 leaves its children (containerd holds its node's state): stop them.
  if (existing) await stop(opts.dir);
  const overrides: Partial<SandboxConfig> = {};
  if (opts.virtualNodes !== undefined) overrides.virtualNodes = opts.virtualNodes;
  if (opts.nodes !== undefined) overrides.nodes = opts.nodes;
  if (opts.controllers !== undefined) overrides.controllers = opts.controllers;
  if (opts.backend !== undefined) overrides.backend = opts.backend;
  if (opts.audit !== undefined) overrides.audit = opts.audit;
  if (opts.ravenController !== undefined) overrides.ravenController = opts.ravenController;
  if (opts.annotationPrefix !== undefined) overrides.annotationPrefix = opts.annotationPrefix;
  if (opts.annotationNames !== undefined) overrides.annotationNames = opts.annotationNames;
  // After stopping orphans, their ports may take a moment to be free again: keep the same ones.
  const cfg = await loadOrCreateConfig(opts.dir, overrides, { portWaitMs: existing ? 5000 : 0 });
  if (opts.detach) return detach(cfg, opts, out);
  const p = paths(cfg.dir);
  mkdirSync(p.logs, { recursive: true });
  const t0 = Date.now();
  const layouts = nodeLayouts(cfg);
  // Nodes reach the API server on the underlay's gateway: the serving cert must name it.
  const pki = ensurePki(p.pki, ["10.0.0.1", ...(layouts.length ? [gatewayIp(cfg.nodeCidr)] : [])]);
  writeFileSync(p.kubeconfig, kubeconfigYaml(cfg, "admin", pki.caCert), { mode: 0o600 });
  for (const id of ["controller-manager", "raven-controller", "raven-agent", "kubelet"])
    writeFileSync(p.componentKubeconfig(id), kubeconfigYaml(cfg, id, pki.caCert), { mode: 0o600 });

  const state: State = { pid: process.pid, ready: false, children: {}, startedAt: new Date().toISOString() };
  const saveState = () => writeFileSync(p.state, JSON.stringify(state, null, 2));
  saveState();
  let etcd: RunningEtcd | undefined;
  let openstack: OpenStackServices | undefined;
  const components: Component[] = [];
  const nodes: RunningNode[] = [];
  const track = (c: Component) => {
    c.onStart = (pid) => {
      state.children[c.name] = pid;
      if (!shuttingDown) saveState();
    };
    return c;
  };
  let shuttingDown: Promise<void> | undefined;
  /**
   * Stops everything it started, pods included (through CRI, so CNI DEL runs for each). On
   * `down` (`removePods`) the pods are removed too; otherwise their records stay, with etcd's
   * data, and the next `up` starts them again as a rebooted node would. The nodes' network
   * (namespaces, links, nft tables) goes either way: nothing of the sandbox runs or routes.
   */
  const shutdown = (removePods: boolean) => {
    shuttingDown ??= (async () => {
      const t = Date.now();
      opts.log.info({ removePods }, "stopping sandbox");
      progress("stopping");
      const pods = await Promise.all(nodes.map((n) => n.stop({ removePods })));
      if (nodes.length)
        progress(progressLine("nodes", Date.now() - t, `${pods.reduce((a, b) => a + b, 0)} pods stopped`));
      for (const c of [...components].reverse()) await c.stop();
      await openstack?.stop();
      await etcd?.stop();
      if (nodes.length) await releaseNodeNetworks(cfg.instanceId, opts.log);
      rmSync(p.state, { force: true });
      opts.log.info("sandbox stopped");
      progress(progressLine("stopped", Date.now() - t, removePods ? "" : `state kept in ${cfg.dir}`));
    })();
    return shuttingDown;
  };
  const onSignal = (removePods: boolean) => () => void shutdown(removePods).then(() => process.exit(0));
  process.once("SIGINT", onSignal(false));
  process.once("SIGTERM", onSignal(false));
  process.once(DOWN_SIGNAL, onSignal(true));
  try {
    // The bridge must exist before the API server listens on its address.
    await reconcileNodeNetworks(cfg, layouts.length);
    let prepared: Promise<void> = Promise.resolve();
    if (layouts.length) {
      const { buildImages } = await import("./images/build.ts");
      const images: Promise<BuiltImage[]> = buildImages();
      // With Raven, pods get their ports through raven-cni: bundled once, installed on each node.
      const ravenCni =
        cfg.backend === "none"
          ? undefined
          : import("../agent/cni-plugin.ts").then(async ({ buildCniBundle }) => {
              const bundle = join(cfg.dir, "cni", "raven-cni.cjs");
              await buildCniBundle(bundle);
              return bundle;
            });
      ravenCni?.catch(() => undefined);
      const deps = {
        cfg,
        all: layouts,
        caFile: pki.caCert,
        logsDir: p.logs,
        log: opts.log,
        images,
        raven: ravenCommand,
        ravenCni,
      };
      for (const l of layouts) {
        const n = new RunningNode(l, deps);
        track(n.containerd);
        track(n.kubelet);
        if (n.agent) track(n.agent);
        nodes.push(n);
      }
      // Networks, containerd and images while etcd and the API server start.
      prepared = Promise.all(
        nodes.map(async (n) => {
          const t = await n.prepare(deps);
          progress(
            progressLine(
              n.layout.name,
              t.networkMs + t.containerdMs + t.imagesMs,
              `network ${(t.networkMs / 1000).toFixed(1)} s, containerd ${(t.containerdMs / 1000).toFixed(1)} s, images ${(t.imagesMs / 1000).toFixed(1)} s`,
            ),
          );
        }),
      ).then(() => undefined);
      prepared.catch(() => undefined);
    }
    progress(`raven sandbox in ${cfg.dir}`);
    // Neutron and Octavia take ~15 s: they start while etcd and the API server do.
    const openstackStarted =
      cfg.backend === "neutron"
        ? startOpenStack(cfg, layouts.length ? gatewayIp(cfg.nodeCidr) : undefined)
        : undefined;
    openstackStarted?.catch(() => undefined);
    let tStep = Date.now();
    etcd = await startEtcd({
      dataDir: p.etcdData,
      logFile: join(p.logs, "etcd.log"),
      clientPort: cfg.etcdClientPort,
      peerPort: cfg.etcdPeerPort,
      pki: ensureEtcdPki(p.pki),
    });
    state.children.etcd = etcd.child.pid!;
    progress(progressLine("etcd", Date.now() - tStep));
    tStep = Date.now();
    const apiserver = new Component(
      "apiserver",
      ravenCommand(["sandbox", "apiserver", "--dir", cfg.dir]),
      join(p.logs, "apiserver.log"),
      opts.log,
    );
    components.push(apiserver);
    apiserver.start();
    await waitReady(cfg, 60_000, () => apiserver.alive);
    state.children.apiserver = apiserver.child!.pid!;
    progress(progressLine("API server", Date.now() - tStep));
    tStep = Date.now();
    const cm = new Component(
      "controller-manager",
      ravenCommand([
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
      ]),
      join(p.logs, "controller-manager.log"),
      opts.log,
    );
    components.push(cm);
    cm.start();
    state.children["controller-manager"] = cm.child!.pid!;
    progress(progressLine("controllers", Date.now() - tStep, "started"));
    tStep = Date.now();
    if (openstackStarted) {
      const t = Date.now();
      openstack = await openstackStarted;
      for (const [name, pid] of Object.entries(openstack.pids())) state.children[`openstack-${name}`] = pid;
      progress(
        progressLine(
          "openstack",
          Date.now() - t,
          `neutron ${openstack.endpoints.neutron}, octavia ${openstack.endpoints.octavia}`,
        ),
      );
      tStep = Date.now();
    }
    if (cfg.backend !== "none") await installRaven(p.kubeconfig);
    if (cfg.backend !== "none" && cfg.ravenController) {
      const raven = new Component(
        "raven-controller",
        {
          ...ravenCommand(
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
              ...(cfg.backend === "neutron" ? neutronFlags(cfg).slice(2) : []),
            ],
            deployedNodeOptions().split(/\s+/).filter(Boolean),
          ),
          ...(cfg.backend === "neutron" ? { env: neutronEnv(cfg) } : {}),
        },
        join(p.logs, "raven-controller.log"),
        opts.log,
      );
      components.push(raven);
      raven.start();
      state.children["raven-controller"] = raven.child!.pid!;
    }
    if (cfg.backend !== "none")
      progress(
        progressLine(
          "raven",
          Date.now() - tStep,
          cfg.ravenController ? "CRDs, RBAC, raven-controller" : "CRDs, RBAC",
        ),
      );
    await prepared;
    await Promise.all(nodes.map((n) => n.startKubelet()));
    state.ready = true;
    saveState();
    opts.log.info({ nodes: nodes.length, ms: Date.now() - t0 }, "sandbox ready");
    progress(progressLine("ready", Date.now() - t0, `logs in ${p.logs}`));
    out(`export KUBECONFIG=${p.kubeconfig}`);
  } catch (err) {
    await shutdown(false);
    throw err;
  }
  // Keep the pid map current as components restart.
  setInterval(() => {
    for (const c of [
      ...components,
      ...nodes.flatMap((n) => [n.containerd, n.kubelet, ...(n.agent ? [n.agent] : [])]),
    ])
      if (c.child?.pid) state.children[c.name] = c.child.pid;
    if (!shuttingDown) saveState();
  }, 2000).unref();
  await new Promise<never>(() => {});
}

/** PostgreSQL's data for --backend neutron: outside the (root-only) sandbox dir, named after the instance. */
function openstackDataDir(cfg: SandboxConfig): string {
  return `/var/tmp/${cfg.instanceId}-openstack-db`;
}

/** Neutron, Octavia and what they need, for --backend neutron; on the nodes' gateway when there are nodes. */
async function startOpenStack(cfg: SandboxConfig, host: string | undefined): Promise<OpenStackServices> {
  return OpenStackServices.start({
    dir: join(cfg.dir, "openstack"),
    dataDir: openstackDataDir(cfg),
    instance: cfg.instanceId,
    cloud: SANDBOX_CLOUD,
    host,
  });
}

/**
 * The underlay bridge when there are nodes (none otherwise), and no netns of a node the sandbox no
 * longer has (it was started with more nodes before).
 */
async function reconcileNodeNetworks(cfg: SandboxConfig, nodes: number): Promise<void> {
  const plan = { instanceId: cfg.instanceId, nodeCidr: cfg.nodeCidr, nodePodCidr: cfg.nodePodCidr };
  const { nodeLayout } = await import("./node/layout.ts");
  for (const ns of await netnsNames()) {
    const m = ns.match(/-node(\d+)$/);
    if (ns.startsWith(`${cfg.instanceId}-node`) && m && Number(m[1]) > nodes) {
      const gone = nodeLayout(cfg.dir, plan, Number(m[1]));
      // Its containers may still run under their shims (`stop` leaves pods running).
      await cleanupContainerdState(gone);
      await deleteNodeNetwork(gone);
    }
  }
  if (nodes > 0) {
    await ensureUnderlay(cfg.instanceId, cfg.nodeCidr);
    const ips = Array.from({ length: nodes }, (_, i) => nodeLayout(cfg.dir, plan, i + 1).nodeIp);
    await ensureExternalHost(cfg, ips);
  } else {
    await deleteExternalHost(cfg.instanceId);
    await deleteUnderlay(cfg.instanceId);
  }
}

/**
 * Raven as the cluster admin installs it (kubectl apply -f deploy/crds/ && kubectl apply -f
 * deploy/), but for the Deployment: the embedded backend's CRDs, and raven-controller's
 * ServiceAccount and RBAC, which the sandbox's raven-controller runs with.
 */
async function installRaven(adminKubeconfig: string): Promise<void> {
  const { KubeClient } = await import("../kube/client.ts");
  const { installCrds } = await import("../sdn/embedded/crds.ts");
  const { applyManifest } = await import("./manifests.ts");
  const client = await KubeClient.fromKubeConfig({ path: adminKubeconfig });
  try {
    await installCrds(client);
    await applyManifest(client, CONTROLLER_RBAC);
    await applyManifest(client, AGENT_RBAC);
  } finally {
    await client.close();
  }
}

/** deploy/'s RBAC in the source tree. */
const CONTROLLER_RBAC = fileURLToPath(new URL("../../deploy/controller-rbac.yaml", import.meta.url));
const AGENT_RBAC = fileURLToPath(new URL("../../deploy/agent-rbac.yaml", import.meta.url));

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
  opts.progress?.(`raven sandbox running in the background in ${cfg.dir} (logs in ${p.logs})`);
  out(`export KUBECONFIG=${p.kubeconfig}`);
}

/** Sent by `down` to the supervisor: stop like SIGTERM, but remove every pod through CRI first. */
const DOWN_SIGNAL = "SIGUSR2";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops a running sandbox (keeps its data). Returns false when nothing was running. With
 * `removePods` (`down`), pods are stopped and removed through CRI before containerd stops, so
 * CNI DEL runs for each. Pods otherwise keep running under their shims, as when a node's
 * daemons restart, and the next `up` adopts them.
 */
export async function stop(
  dirArg: string,
  opts: { timeoutMs?: number; removePods?: boolean } = {},
): Promise<boolean> {
  const dir = resolve(dirArg);
  const s = readState(dir);
  if (!s) return false;
  if (isAlive(s.pid) && (isOurs(s.pid, dir) || isOurs(s.pid, "sandbox up"))) {
    process.kill(s.pid, opts.removePods ? DOWN_SIGNAL : "SIGTERM");
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    while (isAlive(s.pid) && Date.now() < deadline) await sleep(100);
  }
  // A supervisor killed with -9 leaves its children: stop those that are still ours, in the
  // supervisor's order (kubelets, then pods through CRI, then containerd and the rest).
  const ours = (name: string) => {
    const pid = s.children[name];
    return pid !== undefined && isAlive(pid) && isOurs(pid, dir) ? pid : undefined;
  };
  const kill = async (names: string[]) => {
    const pids = names.map(ours).filter((p) => p !== undefined);
    for (const pid of pids) process.kill(pid, "SIGKILL");
    const deadline = Date.now() + 5000;
    while (pids.some((pid) => isAlive(pid) && isOurs(pid, dir)) && Date.now() < deadline) await sleep(50);
  };
  const names = Object.keys(s.children);
  await kill(names.filter((n) => n.startsWith("kubelet-")));
  const cfg = readConfig(dir);
  if (cfg)
    await Promise.all(
      nodeLayouts(cfg)
        .filter((l) => ours(`containerd-${l.name}`) !== undefined)
        .map((l) =>
          (opts.removePods ? removeAllPods : stopAllPods)(l.containerdSocket, 60_000).catch(() => 0),
        ),
    );
  await kill(names);
  // The OpenStack services' processes do not all name the dir: by their recorded PIDs.
  OpenStackServices.killLeftovers(join(dir, "openstack"));
  if (cfg && nodeLayouts(cfg).length) await releaseNodeNetworks(cfg.instanceId);
  rmSync(paths(dir).state, { force: true });
  return true;
}

/** The nodes' namespaces, links and nft tables: `up` makes them again. */
async function releaseNodeNetworks(instanceId: string, log?: Logger): Promise<void> {
  try {
    await deleteSandboxNetwork(instanceId);
    await deleteSandboxNftTables(instanceId);
  } catch (err) {
    log?.warn({ err }, "could not remove the nodes' network; 'raven sandbox down' will");
  }
}

/**
 * Stops the sandbox and removes everything it created: processes (containers included), mounts
 * under its dir, its network namespaces, links and nft tables, then the dir itself.
 */
export async function down(dirArg: string, keepData = false): Promise<void> {
  const dir = resolve(dirArg);
  await stop(dir, { removePods: true });
  const cfg = readConfig(dir);
  if (!cfg) return;
  await killSandboxProcesses(cfg.instanceId, dir);
  OpenStackServices.killLeftovers(join(dir, "openstack"));
  rmSync(openstackDataDir(cfg), { recursive: true, force: true });
  for (const l of nodeLayouts(cfg)) await cleanupContainerdState(l);
  await unmountUnder(dir);
  await deleteSandboxNetwork(cfg.instanceId);
  await deleteSandboxNftTables(cfg.instanceId);
  removeEmptyRuncDirs();
  if (keepData) return;
  // Removing a tree that still has a mount in it would delete the mounted files (a hostPath!).
  const left = mountsUnder(dir);
  if (left.length) throw new Error(`not removing ${dir}: still mounted: ${left.join(", ")}`);
  rmSync(dir, { recursive: true, force: true });
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
