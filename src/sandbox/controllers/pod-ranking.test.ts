import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../kube/objects.ts";
import { podsToDelete, rankForDeletion } from "./pod-ranking.ts";

const NOW = Date.parse("2025-01-01T12:00:00Z");
const HOUR = 3600_000;

function pod(name: string, o: any = {}): KubeObject {
  const ready = o.ready ?? true;
  return {
    metadata: {
      name,
      namespace: "ns",
      uid: o.uid ?? name,
      creationTimestamp: formatTime(o.created ?? NOW - 10 * HOUR),
      annotations:
        o.cost === undefined ? undefined : { "controller.kubernetes.io/pod-deletion-cost": String(o.cost) },
    },
    spec: { nodeName: o.node ?? "n1" },
    status: {
      phase: o.phase ?? "Running",
      conditions: [
        {
          type: "Ready",
          status: ready ? "True" : "False",
          lastTransitionTime: formatTime(o.readySince ?? NOW - 10 * HOUR),
        },
      ],
      containerStatuses: [{ name: "c", restartCount: o.restarts ?? 0 }],
    },
  };
}

const names = (pods: KubeObject[]) => pods.map((p) => p.metadata.name);

test("unassigned, then pending, unknown, running; not ready before ready", () => {
  const pods = [
    pod("running-ready"),
    pod("running-not-ready", { ready: false }),
    pod("unknown", { phase: "Unknown" }),
    pod("pending", { phase: "Pending", ready: false }),
    pod("unassigned", { node: "", phase: "Pending", ready: false }),
  ];
  assert.deepEqual(names(rankForDeletion(pods, pods, NOW)), [
    "unassigned",
    "pending",
    "unknown",
    "running-not-ready",
    "running-ready",
  ]);
});

test("lower deletion cost first, then pods doubled up on a node", () => {
  const pods = [
    pod("cheap", { cost: -5, node: "n2" }),
    pod("alone", { node: "n2" }),
    pod("crowded", { node: "n1" }),
  ];
  // Related pods (e.g. of sibling ReplicaSets) crowd node n1.
  const related = [...pods, pod("sibling-1", { node: "n1" }), pod("sibling-2", { node: "n1" })];
  assert.deepEqual(names(rankForDeletion(pods, related, NOW)), ["cheap", "crowded", "alone"]);
});

test("ready for less time first, then more restarts, then newer first", () => {
  const pods = [
    pod("old", { created: NOW - 100 * HOUR }),
    pod("restarts", { restarts: 3 }),
    pod("recently-ready", { readySince: NOW - 60_000 }),
    pod("new", { created: NOW - 60_000 }),
  ];
  assert.deepEqual(names(rankForDeletion(pods, pods, NOW)), ["recently-ready", "restarts", "new", "old"]);
});

test("similar ages share a logarithmic bucket and are ordered by UID", () => {
  // 10 h and 11 h are within one power of two: the UID decides, not the exact time.
  const pods = [
    pod("b", { created: NOW - 11 * HOUR, uid: "2" }),
    pod("a", { created: NOW - 10 * HOUR, uid: "1" }),
  ];
  assert.deepEqual(names(rankForDeletion(pods, pods, NOW)), ["a", "b"]);
  const swapped = [
    pod("b", { created: NOW - 10 * HOUR, uid: "2" }),
    pod("a", { created: NOW - 11 * HOUR, uid: "1" }),
  ];
  assert.deepEqual(names(rankForDeletion(swapped, swapped, NOW)), ["a", "b"]);
});

test("podsToDelete takes the first n, or all when n covers them", () => {
  const pods = [pod("ready"), pod("not-ready", { ready: false })];
  assert.deepEqual(names(podsToDelete(pods, pods, 1, NOW)), ["not-ready"]);
  assert.equal(podsToDelete(pods, pods, 5, NOW).length, 2);
});
