// A node's CNI configuration: raven-cni (then portmap) when the sandbox runs Raven, else the
// reference plugins in /usr/lib/cni (bridge + host-local on the node's pod range, then portmap;
// also the benchmark baseline). containerd reads the lexicographically first file of the
// node's conf dir, so the choice is one file there; the node's bin dir holds raven-cni and
// links to the reference plugins.
import { mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installCniPlugin, ravenConflist } from "../../agent/cni-plugin.ts";
import { CNI_BIN_DIR, type NodeLayout } from "./layout.ts";

export const CNI_CONF_FILE = "10-raven-bridge.conflist";
export const CNI_NETWORK_NAME = "raven-bridge";

/** The conflist (CNI spec 1.0.0, the newest the Debian plugins speak). */
export function bridgeConflist(node: NodeLayout): object {
  return {
    cniVersion: "1.0.0",
    name: CNI_NETWORK_NAME,
    plugins: [
      {
        type: "bridge",
        bridge: node.podBridge,
        isGateway: true,
        // Hairpin: a pod reaching its own Service VIP gets its packets back on its own port.
        hairpinMode: true,
        // Nothing may leave the machine, and the node netns has no default route anyway.
        ipMasq: false,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: node.podCidr }]],
          // Inside the pod: everything goes to the node (which routes only what stays local).
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: node.cniDataDir,
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/** The reference plugins a node's bin dir links to (raven-cni chains portmap; containerd runs loopback). */
const REFERENCE_PLUGINS = ["bridge", "host-local", "portmap", "loopback"];

/**
 * The node's bin dir and conflist, written atomically (containerd watches the conf dir):
 * raven-cni (running `ravenBundle`) when given, else the reference bridge. Returns the conflist.
 */
export function writeCniConfig(node: NodeLayout, ravenBundle?: string): string {
  mkdirSync(node.cniConfDir, { recursive: true });
  mkdirSync(node.cniDataDir, { recursive: true });
  mkdirSync(node.cniBinDir, { recursive: true });
  for (const p of REFERENCE_PLUGINS) {
    rmSync(join(node.cniBinDir, p), { force: true });
    symlinkSync(join(CNI_BIN_DIR, p), join(node.cniBinDir, p));
  }
  if (ravenBundle) installCniPlugin(node.cniBinDir, ravenBundle);
  const conflist = ravenBundle ? ravenConflist({ agentSocket: node.agentSocket }) : bridgeConflist(node);
  const file = join(node.cniConfDir, CNI_CONF_FILE);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(conflist, null, 2)}\n`);
  renameSync(tmp, file);
  return file;
}

/** The config files in the node's conf dir, in the order containerd considers them. */
export function cniConfigFiles(node: NodeLayout): string[] {
  try {
    return readdirSync(node.cniConfDir)
      .filter((f) => /\.(conf|conflist|json)$/.test(f))
      .sort();
  } catch {
    return [];
  }
}
