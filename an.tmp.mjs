import { readFileSync } from "node:fs";
const [file, ...leaves] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const agg = new Map(); let tot = 0;
for (let i = 0; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]);
  if (!leaves.includes(n.callFrame.functionName)) continue;
  const dt = p.timeDeltas[i + 1] ?? 0; tot += dt;
  let id = n.id; const chain = [];
  while (id !== undefined) { const f = byId.get(id).callFrame; if (f.url.includes("/src/")) chain.push(`${f.functionName}@${f.url.replace(/.*\/src\//, "")}:${f.lineNumber + 1}`); if (chain.length >= 3) break; id = parent.get(id); }
  const k = chain.join(" < ") || "(no src frame)";
  agg.set(k, (agg.get(k) ?? 0) + dt);
}
console.log("total ms", Math.round(tot / 1000));
for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(Math.round(v / 1000), k);
