// Reads a V8 .heapsnapshot (see raven-coldstart's --heap-snapshot) and answers what holds the
// memory: self size summed per node type and constructor name, largest first. Streams nothing
// clever: the snapshot is parsed whole, which is fine for the few hundred MiB a controller has.
//
// CLI: node bench/heapsnapshot.ts FILE.heapsnapshot [--top N]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

export interface HeapSummary {
  totalMiB: number;
  nodes: number;
  top: { what: string; count: number; MiB: number; pct: number }[];
}

export function summarizeHeap(file: string, top = 30): HeapSummary {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const meta = snap.snapshot.meta;
  const fields: string[] = meta.node_fields;
  const types: string[] = meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf("type");
  const iName = fields.indexOf("name");
  const iSize = fields.indexOf("self_size");
  const nodes: number[] = snap.nodes;
  const strings: string[] = snap.strings;
  const by = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    const size = nodes[i + iSize];
    total += size;
    // Objects by constructor; strings, code, arrays and the rest by their type.
    const what =
      type === "object" || type === "closure" || type === "native"
        ? `${type} ${strings[nodes[i + iName]]}`.slice(0, 80)
        : type;
    const e = by.get(what) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += size;
    by.set(what, e);
  }
  return {
    totalMiB: Math.round(total / 2 ** 20),
    nodes: nodes.length / width,
    top: [...by.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([what, e]) => ({
        what,
        count: e.count,
        MiB: Math.round((e.bytes / 2 ** 20) * 10) / 10,
        pct: Math.round((e.bytes / total) * 1000) / 10,
      })),
  };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "30" } },
  });
  for (const f of positionals)
    process.stdout.write(`${JSON.stringify(summarizeHeap(f, Number(values.top)), null, 2)}\n`);
}
