// An image's filesystem, assembled in memory from host files (Debian packages) and generated
// text, then written as one tar layer. Parent directories are added on demand; entries come out
// sorted by path so the layer's bytes are reproducible.
import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { type TarEntry, writeTar } from "./tar.ts";

const run = promisify(execFile);

function clean(path: string): string {
  const p = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (p === "" || p.split("/").some((c) => c === "" || c === "." || c === "..")) {
    throw new Error(`rootfs: bad path "${path}"`);
  }
  return p;
}

export class Rootfs {
  private readonly entries = new Map<string, TarEntry>();

  dir(path: string, mode = 0o755): this {
    const p = clean(path);
    const existing = this.entries.get(p);
    if (existing && existing.type !== "dir") throw new Error(`rootfs: ${p} exists and is not a directory`);
    this.parents(p);
    this.entries.set(p, { type: "dir", path: p, mode });
    return this;
  }

  file(path: string, data: string | Uint8Array, mode = 0o644): this {
    const p = clean(path);
    this.parents(p);
    this.entries.set(p, {
      type: "file",
      path: p,
      mode,
      data: typeof data === "string" ? Buffer.from(data) : data,
    });
    return this;
  }

  symlink(path: string, target: string): this {
    const p = clean(path);
    this.parents(p);
    this.entries.set(p, { type: "symlink", path: p, target });
    return this;
  }

  /** Copies a host file's content (following symlinks) and permission bits to imagePath. */
  async copy(hostPath: string, imagePath = hostPath): Promise<this> {
    const [data, st] = await Promise.all([readFile(hostPath), stat(hostPath)]);
    return this.file(imagePath, data, st.mode & 0o7777);
  }

  has(path: string): boolean {
    return this.entries.has(clean(path));
  }

  tar(): Buffer {
    const sorted = [...this.entries.values()].sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
    );
    return writeTar(sorted);
  }

  private parents(p: string): void {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      const e = this.entries.get(d);
      if (!e) this.entries.set(d, { type: "dir", path: d, mode: 0o755 });
      else if (e.type !== "dir") throw new Error(`rootfs: ${d} is not a directory (needed for ${p})`);
    }
  }
}

/** The shared libraries and dynamic loader `ldd` lists for a host binary (absolute paths). */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run("ldd", [binary]);
  const libs: string[] = [];
  for (const line of stdout.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.push(m[1]);
    else if (/not found/.test(line)) throw new Error(`ldd ${binary}: ${line.trim()}`);
  }
  if (libs.length === 0) throw new Error(`ldd ${binary} listed no libraries: ${stdout.trim()}`);
  return libs;
}

/**
 * Where busybox installs its applets (`busybox --list-full`: bin/sh, usr/bin/killall, sbin/ip...),
 * without linuxrc.
 */
export async function busyboxApplets(busybox: string): Promise<string[]> {
  const { stdout } = await run(busybox, ["--list-full"]);
  const applets = stdout.split("\n").filter((a) => /^[\w./[\]-]+$/.test(a) && a.includes("/"));
  if (!applets.includes("bin/sh")) throw new Error(`${busybox} --list-full has no bin/sh`);
  return applets;
}
