// `raven agent --install-cni`: what the DaemonSet's agent puts on its node before it serves.
// The container runtime runs CNI plugins on the host, outside the agent's container, so the
// plugin must not depend on the container's files: the Node binary and the bundle are copied
// next to it in the host's CNI bin dir (raven-cni.d/), the wrapper names them by their host
// paths, and the conflist goes into the host's CNI config dir. Every file is replaced
// atomically (the runtime may be running the old one).
import { copyFileSync, mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildCniBundle, CNI_PLUGIN_NAME, installCniPlugin, ravenConflist } from "./cni-plugin.ts";

export interface CniInstallOptions {
  /** Where the host's / is mounted in this container ("/" when the agent runs on the host). */
  hostRoot: string;
  /** The runtime's CNI bin and config dirs, as the host sees them. */
  cniBinDir: string;
  cniConfDir: string;
  /** The agent's socket, as the host sees it. */
  agentSocket: string;
  /** A prebuilt raven-cni bundle (an image ships one); otherwise it is built here with esbuild. */
  bundle?: string;
  /** The Node binary to copy (default: the one running the agent). */
  node?: string;
}

/** The conflist's file name: sorts first among the usual names, as the runtime takes the first. */
export const CONFLIST_NAME = "10-raven.conflist";

function copyIfChanged(from: string, to: string): void {
  try {
    const [a, b] = [statSync(from), statSync(to)];
    if (a.size === b.size && a.mtimeMs <= b.mtimeMs) return;
  } catch {
    // not there yet
  }
  copyFileSync(from, `${to}.tmp`);
  renameSync(`${to}.tmp`, to);
}

/** Installs raven-cni and its conflist on the node; answers the files written, as the host sees them. */
export async function installCni(o: CniInstallOptions): Promise<{ plugin: string; conflist: string }> {
  const onHost = (p: string) => join(o.hostRoot, p);
  const supportDir = join(o.cniBinDir, `${CNI_PLUGIN_NAME}.d`);
  mkdirSync(onHost(supportDir), { recursive: true });
  const node = join(supportDir, "node");
  copyIfChanged(o.node ?? process.execPath, onHost(node));
  const bundle = join(supportDir, `${CNI_PLUGIN_NAME}.cjs`);
  if (o.bundle) copyIfChanged(o.bundle, onHost(bundle));
  else {
    await buildCniBundle(onHost(`${bundle}.new`));
    renameSync(onHost(`${bundle}.new`), onHost(bundle));
  }
  installCniPlugin(onHost(o.cniBinDir), bundle, node);
  mkdirSync(onHost(o.cniConfDir), { recursive: true });
  const conflist = join(o.cniConfDir, CONFLIST_NAME);
  writeFileSync(
    onHost(`${conflist}.tmp`),
    `${JSON.stringify(ravenConflist({ agentSocket: o.agentSocket }), null, 2)}\n`,
  );
  renameSync(onHost(`${conflist}.tmp`), onHost(conflist));
  return { plugin: join(o.cniBinDir, CNI_PLUGIN_NAME), conflist };
}
