// What raven-agent installs on its node for the container runtime: the raven-cni plugin (one
// bundled file of src/cni and src/api/cni.ts, run by a tiny wrapper with the agent's own Node)
// and the network configuration that names it. Bundled, the plugin starts in about the time Node
// itself takes (~30 ms here): no module graph to resolve, no TypeScript to strip.
import { chmodSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("../cni/main.ts", import.meta.url));

/** The plugin's file name in the CNI bin dir: what a network config's `type` names. */
export const CNI_PLUGIN_NAME = "raven-cni";

/** Bundles raven-cni into `outFile` (CommonJS for Node: it starts sooner than ESM); answers the source files it holds. */
export async function buildCniBundle(outFile: string): Promise<string[]> {
  const { build } = await import("esbuild");
  mkdirSync(dirname(outFile), { recursive: true });
  const r = await build({
    entryPoints: [ENTRY],
    outfile: outFile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node24",
    metafile: true,
    logLevel: "silent",
    banner: { js: "// raven-cni: generated from src/cni by src/agent/cni-plugin.ts; do not edit." },
  });
  return Object.keys(r.metafile.inputs);
}

/**
 * Installs the plugin into `binDir` as `raven-cni`: a shell wrapper running `bundle` on `node`
 * (without the machine's extra CA bundle, which would cost every call ~70 ms). Atomic: the
 * runtime may be calling the old one.
 */
export function installCniPlugin(binDir: string, bundle: string, node = process.execPath): string {
  mkdirSync(binDir, { recursive: true });
  const file = join(binDir, CNI_PLUGIN_NAME);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `#!/bin/sh\nunset NODE_EXTRA_CA_CERTS\nexec '${node}' '${bundle}'\n`);
  chmodSync(tmp, 0o755);
  renameSync(tmp, file);
  return file;
}

export interface NetworkConfigOptions {
  /** The agent's socket on this node. */
  agentSocket: string;
  /** How long an ADD may wait for the pod's port (and the agent's answer). */
  timeoutSeconds?: number;
}

/**
 * The conflist for the runtime: raven-cni, then portmap (hostPort). cniVersion 1.0.0: what
 * containerd 1.6's libcni and Debian's reference plugins speak (raven-cni accepts it).
 */
export function ravenConflist(opts: NetworkConfigOptions): object {
  return {
    cniVersion: "1.0.0",
    name: "raven",
    plugins: [
      {
        type: CNI_PLUGIN_NAME,
        agentSocket: opts.agentSocket,
        timeoutSeconds: opts.timeoutSeconds ?? 90,
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}
