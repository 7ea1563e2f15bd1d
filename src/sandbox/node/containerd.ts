// A sandbox node's private containerd: its config file, starting it inside the node's network
// namespace, waiting for its CRI plugin, stopping it, and removing what it leaves behind.
// Everything it writes lives under the node's layout (root, state, socket, runc root, pod netns
// files), so one node's containerd never touches another's or the host's.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { CriClient } from "../../cri/client.ts";
import { CNI_BIN_DIR, type NodeLayout } from "./layout.ts";

const execFileP = promisify(execFile);

/** The containerd namespace the CRI plugin keeps pods and images in. */
export const CRI_NAMESPACE = "k8s.io";

/** Snapshotters and plugins a sandbox node never uses: skipping them shortens start-up. */
const DISABLED_PLUGINS = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
];

export interface ContainerdConfigOptions {
  /** Image of the pod sandbox ("pause") container, already imported into namespace k8s.io. */
  sandboxImage: string;
  /** Where the CNI plugins are. Default /usr/lib/cni (Debian's containernetworking-plugins). */
  cniBinDir?: string;
  /**
   * Port of the CRI streaming server (exec/attach/port-forward) on 127.0.0.1 inside the node's
   * netns. Default 0: containerd picks a free port and puts it in the URLs it returns.
   */
  streamServerPort?: number;
}

const tomlString = (s: string): string => JSON.stringify(s);

/** containerd 1.6 config (version 2) for a sandbox node. */
export function containerdConfig(layout: NodeLayout, opts: ContainerdConfigOptions): string {
  const cri = `[plugins."io.containerd.grpc.v1.cri"]`;
  return `# Written by Raven for sandbox node ${layout.name}; regenerated at every start.
version = 2
root = ${tomlString(layout.containerdRoot)}
state = ${tomlString(layout.containerdState)}
disabled_plugins = [${DISABLED_PLUGINS.map(tomlString).join(", ")}]

[grpc]
  address = ${tomlString(layout.containerdSocket)}

[ttrpc]
  address = ${tomlString(`${layout.containerdSocket}.ttrpc`)}

[debug]
  address = ""

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = ${tomlString(join(layout.containerdRoot, "opt"))}

  ${cri}
    sandbox_image = ${tomlString(opts.sandboxImage)}
    # Required on this host: without CAP_SYS_RESOURCE, runc cannot lower oom_score_adj to the
    # sandbox's -998 and every RunPodSandbox fails.
    restrict_oom_score_adj = true
    disable_tcp_service = true
    stream_server_address = "127.0.0.1"
    stream_server_port = ${tomlString(String(opts.streamServerPort ?? 0))}
    # Pod netns files under our state dir, not /var/run/netns.
    netns_mounts_under_state_dir = true
    enable_selinux = false

    ${cri.slice(0, -1)}.cni]
      bin_dir = ${tomlString(opts.cniBinDir ?? CNI_BIN_DIR)}
      conf_dir = ${tomlString(layout.cniConfDir)}
      max_conf_num = 1

    ${cri.slice(0, -1)}.containerd]
      default_runtime_name = "runc"
      snapshotter = "overlayfs"

      ${cri.slice(0, -1)}.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"

        ${cri.slice(0, -1)}.containerd.runtimes.runc.options]
          # Not the shared default /run/containerd/runc/<namespace>.
          Root = ${tomlString(layout.runcRoot)}
`;
}

/** Unix socket paths longer than this do not fit sockaddr_un (108 bytes with the NUL). */
const MAX_SOCKET_PATH = 100;

/** Creates the node's containerd and CNI directories and writes its config file. */
export async function writeContainerdConfig(
  layout: NodeLayout,
  opts: ContainerdConfigOptions,
): Promise<string> {
  const ttrpc = `${layout.containerdSocket}.ttrpc`;
  if (Buffer.byteLength(ttrpc) > MAX_SOCKET_PATH) {
    throw new Error(
      `containerd socket path ${ttrpc} is ${Buffer.byteLength(ttrpc)} bytes; unix sockets allow at most ${MAX_SOCKET_PATH}: use a shorter sandbox dir`,
    );
  }
  for (const d of [
    dirname(layout.containerdConfig),
    layout.containerdRoot,
    layout.containerdState,
    layout.runcRoot,
    layout.cniConfDir,
  ]) {
    await mkdir(d, { recursive: true });
  }
  await writeFile(layout.containerdConfig, containerdConfig(layout, opts));
  return layout.containerdConfig;
}

export interface StartContainerdOptions extends ContainerdConfigOptions {
  /** containerd's stdout and stderr go here (appended). */
  logFile: string;
}

/**
 * Writes the config and starts `nsenter --net=<netns> containerd --config <file>`. nsenter
 * (unlike `ip netns exec`) keeps the host's mount namespace, so the pod netns bind mounts
 * containerd makes are visible to us; it execs containerd, so the child's PID is containerd's.
 */
export async function startContainerd(
  layout: NodeLayout,
  opts: StartContainerdOptions,
): Promise<ChildProcess> {
  await writeContainerdConfig(layout, opts);
  await mkdir(dirname(opts.logFile), { recursive: true });
  const env = { ...process.env };
  // containerd hands its environment to CNI plugins; this one makes every Node start slow.
  delete env.NODE_EXTRA_CA_CERTS;
  const fd = openSync(opts.logFile, "a");
  try {
    const child = spawn(
      "nsenter",
      [`--net=${layout.netnsPath}`, "containerd", "--config", layout.containerdConfig],
      {
        stdio: ["ignore", fd, fd],
        env,
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    return child;
  } finally {
    closeSync(fd);
  }
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export interface WaitReadyOptions {
  timeoutMs?: number;
  /** When given, an early exit of this process fails the wait at once. */
  child?: ChildProcess;
  /** Quoted in errors. */
  logFile?: string;
}

/** Waits until containerd's CRI answers Status with RuntimeReady=true. */
export async function waitContainerdReady(layout: NodeLayout, opts: WaitReadyOptions = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const cri = CriClient.connect(layout.containerdSocket, { defaultTimeoutMs: 2000 });
  let last = "no answer yet";
  try {
    for (;;) {
      const child = opts.child;
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new Error(
          `containerd of ${layout.name} exited (${child.exitCode ?? child.signalCode}) before it was ready` +
            (opts.logFile ? `:\n${tail(opts.logFile)}` : ""),
        );
      }
      try {
        const st = await cri.status();
        const ready = st.status.conditions.find((c) => c.type === "RuntimeReady");
        if (ready?.status) return;
        last = `RuntimeReady: ${ready ? `${ready.reason} ${ready.message}` : "not reported"}`;
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `containerd of ${layout.name} not ready after ${opts.timeoutMs ?? 30_000} ms: ${last}` +
            (opts.logFile ? `\n${tail(opts.logFile)}` : ""),
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    cri.close();
  }
}

/** True while `pid` exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The state letter follows the command name in parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function waitGone(pid: number, child: ChildProcess | undefined, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child ? child.exitCode !== null || child.signalCode !== null : !processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Stops containerd by PID: SIGTERM, then SIGKILL after `graceMs`. Resolves once it is gone. */
export async function stopContainerd(target: ChildProcess | number, graceMs = 10_000): Promise<void> {
  const child = typeof target === "number" ? undefined : target;
  const pid = typeof target === "number" ? target : target.pid;
  if (pid === undefined) return;
  if (child && (child.exitCode !== null || child.signalCode !== null)) return;
  if (!child && !processAlive(pid)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  if (await waitGone(pid, child, graceMs)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  await waitGone(pid, child, 5000);
}

/** Unescapes mountinfo's octal escapes (\040 for space, ...). */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Mount points at or under `root`, deepest first. */
export function mountsUnder(
  root: string,
  mountinfo = readFileSync("/proc/self/mountinfo", "utf8"),
): string[] {
  const prefix = root.endsWith("/") ? root : `${root}/`;
  const points = mountinfo
    .split("\n")
    .filter(Boolean)
    .map((line) => unescapeMountPath(line.split(" ")[4]))
    .filter((p) => p === root || p.startsWith(prefix));
  return [...new Set(points)].sort(
    (a, b) => b.split("/").length - a.split("/").length || b.length - a.length,
  );
}

/** Shim processes of the containerd listening on `address` (their argv carries it). */
function shimsOf(address: string): { pid: number; namespace: string; id: string }[] {
  const out: { pid: number; namespace: string; id: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      const arg = (flag: string) => {
        const i = argv.indexOf(flag);
        return i >= 0 ? argv[i + 1] : undefined;
      };
      if (!argv[0].endsWith("containerd-shim-runc-v2") || arg("-address") !== address) continue;
      out.push({ pid: Number(name), namespace: arg("-namespace") ?? "", id: arg("-id") ?? "" });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * containerd 1.6 puts every shim's socket in /run/containerd/s, named by the sha256 of
 * "<containerd address>/<namespace>/<id>"; a killed shim leaves it behind.
 */
export function shimSocketPath(address: string, namespace: string, id: string): string {
  return join(
    "/run/containerd/s",
    createHash("sha256").update(`${address}/${namespace}/${id}`).digest("hex"),
  );
}

/**
 * After containerd is gone: kills containers and shims it left running (found by this node's
 * runc root and socket path only), unmounts everything still mounted under the node's root
 * (pod netns files, overlay rootfs, shm), and removes /run/containerd/runc/<ns> if it is empty.
 * Returns the mount points it could not unmount (empty when all went).
 */
export async function cleanupContainerdState(layout: NodeLayout): Promise<string[]> {
  // Containers still running under this node's runc root (one subdirectory per namespace).
  let namespaces: string[] = [];
  try {
    namespaces = readdirSync(layout.runcRoot);
  } catch {
    // never started
  }
  for (const ns of namespaces) {
    const root = join(layout.runcRoot, ns);
    let ids: string[] = [];
    try {
      ids = readdirSync(root);
    } catch {
      continue;
    }
    for (const id of ids) {
      await execFileP("runc", ["--root", root, "delete", "--force", id]).catch(() => undefined);
    }
  }
  // Shims of this node's containerd (their argv carries its socket path) and their sockets.
  for (const shim of shimsOf(layout.containerdSocket)) {
    try {
      process.kill(shim.pid, "SIGKILL");
    } catch {
      // gone already
    }
    await waitGone(shim.pid, undefined, 2000);
    rmSync(shimSocketPath(layout.containerdSocket, shim.namespace, shim.id), { force: true });
  }
  const failed: string[] = [];
  for (const point of mountsUnder(layout.root)) {
    try {
      await execFileP("umount", [point]);
    } catch {
      // Busy (a process still holds it): detach it now, the kernel frees it when released.
      await execFileP("umount", ["--lazy", point]).catch(() => failed.push(point));
    }
  }
  for (const d of [join("/run/containerd/runc", CRI_NAMESPACE)]) {
    try {
      rmdirSync(d); // only succeeds if empty: another containerd may be using it
    } catch {
      // absent or in use
    }
  }
  return mountsUnder(layout.root).length === 0 ? [] : failed;
}
