import assert from "node:assert/strict";
import { test } from "node:test";
import { stripTimes } from "./virtual-nodes.ts";

test("a status equals what the server stored after a merge patch dropped its nulls and empty strings", () => {
  const sent = {
    phase: "Running",
    hostIP: "",
    conditions: [{ type: "Ready", status: "True", lastProbeTime: null, lastTransitionTime: "t1" }],
  };
  const stored = {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True", lastTransitionTime: "t0" }],
  };
  assert.deepEqual(stripTimes(sent), stripTimes(stored));
});

test("a real change still differs", () => {
  const a = { phase: "Pending", conditions: [{ type: "Ready", status: "False" }] };
  const b = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
  assert.notDeepEqual(stripTimes(a), stripTimes(b));
});

test("stripTimes answers what a JSON round trip with a dropping reviver would", () => {
  const viaJson = (v: unknown) =>
    JSON.parse(JSON.stringify(v), (k, x) =>
      k.endsWith("Time") || k === "startedAt" || k === "finishedAt" || x === null || x === "" ? undefined : x,
    );
  const samples = [
    {},
    { phase: "Running", hostIP: "", podIP: "10.0.0.2", podIPs: [{ ip: "10.0.0.2" }], qosClass: "BestEffort" },
    {
      startTime: "t",
      conditions: [
        { type: "Ready", status: "True", lastProbeTime: null, lastTransitionTime: "t", reason: "" },
      ],
      containerStatuses: [
        { name: "a", state: { running: { startedAt: "t" } }, ready: true, restartCount: 0, started: false },
        { name: "b", state: { terminated: { exitCode: 0, startedAt: "t", finishedAt: "t" } }, x: undefined },
      ],
      list: ["a", "", null, 0, false, [1, ""]],
    },
  ];
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as any)[k])]),
          )
        : v;
  for (const s of samples) assert.equal(JSON.stringify(stripTimes(s)), JSON.stringify(sorted(viaJson(s))));
});

test("a status the server answers with its keys in another order is the same status", () => {
  const sent = { phase: "Running", conditions: [{ type: "Ready", status: "True" }], qosClass: "BestEffort" };
  const stored = {
    conditions: [{ status: "True", type: "Ready" }],
    qosClass: "BestEffort",
    phase: "Running",
  };
  assert.equal(JSON.stringify(stripTimes(sent)), JSON.stringify(stripTimes(stored)));
});
