// Reads V8 .cpuprofile files (NODE_OPTIONS=--cpu-prof) and answers where the time went:
// self time and inclusive time per function, and self time per source file, optionally only
// for samples inside a window of the machine's monotonic clock (the clock of
// process.hrtime(), which V8's profile timestamps share on Linux), so the benchmarks can cut
// out the part of a long-lived process's profile that belongs to one measurement.
//
// CLI: node bench/cpuprofile.ts FILE.cpuprofile [--from US] [--to US] [--top N]
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** Sampled wall time inside the window, ms. */
  windowMs: number;
  /** Time in JS, GC, native code: everything but (idle) and (program), ms. */
  busyMs: number;
  idleMs: number;
  gcMs: number;
  topSelf: { fn: string; ms: number; pct: number }[];
  topInclusive: { fn: string; ms: number; pct: number }[];
  byFile: { file: string; ms: number; pct: number }[];
}

/** Microseconds of CLOCK_MONOTONIC, as V8's profile timestamps. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

const shortUrl = (url: string) =>
  url
    .replace(/^file:\/\//, "")
    .replace(/^.*\/node_modules\//, "~/")
    .replace(/^.*\/(src|bench|test)\//, "$1/");

const label = (f: CallFrame) =>
  f.url ? `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}:${f.lineNumber + 1}` : f.functionName;

export function summarizeProfile(
  file: string,
  window: { fromUs?: number; toUs?: number } = {},
  top = 20,
): ProfileSummary {
  const p: Profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const files = new Map<string, number>();
  let t = p.startTime;
  let windowUs = 0;
  let idle = 0;
  let gc = 0;
  let program = 0;
  const from = window.fromUs ?? Number.NEGATIVE_INFINITY;
  const to = window.toUs ?? Number.POSITIVE_INFINITY;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    // A sample stands for the interval until the next one.
    const dt = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0;
    if (t < from || t > to || dt <= 0) continue;
    windowUs += dt;
    const node = byId.get(p.samples[i])!;
    const name = node.callFrame.functionName;
    if (name === "(idle)") {
      idle += dt;
      continue;
    }
    if (name === "(program)") program += dt;
    if (name === "(garbage collector)") gc += dt;
    const l = label(node.callFrame);
    self.set(l, (self.get(l) ?? 0) + dt);
    const f = node.callFrame.url ? shortUrl(node.callFrame.url) : name;
    files.set(f, (files.get(f) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const k = label(byId.get(id)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  }
  const busy = windowUs - idle - program;
  const rank = (m: Map<string, number>, key: "fn" | "file") =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({
        [key]: k,
        ms: Math.round(us / 1000),
        pct: Math.round((us / Math.max(windowUs - idle, 1)) * 1000) / 10,
      }));
  incl.delete("(root)");
  return {
    file: basename(file),
    windowMs: Math.round(windowUs / 1000),
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    gcMs: Math.round(gc / 1000),
    topSelf: rank(self, "fn") as ProfileSummary["topSelf"],
    topInclusive: rank(incl, "fn") as ProfileSummary["topInclusive"],
    byFile: rank(files, "file") as ProfileSummary["byFile"],
  };
}

/** The profile written by process `pid` in `dir` (V8 names them CPU.<date>.<time>.<pid>.<tid>.<n>.cpuprofile). */
export function profileOf(dir: string, pid: number): string | undefined {
  try {
    const f = readdirSync(dir).find((f) => f.endsWith(".cpuprofile") && f.split(".")[3] === String(pid));
    return f ? join(dir, f) : undefined;
  } catch {
    return undefined;
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { from: { type: "string" }, to: { type: "string" }, top: { type: "string", default: "25" } },
  });
  for (const f of positionals) {
    const s = summarizeProfile(
      f,
      {
        fromUs: values.from ? Number(values.from) : undefined,
        toUs: values.to ? Number(values.to) : undefined,
      },
      Number(values.top),
    );
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
  }
}
