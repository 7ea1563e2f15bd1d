// The Node/V8 options deploy/controller.yaml runs raven-controller with (NODE_OPTIONS), read from
// the manifest so the sandbox and the benchmarks run the controller as it is deployed.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const MANIFEST = fileURLToPath(new URL("../../deploy/controller.yaml", import.meta.url));

/** The NODE_OPTIONS value in `manifest` (deploy/controller.yaml by default), "" when it sets none. */
export function deployedNodeOptions(manifest = readFileSync(MANIFEST, "utf8")): string {
  return /- name: NODE_OPTIONS\s+value: "?([^"\n]*)"?/.exec(manifest)?.[1]?.trim() ?? "";
}
