// Runs CNI plugins the way a runtime does (CNI spec 1.0, "Execution protocol"): the plugin
// binary found on the CNI path, the parameters in CNI_* variables, the network configuration
// on stdin, the result or error as JSON on stdout. A conflist runs its plugins in order for ADD
// (each gets the previous one's result) and in reverse for DEL; CHECK and DEL get the ADD's
// result as prevResult. Used for hot-plugged attachments, where Raven is the runtime.
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";

export type CniCommand = "ADD" | "DEL" | "CHECK";

/** A plugin's answer to ADD (CNI 1.0 result; older versions are close enough for what we read). */
export interface CniResult {
  cniVersion?: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: unknown;
  [k: string]: unknown;
}

/** A network configuration: a single plugin's, or a list's (with `plugins`). */
export interface CniConfig {
  cniVersion?: string;
  name?: string;
  type?: string;
  plugins?: Record<string, unknown>[];
  capabilities?: Record<string, boolean>;
  [k: string]: unknown;
}

export interface CniInvocation {
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs (IgnoreUnknown=1 is added). */
  args: Record<string, string>;
  /** Offered to plugins that declare the capability (ips, mac), as runtimes do. */
  runtimeConfig?: Record<string, unknown>;
}

/** A plugin's error (its JSON error, or what it printed and its exit code). */
export class CniError extends Error {
  readonly code: number;
  constructor(plugin: string, code: number, msg: string, details?: string) {
    super(`${plugin}: ${msg}${details ? ` (${details})` : ""}`);
    this.code = code;
  }
}

export interface CniExecOptions {
  /** Directories searched for plugin binaries, in order. */
  path: string[];
  /** Per plugin call. Default 60 s. */
  timeoutMs?: number;
}

export class CniExec {
  private readonly o: Required<CniExecOptions>;

  constructor(opts: CniExecOptions) {
    this.o = { timeoutMs: 60_000, ...opts };
  }

  /** ADD: the result of the last plugin of the list. */
  async add(config: CniConfig, inv: CniInvocation): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const plugin of plugins(config)) prev = (await this.call("ADD", plugin, config, inv, prev)) ?? prev;
    return prev ?? {};
  }

  /** DEL, in reverse order, each given the ADD's result if there was one. Idempotent by the spec. */
  async del(config: CniConfig, inv: CniInvocation, prevResult?: CniResult): Promise<void> {
    for (const plugin of plugins(config).reverse()) await this.call("DEL", plugin, config, inv, prevResult);
  }

  async check(config: CniConfig, inv: CniInvocation, prevResult: CniResult): Promise<void> {
    for (const plugin of plugins(config)) await this.call("CHECK", plugin, config, inv, prevResult);
  }

  /** Where the plugin of `type` is, or a CniError saying where it looked. */
  find(type: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(type)) throw new CniError(type, 1, `"${type}" is not a plugin name`);
    for (const dir of this.o.path) {
      const file = join(dir, type);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {}
    }
    throw new CniError(type, 1, `no plugin "${type}" in ${this.o.path.join(":")}`);
  }

  private call(
    command: CniCommand,
    plugin: Record<string, unknown>,
    list: CniConfig,
    inv: CniInvocation,
    prevResult: CniResult | undefined,
  ): Promise<CniResult | undefined> {
    const type = String(plugin.type ?? "");
    const binary = this.find(type);
    const conf: Record<string, unknown> = {
      ...plugin,
      cniVersion: list.cniVersion ?? plugin.cniVersion ?? "1.0.0",
      name: list.name ?? plugin.name,
    };
    delete conf.capabilities;
    const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
    const runtime = Object.fromEntries(Object.entries(inv.runtimeConfig ?? {}).filter(([k]) => caps[k]));
    if (Object.keys(runtime).length) conf.runtimeConfig = runtime;
    if (prevResult) conf.prevResult = prevResult;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      CNI_COMMAND: command,
      CNI_CONTAINERID: inv.containerId,
      CNI_NETNS: inv.netns,
      CNI_IFNAME: inv.ifname,
      CNI_PATH: this.o.path.join(":"),
      CNI_ARGS: ["IgnoreUnknown=1", ...Object.entries(inv.args).map(([k, v]) => `${k}=${v}`)].join(";"),
    };
    return new Promise((resolve, reject) => {
      const child = execFile(
        binary,
        [],
        { env, timeout: this.o.timeoutMs, maxBuffer: 4 << 20 },
        (err, stdout, stderr) => {
          const out = String(stdout).trim();
          if (!err) {
            if (command !== "ADD" || !out) return resolve(undefined);
            try {
              return resolve(JSON.parse(out) as CniResult);
            } catch {
              return reject(new CniError(type, 999, `ADD printed no JSON result: ${out.slice(0, 200)}`));
            }
          }
          // The spec's error: {"code", "msg", "details"} on stdout, exit code non-zero.
          let parsed: { code?: number; msg?: string; details?: string } | undefined;
          try {
            parsed = JSON.parse(out);
          } catch {}
          const code =
            typeof parsed?.code === "number" ? parsed.code : ((err as { code?: number }).code ?? 999);
          const msg = parsed?.msg ?? (String(stderr).trim() || out || (err as Error).message);
          reject(new CniError(type, Number(code), `${command} failed: ${msg}`, parsed?.details));
        },
      );
      child.stdin?.end(JSON.stringify(conf));
    });
  }
}

/** The plugins a configuration runs: a list's, or the single plugin itself. */
function plugins(config: CniConfig): Record<string, unknown>[] {
  return Array.isArray(config.plugins) ? config.plugins : [config];
}
