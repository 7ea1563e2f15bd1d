import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../../kube/objects.ts";
import { crdPrinter, stringCell } from "./crd.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const ago = (minutes: number) => formatTime(NOW - minutes * 60_000);

const crontab: KubeObject = {
  apiVersion: "stable.example.com/v1",
  kind: "CronTab",
  metadata: { name: "nightly", namespace: "default", creationTimestamp: ago(5) },
  spec: {
    cronSpec: "0 3 * * *",
    image: "backup:1.2",
    replicas: 2.7,
    paused: false,
    ratio: 0.25,
    targets: ["db", "cache"],
  },
  status: {
    lastRun: ago(200),
    conditions: [
      { type: "Scheduled", status: "True" },
      { type: "Ready", status: "False" },
    ],
  },
};

test("without printer columns the table is NAME plus an AGE date column", () => {
  const p = crdPrinter(undefined);
  assert.deepEqual(
    p.columns.map((c) => [c.name, c.type, c.format, c.priority]),
    [
      ["Name", "string", "name", 0],
      ["Age", "date", "", 0],
    ],
  );
  assert.deepEqual(p.cells(crontab, NOW), ["nightly", "5m"]);
  assert.deepEqual(crdPrinter([]).cells(crontab, NOW), ["nightly", "5m"]);
});

test("declared columns come after NAME, with no implicit AGE, typed like upstream", () => {
  const p = crdPrinter([
    { name: "Spec", type: "string", jsonPath: ".spec.cronSpec" },
    { name: "Replicas", type: "integer", jsonPath: ".spec.replicas", format: "int32" },
    { name: "Paused", type: "boolean", jsonPath: ".spec.paused" },
    { name: "Ratio", type: "number", jsonPath: ".spec.ratio", priority: 1 },
    { name: "Last Run", type: "date", jsonPath: ".status.lastRun", description: "When it last ran." },
    { name: "Ready", type: "string", jsonPath: `.status.conditions[?(@.type=="Ready")].status` },
  ]);
  assert.deepEqual(
    p.columns.map((c) => [c.name, c.type, c.format, c.priority, c.description]),
    [
      ["Name", "string", "name", 0, p.columns[0].description],
      ["Spec", "string", "", 0, "Custom resource definition column (in JSONPath format): .spec.cronSpec"],
      [
        "Replicas",
        "integer",
        "int32",
        0,
        "Custom resource definition column (in JSONPath format): .spec.replicas",
      ],
      ["Paused", "boolean", "", 0, "Custom resource definition column (in JSONPath format): .spec.paused"],
      ["Ratio", "number", "", 1, "Custom resource definition column (in JSONPath format): .spec.ratio"],
      ["Last Run", "date", "", 0, "When it last ran."],
      [
        "Ready",
        "string",
        "",
        0,
        `Custom resource definition column (in JSONPath format): .status.conditions[?(@.type=="Ready")].status`,
      ],
    ],
  );
  assert.deepEqual(p.cells(crontab, NOW), ["nightly", "0 3 * * *", 2, false, 0.25, "3h20m", "False"]);
});

test("missing values and values of the wrong type are null cells", () => {
  const p = crdPrinter([
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Count", type: "integer", jsonPath: ".spec.cronSpec" },
    { name: "When", type: "date", jsonPath: ".spec.replicas" },
  ]);
  assert.deepEqual(p.cells(crontab, NOW), ["nightly", null, null, null]);
});

test("date columns say <invalid> for unparsable and <unknown> for empty timestamps", () => {
  const p = crdPrinter([{ name: "At", type: "date", jsonPath: ".spec.at" }]);
  const at = (v: string) => p.cells({ metadata: { name: "a" }, spec: { at: v } }, NOW)[1];
  assert.equal(at("yesterday"), "<invalid>");
  assert.equal(at("2025-06-01 11:00:00"), "<invalid>");
  assert.equal(at(""), "<unknown>");
  assert.equal(at("2025-06-01T10:59:59.5Z"), "60m");
  assert.equal(at("2025-06-01T11:00:00.123456Z"), "59m");
});

test("only the first match of a multi-valued path is shown, as upstream does", () => {
  const p = crdPrinter([{ name: "Targets", type: "string", jsonPath: ".spec.targets[*]" }]);
  assert.deepEqual(p.cells(crontab, NOW), ["nightly", "db"]);
});

test("string columns render non-strings the way Go's jsonpath prints them", () => {
  assert.equal(stringCell(42), "42");
  assert.equal(stringCell(2.5), "2.5");
  assert.equal(stringCell(1234567.5), "1.2345675e+06");
  assert.equal(stringCell(0.00001), "1e-05");
  assert.equal(stringCell(true), "true");
  assert.equal(stringCell({ b: 1, a: "<x>" }), '{"a":"\\u003cx\\u003e","b":1}');
  assert.equal(stringCell(["db", "cache"]), '["db","cache"]');
  assert.equal(stringCell(null), "<no value>");
});

test("a column with an unparsable JSONPath ends the column list", () => {
  const p = crdPrinter([
    { name: "Spec", type: "string", jsonPath: ".spec.cronSpec" },
    { name: "Broken", type: "string", jsonPath: ".spec[" },
    { name: "Image", type: "string", jsonPath: ".spec.image" },
  ]);
  assert.deepEqual(
    p.columns.map((c) => c.name),
    ["Name", "Spec"],
  );
  assert.deepEqual(p.cells(crontab, NOW), ["nightly", "0 3 * * *"]);
});
