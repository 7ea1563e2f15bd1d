// Applying nftables scripts: one `nft -f -` process per change, which the kernel applies as one
// transaction (all of it or nothing). The only place the dataplane runs `nft`.
import { execFile } from "node:child_process";

/**
 * The opening of a script that replaces table `ip NAME` whole: declared (so the delete finds
 * it even the first time), deleted, and opened again for the new body, all in one transaction.
 */
export const replaceTable = (table: string) =>
  `table ip ${table}\ndelete table ip ${table}\ntable ip ${table} {\n`;

export interface Nft {
  /** Applies a script atomically; rejects with nft's own message when any line is refused. */
  apply(script: string): Promise<void>;
  /** `nft -j list table ip NAME`, or undefined when there is no such table. */
  listTable(table: string): Promise<unknown | undefined>;
}

function run(home: string | undefined, args: string[], input?: string): Promise<string> {
  const [cmd, argv] = home ? ["nsenter", [`--net=/run/netns/${home}`, "nft", ...args]] : ["nft", args];
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, argv, { timeout: 60_000, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`nft ${args.join(" ")}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** The real `nft`, in the named netns `home` (tests), else in the caller's own (the agent's node). */
export function nftTool(home?: string): Nft {
  return {
    apply: async (script) => void (await run(home, ["-f", "-"], script)),
    async listTable(table) {
      try {
        return JSON.parse(await run(home, ["-j", "list", "table", "ip", table]));
      } catch (err) {
        if (/No such file or directory|does not exist/.test(String(err))) return undefined;
        throw err;
      }
    },
  };
}
