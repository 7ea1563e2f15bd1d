// Applying `ip` plans and reading links back: one `ip [-n NS] -batch -` process per netns group
// (a few ms each), JSON reads with `ip -j`. The only place the dataplane runs `ip`.
import { execFile } from "node:child_process";
import { batches, type IpCommand } from "./pod-link.ts";

export interface LinkInfo {
  ifname: string;
  address?: string;
  operstate?: string;
  master?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** What the dataplane needs of `ip` (`ipTool` is the real one; tests use a recording fake). */
export interface Ip {
  apply(cmds: IpCommand[]): Promise<void>;
  /** The link with its addresses, or undefined when there is none of that name. */
  link(name: string, netns?: string): Promise<LinkInfo | undefined>;
  /** Every link of the netns. */
  links(netns?: string): Promise<LinkInfo[]>;
}

function run(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("ip", args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(" ")}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * The real `ip`. `home`: the netns that commands without one run in (the node's, when the agent
 * itself runs elsewhere, as in tests); undefined: the agent's own.
 */
export function ipTool(home?: string): Ip {
  const nsArgs = (netns?: string) => {
    const ns = netns ?? home;
    return ns ? ["-n", ns] : [];
  };
  return {
    async apply(cmds) {
      for (const b of batches(cmds))
        await run([...nsArgs(b.netns), "-batch", "-"], `${b.lines.join("\n")}\n`);
    },
    async link(name, netns) {
      try {
        const out = await run([...nsArgs(netns), "-j", "addr", "show", "dev", name]);
        const links = JSON.parse(out) as LinkInfo[];
        return links[0];
      } catch (err) {
        if (/does not exist|Cannot find device|No such file/.test(String(err))) return undefined;
        throw err;
      }
    },
    async links(netns) {
      return JSON.parse(await run([...nsArgs(netns), "-j", "link", "show"])) as LinkInfo[];
    },
  };
}
