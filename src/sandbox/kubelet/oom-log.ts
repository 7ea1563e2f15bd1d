// OOM kills as the kernel logs them (/dev/kmsg), by container. containerd 1.6 on cgroup v1 loses
// some: its shim learns of an OOM kill from an eventfd on the container's memory cgroup, and
// drops the event when the cgroup is already gone by the time it looks, which runc's clean-up
// after the exit makes likely on a loaded machine; the container then exits 137 with reason
// "Error". The kernel writes its `oom-kill:` record before the killed process dies, so once the
// exit is visible the record is in the log: reading the log at that moment settles it (as
// cadvisor's OOM parser does for the real kubelet's OOM events).
import { closeSync, constants, openSync, readSync } from "node:fs";

/** The container id an `oom-kill:` record names (task_memcg's last path element), if any. */
export function oomKilledContainer(record: string): string | undefined {
  if (!record.includes("oom-kill:")) return undefined;
  const m = /task_memcg=([^,\s]+)/.exec(record);
  if (!m) return undefined;
  const leaf = m[1].slice(m[1].lastIndexOf("/") + 1);
  // systemd's cgroup driver names it cri-containerd-<id>.scope.
  return leaf.replace(/^cri-containerd-/, "").replace(/\.scope$/, "") || undefined;
}

export interface OomLog {
  /** Whether the kernel has logged an OOM kill of a process of this container. */
  killedIn(containerId: string): boolean;
}

const MAX_REMEMBERED = 10_000;

export class KernelOomLog implements OomLog {
  private readonly fd: number;
  private readonly killed = new Set<string>();
  private readonly buf = Buffer.alloc(16 * 1024);

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** The kernel log, or undefined where it cannot be read (not root, no /dev/kmsg). */
  static open(path = "/dev/kmsg"): KernelOomLog | undefined {
    try {
      return new KernelOomLog(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
    } catch {
      return undefined;
    }
  }

  killedIn(containerId: string): boolean {
    this.drain();
    return this.killed.has(containerId);
  }

  /** Reads every record logged since the last call (one record per read; EAGAIN: no more). */
  private drain(): void {
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EPIPE") continue; // the ring buffer overwrote records we had not read
        if (code === "EAGAIN") return;
        throw err;
      }
      if (n <= 0) return;
      const id = oomKilledContainer(this.buf.toString("utf8", 0, n));
      if (!id) continue;
      if (this.killed.size >= MAX_REMEMBERED) this.killed.delete(this.killed.values().next().value!);
      this.killed.add(id);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}
