// The import rules of docs/architecture.md, checked over the real import graph of src/ (static,
// type-only and dynamic imports alike, read with TypeScript's own pre-processor):
// - Raven's product code never imports the sandbox (the sandbox may import Raven);
// - the peers controller/, agent/ and cni/ never import each other (they meet in api/, sdn/);
// - cni/ uses Node builtins and api/ only (it is bundled into one small file);
// - test doubles (fake-*.ts, testing.ts) are imported by tests and other test doubles only;
// - there are no import cycles.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const SRC = dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** file (relative to src/) -> the specifiers it imports, relative ones resolved relative to src/. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const deps = info.importedFiles.map(({ fileName }) =>
      fileName.startsWith(".") ? relative(SRC, resolve(dirname(file), fileName)) : fileName,
    );
    graph.set(relative(SRC, file), deps);
  }
  return graph;
}

const graph = importGraph();
const isTest = (f: string) => f.endsWith(".test.ts");
const isTestDouble = (f: string) => /(^|\/)(fake-[^/]+|testing)\.ts$/.test(f);
const top = (f: string) => f.split("/")[0];
const edges = () => [...graph].flatMap(([from, deps]) => deps.map((to) => ({ from, to })));

test("the graph is read: it has the known edges", () => {
  assert.ok(graph.size > 300, `${graph.size} files`);
  assert.ok(graph.get("controller/pods.ts")?.includes("api/annotations.ts"));
  assert.ok(graph.get("cli/sandbox.ts")?.includes("sandbox/kubelet/main.ts"), "dynamic imports count");
});

test("product code never imports the sandbox", () => {
  const product = (f: string) => !f.startsWith("sandbox/") && top(f) !== "cli" && !isTest(f);
  const bad = edges().filter((e) => product(e.from) && e.to.startsWith("sandbox/"));
  assert.deepEqual(bad, []);
});

test("the peers controller, agent and cni do not import each other", () => {
  const peers = new Set(["controller", "agent", "cni"]);
  const bad = edges().filter(
    (e) =>
      peers.has(top(e.from)) && peers.has(top(e.to)) && top(e.from) !== top(e.to) && !e.to.startsWith("."),
  );
  assert.deepEqual(bad, []);
});

test("raven-cni uses Node builtins and api/ only", () => {
  const bad = edges().filter(
    (e) =>
      top(e.from) === "cni" &&
      !isTest(e.from) &&
      !e.to.startsWith("node:") &&
      !e.to.startsWith("cni/") &&
      !e.to.startsWith("api/"),
  );
  assert.deepEqual(bad, []);
});

test("test doubles are only imported by tests and other test doubles", () => {
  const bad = edges().filter((e) => isTestDouble(e.to) && !isTest(e.from) && !isTestDouble(e.from));
  assert.deepEqual(bad, []);
});

test("there are no import cycles", () => {
  // Tarjan's strongly connected components over the file graph.
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) !== idx.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) cycles.push(scc.sort());
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  assert.deepEqual(cycles, []);
});
