// Runs every benchmark in turn (each prints JSON and a markdown table).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const only = process.argv.slice(2);
for (const f of readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .sort()) {
  if (only.length && !only.some((o) => f.includes(o))) continue;
  process.stdout.write(`\n## ${f}\n`);
  const r = spawnSync(process.execPath, [`${dir}/${f}`], { stdio: "inherit" });
  if (r.status !== 0) process.exitCode = 1;
}
