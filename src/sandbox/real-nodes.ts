// Starting one real node of the sandbox: its network (netns on the underlay), CNI config,
// containerd (a supervised component run inside the netns with `nsenter --net`, so it keeps the
// host's mount namespace), the sandbox images imported into it, and, once the API server is up,
// raven-agent (with Raven: pods get their ports through raven-cni) and the kubelet (also
// supervised, also in the netns). Stopping is the reverse: the kubelet, every pod through CRI
// (CNI DEL runs for each, so raven-agent stops after them), then the agent and containerd.
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import { type Command, Component } from "./component.ts";
import { kubeconfigYaml, type SandboxConfig } from "./config.ts";
import type { BuiltImage } from "./images/build.ts";
import { SANDBOX_IMAGE } from "./images/catalog.ts";
import { importImages } from "./images/import.ts";
import { removeAllPods, stopAllPods } from "./node/cleanup.ts";
import { writeCniConfig } from "./node/cni-config.ts";
import { waitContainerdReady, writeContainerdConfig } from "./node/containerd.ts";
import { type NodeLayout, nodeLayout } from "./node/layout.ts";
import { ensureNodeNetwork } from "./node/network.ts";

/** Whether something accepts connections on the unix socket. */
function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(socket);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/** The layouts of the sandbox's real nodes (1..cfg.nodes). */
export function nodeLayouts(cfg: SandboxConfig): NodeLayout[] {
  const plan = { instanceId: cfg.instanceId, nodeCidr: cfg.nodeCidr, nodePodCidr: cfg.nodePodCidr };
  return Array.from({ length: cfg.nodes }, (_, i) => nodeLayout(cfg.dir, plan, i + 1));
}

/** Where a node's kubelet finds the API server: the underlay gateway, with the kubelet identity. */
export const kubeletKubeconfig = (node: NodeLayout): string => join(node.root, "kubelet.kubeconfig");

/** A node component's kubeconfig: the API server on the underlay gateway, with `identity`'s token. */
export function writeNodeKubeconfig(
  cfg: SandboxConfig,
  node: NodeLayout,
  caFile: string,
  identity: "kubelet" | "raven-agent",
): string {
  mkdirSync(node.root, { recursive: true });
  const file = join(node.root, `${identity}.kubeconfig`);
  writeFileSync(
    file,
    kubeconfigYaml(cfg, identity, caFile, `https://${node.gatewayIp}:${cfg.apiserverPort}`),
    { mode: 0o600 },
  );
  return file;
}

/** The sandbox's cloud, as raven-controller and raven-agent are pointed at it (--backend neutron). */
export const SANDBOX_CLOUD = "raven-sandbox";

export function neutronFlags(cfg: SandboxConfig): string[] {
  return ["--backend", "neutron", "--os-cloud", SANDBOX_CLOUD, "--cluster-id", cfg.instanceId];
}

export function neutronEnv(cfg: SandboxConfig): Record<string, string> {
  return { OS_CLIENT_CONFIG_FILE: join(cfg.dir, "openstack", "clouds.yaml") };
}

/** `raven agent` inside the node's netns, serving raven-cni on the node's socket. */
export function agentCommand(
  cfg: SandboxConfig,
  node: NodeLayout,
  raven: (args: string[]) => Command,
): Command {
  const r = raven([
    "agent",
    "--kubeconfig",
    join(node.root, "raven-agent.kubeconfig"),
    "--node",
    node.name,
    "--node-ip",
    node.nodeIp,
    "--socket",
    node.agentSocket,
    // Hot-plugged attachments: the node's containerd finds pods' network namespaces; the
    // records of what is attached live with the node.
    "--cri-socket",
    node.containerdSocket,
    "--state-dir",
    join(node.root, "raven-agent"),
    "--annotation-prefix",
    cfg.annotationPrefix,
    "--annotation-names",
    cfg.annotationNames,
    // The sandbox's Neutron has no L2 agents: the node enforces the security groups itself.
    ...(cfg.backend === "neutron" ? [...neutronFlags(cfg), "--enforce-security-groups"] : []),
  ]);
  return {
    cmd: "nsenter",
    args: [`--net=${node.netnsPath}`, r.cmd, ...r.args],
    ...(cfg.backend === "neutron" ? { env: neutronEnv(cfg) } : {}),
  };
}

export function containerdCommand(node: NodeLayout): Command {
  return {
    cmd: "nsenter",
    args: [`--net=${node.netnsPath}`, "containerd", "--config", node.containerdConfig],
  };
}

/** `raven sandbox kubelet` inside the node's netns; `raven` is the given Node + main.ts argv. */
export function kubeletCommand(
  cfg: SandboxConfig,
  node: NodeLayout,
  raven: (args: string[]) => Command,
): Command {
  const r = raven(["sandbox", "kubelet", "--dir", cfg.dir, "--node", node.name]);
  return { cmd: "nsenter", args: [`--net=${node.netnsPath}`, r.cmd, ...r.args] };
}

export interface NodeDeps {
  cfg: SandboxConfig;
  all: NodeLayout[];
  caFile: string;
  logsDir: string;
  log: Logger;
  /** The sandbox's images, built once per `up` and shared by every node. */
  images: Promise<BuiltImage[]>;
  raven: (args: string[]) => Command;
  /** With Raven: the raven-cni bundle (built once per `up`); without, the reference bridge. */
  ravenCni?: Promise<string>;
}

/** A running node: its supervised daemons. */
export class RunningNode {
  readonly layout: NodeLayout;
  readonly containerd: Component;
  readonly kubelet: Component;
  /** With Raven only. */
  readonly agent: Component | undefined;
  private readonly log: Logger;

  constructor(layout: NodeLayout, deps: NodeDeps) {
    this.layout = layout;
    this.log = deps.log;
    this.containerd = new Component(
      `containerd-${layout.name}`,
      containerdCommand(layout),
      join(deps.logsDir, `containerd-${layout.name}.log`),
      deps.log,
    );
    this.kubelet = new Component(
      `kubelet-${layout.name}`,
      kubeletCommand(deps.cfg, layout, deps.raven),
      join(deps.logsDir, `kubelet-${layout.name}.log`),
      deps.log,
    );
    this.agent = deps.ravenCni
      ? new Component(
          `raven-agent-${layout.name}`,
          agentCommand(deps.cfg, layout, deps.raven),
          join(deps.logsDir, `raven-agent-${layout.name}.log`),
          deps.log,
        )
      : undefined;
  }

  /**
   * Network, CNI config, containerd ready, images imported: everything that does not need the
   * API server, so it runs while etcd and the API server start.
   */
  async prepare(deps: NodeDeps): Promise<{ networkMs: number; containerdMs: number; imagesMs: number }> {
    const t0 = Date.now();
    const node = this.layout;
    await ensureNodeNetwork(node, deps.all, deps.cfg);
    writeCniConfig(node, deps.ravenCni && (await deps.ravenCni));
    writeNodeKubeconfig(deps.cfg, node, deps.caFile, "kubelet");
    if (deps.ravenCni) writeNodeKubeconfig(deps.cfg, node, deps.caFile, "raven-agent");
    for (const d of [node.podLogsDir, node.podsDir, node.kubeletDir, node.manifestsDir])
      mkdirSync(d, { recursive: true });
    await writeContainerdConfig(node, { sandboxImage: SANDBOX_IMAGE, cniBinDir: node.cniBinDir });
    const tNet = Date.now();
    this.containerd.start();
    const logFile = join(deps.logsDir, `containerd-${node.name}.log`);
    await waitContainerdReady(node, { child: this.containerd.child, logFile, timeoutMs: 30_000 });
    const tCtd = Date.now();
    const imported = await importImages(node.containerdSocket, await deps.images);
    const timings = { networkMs: tNet - t0, containerdMs: tCtd - tNet, imagesMs: Date.now() - tCtd };
    this.log.info({ node: node.name, ...timings, imported: imported.imported.length }, "node prepared");
    return timings;
  }

  /**
   * The node's API clients: raven-agent first, then the kubelet once the agent's CNI socket
   * answers (as a node is not Ready before its network plugin is: a pod started earlier would
   * get "try again later" from raven-cni and a second sandbox).
   */
  async startKubelet(timeoutMs = 30_000): Promise<void> {
    if (this.agent) {
      this.agent.start();
      const deadline = Date.now() + timeoutMs;
      while (!(await answers(this.layout.agentSocket))) {
        if (Date.now() > deadline) {
          this.log.warn(
            { node: this.layout.name },
            "raven-agent does not answer yet; starting the kubelet anyway",
          );
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    this.kubelet.start();
  }

  /**
   * Kubelet first (so nothing recreates pods), then every pod through CRI (stopped, as when a
   * node shuts down; and removed too with `removePods`), then containerd. Answers the pods.
   */
  async stop(opts: { removePods: boolean }): Promise<number> {
    await this.kubelet.stop();
    let pods = 0;
    if (this.containerd.alive) {
      try {
        const socket = this.layout.containerdSocket;
        pods = await (opts.removePods ? removeAllPods(socket, 60_000) : stopAllPods(socket, 60_000));
        if (pods)
          this.log.info(
            { node: this.layout.name, pods, removed: opts.removePods },
            "stopped pods through CRI",
          );
      } catch (err) {
        // What is left is stopped by force; CNI DEL just does not run for those pods.
        this.log.warn({ node: this.layout.name, err }, "could not stop pods through CRI");
      }
    }
    await this.agent?.stop();
    await this.containerd.stop();
    return pods;
  }
}
