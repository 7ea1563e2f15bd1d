// How long raven-agent takes to program Services into nftables, and how many rules it takes:
// one Service with 1, 100 and 1,000 members, and 1, 100 and 1,000 Services of 3 members, each
// planned (dataplane/nft-services.ts) and applied as one `nft -f` transaction in a network
// namespace this benchmark makes (and deletes). Rules are counted from `nft -j list table`.
// Prints JSON and a markdown table. Usage: node bench/nft-services.bench.ts [--out=FILE]
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs, promisify } from "node:util";
import { nftTool } from "../src/dataplane/nft.ts";
import { type Frontend, planServices } from "../src/dataplane/nft-services.ts";
import { markdownTable, percentile } from "./stats.ts";

const { values } = parseArgs({ options: { out: { type: "string" } } });
const exec = promisify(execFile);
const NS = `rvnb${process.pid % 100000}`;
const round1 = (x: number) => Math.round(x * 10) / 10;
const ip = (base: number, i: number) => `${base >>> 24}.${(base >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

function frontends(services: number, members: number): Frontend[] {
  return Array.from({ length: services }, (_, s) => ({
    address: ip(10 << 24, s + 2),
    protocol: "tcp" as const,
    port: 80,
    external: false,
    // Members in 192.168.0.0/16, distinct per Service.
    members: Array.from({ length: members }, (_, m) => ({
      address: `192.168.${((s * members + m) >> 8) & 255}.${(s * members + m) & 255 || 1}`,
      port: 8080,
    })),
  }));
}

const cases: [string, number, number][] = [
  ["1 Service x 1 member", 1, 1],
  ["1 Service x 100 members", 1, 100],
  ["1 Service x 1,000 members", 1, 1000],
  ["100 Services x 3 members", 100, 3],
  ["1,000 Services x 3 members", 1000, 3],
];
const results = [];
await exec("ip", ["netns", "add", NS]);
try {
  const nft = nftTool(NS);
  for (const [name, services, members] of cases) {
    const fe = frontends(services, members);
    const times: number[] = [];
    let planMs = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const script = planServices({
        table: "raven",
        frontends: fe,
        nodeIp: "10.254.0.11",
        podCidrs: ["192.168.0.0/16"],
      });
      const t1 = performance.now();
      await nft.apply(script);
      times.push(performance.now() - t1);
      planMs = t1 - t0;
    }
    const listed = (await nft.listTable("raven")) as { nftables: Record<string, unknown>[] };
    const count = (kind: string) => listed.nftables.filter((o) => kind in o).length;
    const elements = listed.nftables
      .filter((o) => "map" in o || "set" in o)
      .reduce((n, o) => n + (((o.map ?? o.set) as { elem?: unknown[] }).elem?.length ?? 0), 0);
    times.sort((a, b) => a - b);
    results.push({
      case: name,
      services,
      members,
      planMs: round1(planMs),
      applyMs: { p50: round1(percentile(times, 0.5)), max: round1(times.at(-1)!) },
      rules: count("rule"),
      chains: count("chain"),
      elements,
    });
  }
} finally {
  await exec("ip", ["netns", "del", NS]);
}
const report = {
  benchmark: "Services programmed into nftables (one transaction per change)",
  date: new Date().toISOString(),
  loadAverage1m: round1(loadavg()[0]),
  results,
};
const json = JSON.stringify(report, null, 2);
if (values.out) writeFileSync(values.out, `${json}\n`);
console.log(json);
console.log();
console.log(
  markdownTable(
    ["case", "plan (ms)", "nft apply p50 (ms)", "rules", "chains", "map/set elements"],
    results.map((r) => [r.case, r.planMs, r.applyMs.p50, r.rules, r.chains, r.elements]),
  ),
);
