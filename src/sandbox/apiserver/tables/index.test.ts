import assert from "node:assert/strict";
import { test } from "node:test";
import { BUILTIN_RESOURCES } from "../builtin-resources.ts";
import { crdPrinter, printerFor } from "./index.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");

const headers = (group: string, resource: string) => printerFor(group, resource).columns.map((c) => c.name);

test("every built-in resource's printer yields one cell per column, even for a bare object", () => {
  for (const r of BUILTIN_RESOURCES) {
    const p = printerFor(r.group, r.plural);
    const cells = p.cells({ metadata: { name: "x" } }, NOW);
    assert.equal(cells.length, p.columns.length, `${r.group}/${r.plural}`);
    assert.ok(cells.includes("x"), `${r.group}/${r.plural} prints the name`);
  }
});

test("tables start with a NAME column of format name, except core events", () => {
  for (const r of BUILTIN_RESOURCES) {
    const first = printerFor(r.group, r.plural).columns[0];
    if (r.plural === "events") assert.equal(first.name, "Last Seen");
    else assert.deepEqual([first.name, first.format], ["Name", "name"], `${r.group}/${r.plural}`);
  }
});

test("resources map to the upstream column sets", () => {
  assert.deepEqual(headers("", "services"), [
    "Name",
    "Type",
    "Cluster-IP",
    "External-IP",
    "Port(s)",
    "Age",
    "Selector",
  ]);
  assert.deepEqual(headers("apps", "deployments"), [
    "Name",
    "Ready",
    "Up-to-date",
    "Available",
    "Age",
    "Containers",
    "Images",
    "Selector",
  ]);
  assert.deepEqual(headers("apps", "daemonsets"), [
    "Name",
    "Desired",
    "Current",
    "Ready",
    "Up-to-date",
    "Available",
    "Node Selector",
    "Age",
    "Containers",
    "Images",
    "Selector",
  ]);
  assert.deepEqual(headers("batch", "jobs"), [
    "Name",
    "Status",
    "Completions",
    "Duration",
    "Age",
    "Containers",
    "Images",
    "Selector",
  ]);
  assert.deepEqual(headers("", "nodes"), [
    "Name",
    "Status",
    "Roles",
    "Age",
    "Version",
    "Internal-IP",
    "External-IP",
    "OS-Image",
    "Kernel-Version",
    "Container-Runtime",
  ]);
  assert.deepEqual(headers("discovery.k8s.io", "endpointslices"), [
    "Name",
    "AddressType",
    "Ports",
    "Endpoints",
    "Age",
  ]);
  assert.deepEqual(headers("coordination.k8s.io", "leases"), ["Name", "Holder", "Age"]);
  // CRDs, and anything without a printer, get the default convertor.
  assert.deepEqual(headers("apiextensions.k8s.io", "customresourcedefinitions"), ["Name", "Created At"]);
  assert.deepEqual(headers("rbac.authorization.k8s.io", "roles"), ["Name", "Created At"]);
});

test("wide-only columns are exactly the upstream priority-1 ones", () => {
  const wide = (group: string, resource: string) =>
    printerFor(group, resource)
      .columns.filter((c) => c.priority === 1)
      .map((c) => c.name);
  assert.deepEqual(wide("", "pods"), ["IP", "Node", "Nominated Node", "Readiness Gates"]);
  assert.deepEqual(wide("", "services"), ["Selector"]);
  assert.deepEqual(wide("apps", "replicasets"), ["Containers", "Images", "Selector"]);
  assert.deepEqual(wide("", "nodes"), [
    "Internal-IP",
    "External-IP",
    "OS-Image",
    "Kernel-Version",
    "Container-Runtime",
  ]);
  assert.deepEqual(wide("", "namespaces"), []);
});

test("crdPrinter is re-exported for the registry", () => {
  assert.deepEqual(
    crdPrinter([{ name: "Phase", type: "string", jsonPath: ".status.phase" }]).columns.map((c) => c.name),
    ["Name", "Phase"],
  );
});
