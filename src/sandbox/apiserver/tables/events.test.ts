import assert from "node:assert/strict";
import { test } from "node:test";
import { formatMicroTime, formatTime, type KubeObject } from "../../../kube/objects.ts";
import { eventPrinter } from "./events.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const ago = (seconds: number) => formatTime(NOW - seconds * 1000);

function event(fields: any): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "x.17f0a1b2c3d4e5f6", namespace: "default", creationTimestamp: ago(30) },
    involvedObject: { kind: "Pod", name: "x", namespace: "default", apiVersion: "v1" },
    type: "Normal",
    ...fields,
  };
}

test("columns follow upstream order, with the wide ones marked priority 1", () => {
  assert.deepEqual(
    eventPrinter.columns.map((c) => `${c.name}:${c.priority}`),
    [
      "Last Seen:0",
      "Type:0",
      "Reason:0",
      "Object:0",
      "Subobject:1",
      "Source:1",
      "Message:0",
      "First Seen:1",
      "Count:1",
      "Name:1",
    ],
  );
});

test("a kubelet event prints as recorded, all ten cells", () => {
  const e = event({
    reason: "Pulled",
    message: 'Container image "nginx" already present on machine\n',
    involvedObject: { kind: "Pod", name: "x", fieldPath: "spec.containers{x}" },
    source: { component: "kubelet", host: "sandbox-node" },
    firstTimestamp: ago(300),
    lastTimestamp: ago(20),
    count: 4,
  });
  assert.deepEqual(eventPrinter.cells(e, NOW), [
    "20s",
    "Normal",
    "Pulled",
    "pod/x",
    "spec.containers{x}",
    "kubelet, sandbox-node",
    'Container image "nginx" already present on machine',
    "5m",
    4,
    "x.17f0a1b2c3d4e5f6",
  ]);
});

test("events written through events.k8s.io fall back to eventTime, reporting fields and count 1", () => {
  const e = event({
    reason: "Scheduled",
    message: "Successfully assigned default/x to sandbox-node",
    eventTime: formatMicroTime(NOW - 90_000),
    reportingComponent: "default-scheduler",
    reportingInstance: "default-scheduler-sandbox",
    source: {},
  });
  const cells = eventPrinter.cells(e, NOW);
  assert.deepEqual(
    [cells[0], cells[5], cells[7], cells[8]],
    ["90s", "default-scheduler, default-scheduler-sandbox", "90s", 1],
  );
});

test("an event series reports its last observation and count", () => {
  const e = event({
    reason: "BackOff",
    type: "Warning",
    firstTimestamp: ago(3600),
    lastTimestamp: ago(3000),
    count: 2,
    series: { count: 17, lastObservedTime: formatMicroTime(NOW - 15_000) },
  });
  const cells = eventPrinter.cells(e, NOW);
  assert.deepEqual([cells[0], cells[7], cells[8]], ["15s", "60m", 17]);
});

test("events about unnamed objects show the kind alone; no timestamps at all is <unknown>", () => {
  const e = event({ involvedObject: { kind: "Node" }, source: { component: "kubelet" } });
  const cells = eventPrinter.cells(e, NOW);
  assert.deepEqual([cells[0], cells[3], cells[5], cells[7]], ["<unknown>", "node", "kubelet", "<unknown>"]);
});
