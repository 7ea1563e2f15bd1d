// Tearing a sandbox's nodes down so that nothing is left: pods removed through CRI (so CNI DEL
// runs) while containerd still answers, then every process of the sandbox, mounts under its dir,
// its network namespaces, links and nft tables (all named with the instance id), and containerd's
// shared runc dirs when empty. Each step only touches what carries our prefix or lives in our dir.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, rmdirSync, statSync } from "node:fs";
import { basename } from "node:path";
import { CriClient } from "../../cri/client.ts";
import { mountsUnder } from "./containerd.ts";
import { linkNames, netnsNames, sh } from "./network.ts";

/** Stops and removes every pod sandbox through CRI (CNI DEL runs for each). Returns how many. */
export async function removeAllPods(containerdSocket: string, timeoutMs = 60_000): Promise<number> {
  return forEachPod(containerdSocket, timeoutMs, true);
}

/**
 * Stops every pod sandbox (its containers, then CNI DEL) and keeps the records, as a node that
 * shuts down does: the kubelet of the next start finds them not ready and starts them anew.
 */
export async function stopAllPods(containerdSocket: string, timeoutMs = 60_000): Promise<number> {
  return forEachPod(containerdSocket, timeoutMs, false);
}

async function forEachPod(containerdSocket: string, timeoutMs: number, remove: boolean): Promise<number> {
  const cri = CriClient.connect(containerdSocket);
  try {
    const deadline = Date.now() + timeoutMs;
    const pods = await cri.listPodSandbox();
    for (const pod of pods) {
      if (Date.now() > deadline) throw new Error("stopping pods through CRI took too long");
      await cri.stopPodSandbox(pod.id);
      if (remove) await cri.removePodSandbox(pod.id);
    }
    return pods.length;
  } finally {
    cri.close();
  }
}

// containerd.ts already reads mountinfo that way (deepest first, octal escapes undone).
export { mountsUnder };

/** Unmounts everything under `dir`, deepest first (lazily when busy). */
export async function unmountUnder(dir: string): Promise<void> {
  // A mount can be stacked several times on one point: repeat while something is left.
  for (let round = 0; round < 5; round++) {
    const mounts = mountsUnder(dir);
    if (mounts.length === 0) return;
    for (const m of mounts) {
      try {
        await sh(["umount", m]);
      } catch {
        await sh(["umount", "-l", m]).catch(() => undefined);
      }
    }
  }
}

/** Programs the sandbox runs; a process needs one of these executables to count as ours by its argv. */
const OUR_EXECUTABLES = new Set([
  "node",
  "etcd",
  "containerd",
  "containerd-shim",
  "containerd-shim-runc-v1",
  "containerd-shim-runc-v2",
  "runc",
  "nsenter",
]);

function nsInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Network namespaces of the sandbox: its nodes' (named) and its pods' (nsfs mounts under the dir). */
function ourNetnsInodes(instanceId: string, dir: string, netns: string[]): Set<number> {
  const inodes = new Set<number>();
  for (const n of netns.filter((n) => n.startsWith(`${instanceId}-`))) {
    const ino = nsInode(`/run/netns/${n}`);
    if (ino !== undefined) inodes.add(ino);
  }
  for (const m of mountsUnder(dir)) {
    const ino = nsInode(m);
    // Only nsfs files (pod netns); a directory mount's inode would be meaningless here.
    if (ino !== undefined && !statSync(m).isDirectory()) inodes.add(ino);
  }
  return inodes;
}

function ancestors(): Set<number> {
  const out = new Set<number>();
  let pid = process.pid;
  while (pid > 1 && !out.has(pid)) {
    out.add(pid);
    try {
      pid = Number(
        readFileSync(`/proc/${pid}/stat`, "utf8")
          .replace(/^.*\) /s, "")
          .split(" ")[1],
      );
    } catch {
      break;
    }
  }
  return out;
}

/**
 * Processes of the sandbox: our programs whose argv names the dir, anything whose root is under
 * the dir (containers: their rootfs is in containerd's state there) or that lives in one of the
 * sandbox's network namespaces (node daemons, pods). Never this process or its ancestors.
 */
export function sandboxProcesses(instanceId: string, dir: string, netns: string[]): number[] {
  const skip = ancestors();
  const inodes = ourNetnsInodes(instanceId, dir, netns);
  const mine = (p: string) => p === dir || p.startsWith(`${dir}/`);
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || skip.has(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv.length === 1 && argv[0] === "") continue; // kernel thread or zombie
      const exe = basename(readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, ""));
      const argvMine = OUR_EXECUTABLES.has(exe) && argv.some((a) => a.includes(dir));
      const rootMine = mine(readlinkSync(`/proc/${pid}/root`));
      const netMine = inodes.has(statSync(`/proc/${pid}/ns/net`).ino);
      if (argvMine || rootMine || netMine) out.push(pid);
    } catch {
      // gone meanwhile, or not readable
    }
  }
  return out;
}

/** SIGKILLs the sandbox's processes until none is left (containers first reparent, then die). */
export async function killSandboxProcesses(
  instanceId: string,
  dir: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = sandboxProcesses(instanceId, dir, await netnsNames());
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes of the sandbox would not die: ${pids.join(", ")}`);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Deletes the sandbox's network namespaces and links (veth peers inside die with their netns). */
export async function deleteSandboxNetwork(instanceId: string): Promise<void> {
  for (const n of await netnsNames())
    if (n.startsWith(`${instanceId}-`)) await sh(["ip", "netns", "del", n]).catch(ignoreGone);
  for (const l of await linkNames())
    if (l.startsWith(instanceId)) await sh(["ip", "link", "del", l]).catch(ignoreGone);
}

/** nft tables whose name starts with the instance id (Raven's agent names its tables so). */
export async function sandboxNftTables(instanceId: string): Promise<{ family: string; name: string }[]> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile("nft", ["-j", "list", "tables"], (err, stdout, stderr) =>
      err
        ? reject(new Error(`nft -j list tables: ${String(stderr).trim() || err.message}`))
        : resolve(String(stdout)),
    ),
  );
  const items: { table?: { family: string; name: string } }[] = out.trim() ? JSON.parse(out).nftables : [];
  return items.flatMap((i) => (i.table?.name.startsWith(instanceId) ? [i.table] : []));
}

export async function deleteSandboxNftTables(instanceId: string): Promise<void> {
  for (const t of await sandboxNftTables(instanceId)) await sh(["nft", "delete", "table", t.family, t.name]);
}

/** containerd 1.6 makes /run/containerd/runc/<ns> even with its own runc root; remove them when empty. */
export function removeEmptyRuncDirs(namespaces = ["k8s.io"]): void {
  for (const d of [...namespaces.map((n) => `/run/containerd/runc/${n}`), "/run/containerd/runc"]) {
    try {
      rmdirSync(d);
    } catch {
      // not there, not empty, or in use by another containerd
    }
  }
}

function ignoreGone(err: Error): void {
  if (!/Cannot find device|No such file|does not exist/.test(err.message)) throw err;
}
