import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../../kube/objects.ts";
import { podPrinter } from "./pods.ts";
import { buildTable } from "./table.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");

const pod = (name: string, phase: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name,
    namespace: "default",
    uid: `uid-${name}`,
    resourceVersion: "1005",
    creationTimestamp: formatTime(NOW),
    labels: { run: name },
  },
  spec: { containers: [{ name, image: "nginx" }] },
  status: { phase },
});

test("a list Table carries the resourceVersion, continue token and PartialObjectMetadata rows", () => {
  const objs = [pod("x", "Running"), pod("y", "Pending")];
  const table = buildTable(podPrinter, objs, {
    resourceVersion: "1011",
    continue: "eyJydiI6MTAxMX0",
    now: NOW,
  });
  assert.equal(table.kind, "Table");
  assert.equal(table.apiVersion, "meta.k8s.io/v1");
  assert.deepEqual(table.metadata, { resourceVersion: "1011", continue: "eyJydiI6MTAxMX0" });
  assert.deepEqual(
    table.columnDefinitions.map((c) => c.name),
    ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"],
  );
  assert.deepEqual(table.rows[0], {
    cells: ["x", "0/1", "Running", "0", "0s", "<none>", "<none>", "<none>", "<none>"],
    object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: objs[0].metadata },
  });
  assert.equal(table.rows[1].cells[0], "y");
});

test("includeObject=Object embeds whole objects; None leaves rows with cells only", () => {
  const x = pod("x", "Running");
  assert.equal(buildTable(podPrinter, [x], { includeObject: "Object", now: NOW }).rows[0].object, x);
  const bare = buildTable(podPrinter, [x], { includeObject: "None", now: NOW });
  assert.deepEqual(Object.keys(bare.rows[0]), ["cells"]);
  assert.deepEqual(bare.metadata, {});
});

test("finished pods' rows carry the Completed condition", () => {
  const table = buildTable(podPrinter, [pod("done", "Succeeded"), pod("live", "Running")], { now: NOW });
  assert.equal(table.rows[0].conditions?.[0].reason, "Succeeded");
  assert.equal(table.rows[1].conditions, undefined);
});

test("noHeaders empties the column definitions without touching the printer's", () => {
  const table = buildTable(podPrinter, [pod("x", "Running")], { noHeaders: true, now: NOW });
  assert.deepEqual(table.columnDefinitions, []);
  const full = buildTable(podPrinter, [], { now: NOW });
  full.columnDefinitions.length = 0;
  assert.equal(podPrinter.columns.length, 9);
  assert.deepEqual(full.rows, []);
});
