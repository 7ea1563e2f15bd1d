// A node's CNI configuration: until Raven's own CNI lands, the reference plugins in /usr/lib/cni
// (bridge + host-local on the node's pod range, then portmap). containerd reads the
// lexicographically first file of the node's conf dir, so switching to raven-cni is one file there.
import { mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NodeLayout } from "./layout.ts";

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

/** Writes the node's conflist atomically (containerd watches the dir). Returns its path. */
export function writeCniConfig(node: NodeLayout): string {
  mkdirSync(node.cniConfDir, { recursive: true });
  mkdirSync(node.cniDataDir, { recursive: true });
  const file = join(node.cniConfDir, CNI_CONF_FILE);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(bridgeConflist(node), null, 2)}\n`);
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
