// configmaps, secrets, serviceaccounts, namespaces, leases and the default convertor.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../../kube/objects.ts";
import { configMapPrinter, secretPrinter, serviceAccountPrinter } from "./config.ts";
import { defaultPrinter } from "./default.ts";
import { leasePrinter } from "./leases.ts";
import { namespacePrinter } from "./namespaces.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const meta = (name: string) => ({
  name,
  namespace: "default",
  creationTimestamp: formatTime(NOW - 45 * 86_400_000),
});

test("configmaps count text and binary keys together", () => {
  const cm: KubeObject = {
    metadata: meta("settings"),
    data: { a: "1", b: "2" },
    binaryData: { logo: "iVBORw0=" },
  };
  assert.deepEqual(configMapPrinter.cells(cm, NOW), ["settings", 3, "45d"]);
  assert.deepEqual(configMapPrinter.cells({ metadata: meta("empty") }, NOW), ["empty", 0, "45d"]);
});

test("secrets print their type and key count", () => {
  const s: KubeObject = {
    metadata: meta("tls"),
    type: "kubernetes.io/tls",
    data: { "tls.crt": "LS0t", "tls.key": "LS0t" },
  };
  assert.deepEqual(secretPrinter.cells(s, NOW), ["tls", "kubernetes.io/tls", 2, "45d"]);
});

test("serviceaccounts count their listed secrets", () => {
  assert.deepEqual(serviceAccountPrinter.cells({ metadata: meta("default") }, NOW), ["default", 0, "45d"]);
  const sa: KubeObject = { metadata: meta("builder"), secrets: [{ name: "builder-token" }] };
  assert.deepEqual(serviceAccountPrinter.cells(sa, NOW), ["builder", 1, "45d"]);
});

test("namespaces print their phase", () => {
  const ns: KubeObject = {
    metadata: { name: "team-a", creationTimestamp: formatTime(NOW - 5000) },
    status: { phase: "Terminating" },
  };
  assert.deepEqual(namespacePrinter.cells(ns, NOW), ["team-a", "Terminating", "5s"]);
});

test("leases print their holder, empty when unheld", () => {
  const held: KubeObject = {
    metadata: meta("kube-scheduler"),
    spec: { holderIdentity: "sandbox_1a2b", leaseDurationSeconds: 15 },
  };
  assert.deepEqual(leasePrinter.cells(held, NOW), ["kube-scheduler", "sandbox_1a2b", "45d"]);
  assert.equal(leasePrinter.cells({ metadata: meta("free"), spec: {} }, NOW)[1], "");
});

test("the default convertor prints NAME and CREATED AT as a UTC RFC 3339 date, not an age", () => {
  assert.deepEqual(
    defaultPrinter.columns.map((c) => [c.name, c.type, c.format]),
    [
      ["Name", "string", "name"],
      ["Created At", "date", ""],
    ],
  );
  const crd: KubeObject = {
    metadata: { name: "widgets.example.com", creationTimestamp: "2025-05-30T01:02:03+02:00" },
  };
  assert.deepEqual(defaultPrinter.cells(crd, NOW), ["widgets.example.com", "2025-05-29T23:02:03Z"]);
  assert.deepEqual(defaultPrinter.cells({ metadata: { name: "x" } }, NOW), ["x", "0001-01-01T00:00:00Z"]);
});
