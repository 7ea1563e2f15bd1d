// `raven sandbox exec HOST -- CMD...`: CMD in a sandbox host's network namespace (node-1,
// node-2, ..., or external), with the host's mounts (nsenter changes the network namespace
// only), so a person can reach VIPs and floating IPs from where the traffic would come from
// without any packet leaving the machine.
import { spawn } from "node:child_process";
import { readConfig } from "./config.ts";
import { externalHostNetns } from "./node/network.ts";
import { nodeLayouts } from "./real-nodes.ts";

/** The netns of a sandbox host by name, or an error that lists the hosts there are. */
export function hostNetns(dir: string, host: string): string {
  const cfg = readConfig(dir);
  if (!cfg) throw new Error(`no sandbox in ${dir}`);
  const nodes = nodeLayouts(cfg);
  if (!nodes.length) throw new Error(`the sandbox in ${dir} has no real nodes (it runs virtual ones)`);
  if (host === "external") return externalHostNetns(cfg.instanceId);
  const node = nodes.find((n) => n.name === host);
  if (!node)
    throw new Error(
      `no host "${host}" in the sandbox; there are ${[...nodes.map((n) => n.name), "external"].join(", ")}`,
    );
  return node.netns;
}

/** Runs `argv` in the host's netns with the caller's stdio; resolves with its exit code. */
export function execInHost(dir: string, host: string, argv: string[]): Promise<number> {
  const netns = hostNetns(dir, host);
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=/run/netns/${netns}`, "--", ...argv], { stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1)));
  });
}
