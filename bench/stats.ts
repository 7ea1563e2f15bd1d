// Small statistics and formatting helpers shared by the benchmarks.
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";

/** The q-quantile (0..1) of an ascending-sorted array, nearest-rank. */
export function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export function markdownTable(header: string[], rows: unknown[][]): string {
  const line = (cells: unknown[]) => `| ${cells.map(String).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/**
 * Prints a benchmark's report as JSON (and writes it to `out`), then its markdown tables: what
 * every benchmark ends with.
 */
export function printReport(
  benchmark: string,
  body: Record<string, unknown>,
  out: string | undefined,
  tables: string[],
): void {
  const report = {
    benchmark,
    date: new Date().toISOString(),
    loadAverage1m: Math.round(loadavg()[0] * 10) / 10,
    ...body,
  };
  const json = JSON.stringify(report, null, 2);
  if (out) writeFileSync(out, `${json}\n`);
  console.log(json);
  for (const t of tables) console.log(`\n${t}`);
}
