// Applying `ip` plans and reading links back: one `ip -batch -` process per netns group (a few
// ms each), JSON reads with `ip -j`. A pod's netns is a file wherever the runtime put it (the
// CNI_NETNS path): one of `ip netns`' is entered with `ip -n`, any other through
// `nsenter --net=`. The only place the dataplane runs `ip`.
import { execFile } from "node:child_process";
import { batches, type IpCommand } from "./pod-link.ts";

export interface LinkInfo {
  ifname: string;
  address?: string;
  operstate?: string;
  master?: string;
  ifalias?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** What the dataplane needs of `ip` (`ipTool` is the real one; tests use a recording fake). */
export interface Ip {
  /** How `ip link ... netns` names the node's netns (where commands without a netns run). */
  readonly nodeNetns: string;
  apply(cmds: IpCommand[]): Promise<void>;
  /** The link with its addresses, or undefined when there is none of that name. */
  link(name: string, netns?: string): Promise<LinkInfo | undefined>;
  /** Every link of the netns. */
  links(netns?: string): Promise<LinkInfo[]>;
  /** `ip|bridge -j ARGS` in the node's netns, parsed. */
  show<T>(tool: "ip" | "bridge", args: string[]): Promise<T[]>;
  /** Deletes a link of the node's netns in one `ip` process; answers it as it was, or undefined if there was none. */
  remove(name: string): Promise<LinkInfo | undefined>;
}

/**
 * The name `ip -n` knows a netns file by, when it is one of `ip netns`' (containerd puts pod
 * netns there): one process instead of `nsenter` + `ip`.
 */
export function namedNetns(path: string): string | undefined {
  return /^\/(?:var\/)?run\/netns\/([^/]+)$/.exec(path)?.[1];
}

/** `ip ARGS` (or `bridge ARGS`) in the netns file `netns`, else in `home` (a netns name), else here. */
function run(
  netns: string | undefined,
  home: string | undefined,
  args: string[],
  input?: string,
  tool: "ip" | "bridge" = "ip",
): Promise<string> {
  const name = netns ? namedNetns(netns) : home;
  const [cmd, argv] = name
    ? [tool, ["-n", name, ...args]]
    : netns
      ? ["nsenter", [`--net=${netns}`, tool, ...args]]
      : [tool, args];
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, argv, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${tool} ${args.join(" ")}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * The real `ip`. `home`: the named netns that commands without one run in (the node's, when the
 * agent itself runs elsewhere, as in tests); undefined: the agent's own.
 */
export function ipTool(home?: string): Ip {
  return {
    nodeNetns: home ?? String(process.pid),
    async apply(cmds) {
      for (const b of batches(cmds))
        await run(b.netns, home, ["-batch", "-"], `${b.lines.join("\n")}\n`, b.tool ?? "ip");
    },
    async link(name, netns) {
      try {
        const out = await run(netns, home, ["-j", "-d", "addr", "show", "dev", name]);
        return (JSON.parse(out) as LinkInfo[])[0];
      } catch (err) {
        if (/does not exist|Cannot find device|No such file/.test(String(err))) return undefined;
        throw err;
      }
    },
    async links(netns) {
      return JSON.parse(await run(netns, home, ["-j", "link", "show"])) as LinkInfo[];
    },
    async remove(name) {
      try {
        const out = await run(
          undefined,
          home,
          ["-j", "-d", "-batch", "-"],
          `link show dev ${name}\nlink del ${name}\n`,
        );
        return (JSON.parse(out) as LinkInfo[])[0];
      } catch (err) {
        if (/does not exist|Cannot find device/.test(String(err))) return undefined;
        throw err;
      }
    },
    async show<T>(tool: "ip" | "bridge", args: string[]) {
      const out = (await run(undefined, home, ["-j", ...args], undefined, tool)).trim();
      return (out ? JSON.parse(out) : []) as T[];
    },
  };
}
