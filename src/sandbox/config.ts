// A sandbox instance's on-disk layout and settings. Everything the sandbox creates lives
// under its dir; settings chosen at first start (ports, tokens, instance id) are kept so a
// restart resumes the same cluster.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, isPortFree } from "../util/ports.ts";

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
  nodes: number;
  /** Built-in controllers to run, kube-controller-manager style: "*" for all, "-name" to leave one out. */
  controllers: string;
  /** The SDN backend raven-controller runs with, or "none" to run no raven-controller. */
  backend: "embedded" | "none";
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
  "raven-controller": {
    user: "system:serviceaccount:kube-system:raven-controller",
    groups: ["system:serviceaccounts"],
  },
  "raven-agent": {
    user: "system:serviceaccount:kube-system:raven-agent",
    groups: ["system:serviceaccounts"],
  },
  kubelet: { user: "system:node", groups: ["system:nodes"] },
};

/** The instance id: derived from the absolute dir, so two sandboxes never share prefixes. */
export function instanceIdFor(dir: string): string {
  return `rv${createHash("sha256").update(resolve(dir)).digest("hex").slice(0, 6)}`;
}

async function portOr(saved: number | undefined): Promise<number> {
  if (saved && (await isPortFree(saved))) return saved;
  return freePort();
}

export async function loadOrCreateConfig(
  dirArg: string,
  overrides: Partial<SandboxConfig> = {},
): Promise<SandboxConfig> {
  const dir = resolve(dirArg);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = paths(dir);
  const saved: Partial<SandboxConfig> = existsSync(p.config)
    ? JSON.parse(readFileSync(p.config, "utf8"))
    : {};
  const tokens = saved.tokens ?? {};
  for (const [name, id] of Object.entries(IDENTITIES))
    tokens[name] ??= { token: randomBytes(24).toString("base64url"), user: id.user, groups: id.groups };
  const cfg: SandboxConfig = {
    dir,
    instanceId: instanceIdFor(dir),
    apiserverPort: await portOr(saved.apiserverPort),
    etcdClientPort: await portOr(saved.etcdClientPort),
    etcdPeerPort: await portOr(saved.etcdPeerPort),
    serviceCidr: saved.serviceCidr ?? "10.0.0.0/24",
    podCidr: saved.podCidr ?? "192.168.0.0/16",
    externalCidr: saved.externalCidr ?? "172.16.0.0/24",
    virtualNodes: saved.virtualNodes ?? 0,
    controllers: saved.controllers ?? "*",
    backend: saved.backend ?? "embedded",
    ravenController: saved.ravenController ?? true,
    ravenMetricsPort: await portOr(saved.ravenMetricsPort),
    audit: saved.audit ?? false,
    annotationPrefix: saved.annotationPrefix ?? "raven.io",
    annotationNames: saved.annotationNames ?? "raven",
    nodes: saved.nodes ?? 1,
    tokens,
    ...overrides,
  };
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

export function readConfig(dirArg: string): SandboxConfig | undefined {
  const p = paths(resolve(dirArg));
  return existsSync(p.config) ? JSON.parse(readFileSync(p.config, "utf8")) : undefined;
}

/** A kubeconfig for one identity, trusting the sandbox CA. */
export function kubeconfigYaml(cfg: SandboxConfig, identity: string, caFile: string): string {
  const t = cfg.tokens[identity];
  return `apiVersion: v1
kind: Config
clusters:
- name: raven-sandbox
  cluster:
    server: https://127.0.0.1:${cfg.apiserverPort}
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
