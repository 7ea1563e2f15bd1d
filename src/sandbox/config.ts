// A sandbox instance's on-disk layout and settings. Everything the sandbox creates lives
// under its dir; settings chosen at first start (ports, tokens, instance id) are kept so a
// restart resumes the same cluster.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, isPortFree } from "../util/ports.ts";
import { hostRoutedCidrs, MAX_NODES, pickNodeCidr } from "./node/network.ts";

export interface SandboxConfig {
  dir: string;
  /** Short id unique to this sandbox dir; prefixes every netns, interface and nft table it creates. */
  instanceId: string;
  apiserverPort: number;
  etcdClientPort: number;
  etcdPeerPort: number;
  serviceCidr: string;
  podCidr: string;
  externalCidr: string;
  virtualNodes: number;
  /** Nodes that run real containers (network namespaces with containerd and our kubelet). */
  nodes: number;
  /** The nodes' underlay: a /24 of 10.254.0.0/16 chosen at first start (host bridge .1, node i .(10+i)). */
  nodeCidr: string;
  /** Node i's pods get the i-th /24 of this range (reference CNI plugins until Raven's CNI lands). */
  nodePodCidr: string;
  /** Built-in controllers to run, kube-controller-manager style: "*" for all, "-name" to leave one out. */
  controllers: string;
  /** The SDN backend raven-controller runs with, or "none" to run no raven-controller. */
  backend: "embedded" | "neutron" | "none";
  /** Start raven-controller (false: the CRDs are installed and pods wait for Raven, but you run it). */
  ravenController: boolean;
  /** raven-controller's /healthz and /metrics port. */
  ravenMetricsPort: number;
  /** Raven's annotation keys: prefix and naming ("kuryr" + kuryr.org gives the seeds' keys). */
  annotationPrefix: string;
  annotationNames: "raven" | "kuryr";
  /** Write logs/audit.log (one line per API request: user, verb, resource). */
  audit: boolean;
  tokens: Record<string, { token: string; user: string; groups: string[] }>;
}

export const DEFAULT_DIR = join(homedir(), ".raven", "sandbox");

export const paths = (dir: string) => ({
  config: join(dir, "config.json"),
  state: join(dir, "state.json"),
  kubeconfig: join(dir, "kubeconfig"),
  tokens: join(dir, "tokens.csv"),
  pki: join(dir, "pki"),
  etcdData: join(dir, "etcd"),
  logs: join(dir, "logs"),
  componentKubeconfig: (name: string) => join(dir, `${name}.kubeconfig`),
});

const IDENTITIES: Record<string, { user: string; groups: string[] }> = {
  admin: { user: "admin", groups: ["system:masters"] },
  "controller-manager": { user: "system:kube-controller-manager", groups: [] },
  // Service accounts carry the groups a real cluster gives them.
  "raven-controller": {
    user: "system:serviceaccount:kube-system:raven-controller",
    groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system"],
  },
  "raven-agent": {
    user: "system:serviceaccount:kube-system:raven-agent",
    groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system"],
  },
  kubelet: { user: "system:node", groups: ["system:nodes"] },
};

/** The instance id: derived from the absolute dir, so two sandboxes never share prefixes. */
export function instanceIdFor(dir: string): string {
  return `rv${createHash("sha256").update(resolve(dir)).digest("hex").slice(0, 6)}`;
}

/** The saved port if it is free (waiting up to `waitMs` for it: a killed process's sockets may linger), else a new one. */
async function portOr(saved: number | undefined, waitMs = 0): Promise<number> {
  const deadline = Date.now() + waitMs;
  while (saved) {
    if (await isPortFree(saved)) return saved;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return freePort();
}

export async function loadOrCreateConfig(
  dirArg: string,
  overrides: Partial<SandboxConfig> = {},
  opts: { portWaitMs?: number } = {},
): Promise<SandboxConfig> {
  const portOrSaved = (saved: number | undefined) => portOr(saved, opts.portWaitMs);
  const dir = resolve(dirArg);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = paths(dir);
  const saved: Partial<SandboxConfig> = existsSync(p.config)
    ? JSON.parse(readFileSync(p.config, "utf8"))
    : {};
  const tokens = saved.tokens ?? {};
  for (const [name, id] of Object.entries(IDENTITIES)) {
    tokens[name] ??= { token: randomBytes(24).toString("base64url"), user: id.user, groups: id.groups };
    // Identities keep their token across versions; their user and groups follow this one.
    tokens[name] = { ...tokens[name], user: id.user, groups: id.groups };
  }
  const cfg: SandboxConfig = {
    dir,
    instanceId: instanceIdFor(dir),
    apiserverPort: await portOrSaved(saved.apiserverPort),
    etcdClientPort: await portOrSaved(saved.etcdClientPort),
    etcdPeerPort: await portOrSaved(saved.etcdPeerPort),
    serviceCidr: saved.serviceCidr ?? "10.0.0.0/24",
    podCidr: saved.podCidr ?? "192.168.0.0/16",
    externalCidr: saved.externalCidr ?? "172.16.0.0/24",
    virtualNodes: saved.virtualNodes ?? 0,
    controllers: saved.controllers ?? "*",
    backend: saved.backend ?? "embedded",
    ravenController: saved.ravenController ?? true,
    ravenMetricsPort: await portOrSaved(saved.ravenMetricsPort),
    audit: saved.audit ?? false,
    annotationPrefix: saved.annotationPrefix ?? "raven.io",
    annotationNames: saved.annotationNames ?? "raven",
    nodes: saved.nodes ?? 1,
    nodeCidr: saved.nodeCidr ?? pickNodeCidr(instanceIdFor(dir), await routedOrNone()),
    nodePodCidr: saved.nodePodCidr ?? "10.244.0.0/16",
    tokens,
    ...overrides,
  };
  if (!Number.isInteger(cfg.nodes) || cfg.nodes < 0 || cfg.nodes > MAX_NODES)
    throw new Error(`nodes must be an integer from 0 to ${MAX_NODES}, got ${cfg.nodes}`);
  if (!/^\d+\.\d+\.0\.0\/16$/.test(cfg.nodePodCidr))
    throw new Error(`nodePodCidr must be a /16 like 10.244.0.0/16, got "${cfg.nodePodCidr}"`);
  writeFileSync(p.config, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(
    p.tokens,
    Object.values(tokens)
      .map((t) => `${t.token},${t.user},${t.user},"${t.groups.join(",")}"`)
      .join("\n") + "\n",
    { mode: 0o600 },
  );
  return cfg;
}

/** The host's routes; none when `ip` cannot be run (the CIDR is checked again when the bridge is made). */
async function routedOrNone(): Promise<string[]> {
  try {
    return await hostRoutedCidrs();
  } catch {
    return [];
  }
}

export function readConfig(dirArg: string): SandboxConfig | undefined {
  const p = paths(resolve(dirArg));
  return existsSync(p.config) ? JSON.parse(readFileSync(p.config, "utf8")) : undefined;
}

/** A kubeconfig for one identity, trusting the sandbox CA; `server` defaults to loopback. */
export function kubeconfigYaml(
  cfg: SandboxConfig,
  identity: string,
  caFile: string,
  server = `https://127.0.0.1:${cfg.apiserverPort}`,
): string {
  const t = cfg.tokens[identity];
  return `apiVersion: v1
kind: Config
clusters:
- name: raven-sandbox
  cluster:
    server: ${server}
    certificate-authority: ${caFile}
users:
- name: ${identity}
  user:
    token: ${t.token}
contexts:
- name: raven-sandbox
  context:
    cluster: raven-sandbox
    user: ${identity}
    namespace: default
current-context: raven-sandbox
`;
}
