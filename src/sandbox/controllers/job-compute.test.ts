import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../kube/objects.ts";
import {
  backoffRemainingMs,
  countPods,
  deadlineRemainingMs,
  ensureCondition,
  failureOf,
  isComplete,
  pastBackoffLimitOnFailure,
  podsToRemove,
  wantActive,
} from "./job-compute.ts";

const T0 = Date.parse("2024-01-01T00:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace(".000Z", "Z");

function job(spec: any = {}, status: any = {}): KubeObject {
  return {
    metadata: { name: "j", namespace: "ns", uid: "job-uid" },
    spec: {
      parallelism: 1,
      completions: 2,
      backoffLimit: 6,
      template: { spec: { restartPolicy: "Never" } },
      ...spec,
    },
    status,
  };
}

function pod(
  name: string,
  phase: string,
  o: {
    finished?: number;
    created?: number;
    ready?: boolean;
    deleting?: boolean;
    restarts?: number;
    node?: string;
  } = {},
): KubeObject {
  const p: KubeObject = {
    metadata: { name, namespace: "ns", creationTimestamp: at(o.created ?? 0) },
    spec: { nodeName: o.node },
    status: {
      phase,
      conditions: [
        { type: "Ready", status: o.ready ? "True" : "False", lastTransitionTime: at(o.finished ?? 0) },
      ],
      containerStatuses: [{ name: "c", restartCount: o.restarts ?? 0 }],
    },
  };
  if (o.deleting) p.metadata.deletionTimestamp = at(100);
  return p;
}

test("pods are counted by phase; counters already in the status never go down", () => {
  const c = countPods(job({}, { succeeded: 3 }), [
    pod("a", "Running", { ready: true }),
    pod("b", "Pending"),
    pod("c", "Succeeded"),
    pod("d", "Failed"),
    pod("e", "Running", { deleting: true }),
  ]);
  assert.deepEqual(
    [c.active.map((p) => p.metadata.name), c.ready, c.terminating, c.succeeded, c.failed],
    [["a", "b"], 1, 1, 3, 1],
  );
});

test("active pods are parallelism capped by the completions left", () => {
  assert.equal(wantActive(job({ parallelism: 3, completions: 5 }), 0, 0), 3);
  assert.equal(wantActive(job({ parallelism: 3, completions: 5 }), 4, 1), 1);
  assert.equal(wantActive(job({ parallelism: 3, completions: 5 }), 6, 0), 0);
  // A work queue (no completions) stops adding pods once one succeeded.
  assert.equal(wantActive(job({ parallelism: 2, completions: undefined }), 0, 0), 2);
  assert.equal(wantActive(job({ parallelism: 2, completions: undefined }), 1, 1), 1);
  assert.equal(isComplete(job({ completions: 2 }), 2, 0), true);
  assert.equal(isComplete(job({ completions: 2 }), 2, 1), false);
  assert.equal(isComplete(job({ completions: undefined }), 1, 0), true);
});

test("more failures than backoffLimit fail the Job; so does the deadline", () => {
  assert.equal(failureOf(job({ backoffLimit: 1 }), [], 1, T0), undefined);
  assert.deepEqual(failureOf(job({ backoffLimit: 1 }), [], 2, T0), {
    reason: "BackoffLimitExceeded",
    message: "Job has reached the specified backoff limit",
  });
  const j = job({ activeDeadlineSeconds: 30 }, { startTime: at(0) });
  assert.equal(deadlineRemainingMs(j, T0 + 10_000), 20_000);
  assert.equal(failureOf(j, [], 0, T0 + 10_000), undefined);
  assert.deepEqual(failureOf(j, [], 0, T0 + 30_000), {
    reason: "DeadlineExceeded",
    message: "Job was active longer than specified deadline",
  });
  assert.equal(
    deadlineRemainingMs(job({ activeDeadlineSeconds: 30, suspend: true }, { startTime: at(0) }), T0),
    undefined,
  );
});

test("with restartPolicy OnFailure, container restarts count against the limit", () => {
  const j = job({ backoffLimit: 3, template: { spec: { restartPolicy: "OnFailure" } } });
  assert.equal(pastBackoffLimitOnFailure(j, [pod("a", "Running", { restarts: 2 })]), false);
  assert.equal(
    pastBackoffLimitOnFailure(j, [
      pod("a", "Running", { restarts: 2 }),
      pod("b", "Pending", { restarts: 1 }),
    ]),
    true,
  );
  assert.equal(
    pastBackoffLimitOnFailure(job({ backoffLimit: 3 }), [pod("a", "Running", { restarts: 9 })]),
    false,
  );
});

test("failed pods are replaced after 10 s doubling per failure since the last success", () => {
  assert.equal(backoffRemainingMs([], T0), 0);
  const f1 = pod("f1", "Failed", { finished: 0 });
  assert.equal(backoffRemainingMs([f1], T0 + 4_000), 6_000);
  const f2 = pod("f2", "Failed", { finished: 20 });
  assert.equal(backoffRemainingMs([f1, f2], T0 + 20_000), 20_000);
  const ok = pod("ok", "Succeeded", { finished: 30 });
  assert.equal(backoffRemainingMs([f1, f2, ok], T0 + 30_000), 0, "a success resets the count");
  const many = Array.from({ length: 10 }, (_, i) => pod(`f${i}`, "Failed", { finished: i }));
  assert.equal(backoffRemainingMs(many, T0 + 9_000), 360_000, "capped at 6 minutes");
});

test("surplus pods go unscheduled, pending and unready first, newest first", () => {
  const pods = [
    pod("running-old", "Running", { ready: true, node: "n", created: 1 }),
    pod("running-new", "Running", { ready: true, node: "n", created: 5 }),
    pod("pending", "Pending", { node: "n", created: 2 }),
    pod("unscheduled", "Pending", { created: 3 }),
  ];
  assert.deepEqual(
    podsToRemove(pods, 3).map((p) => p.metadata.name),
    ["unscheduled", "pending", "running-new"],
  );
});

test("conditions change only when status, reason or message do", () => {
  let r = ensureCondition([], "Suspended", "False", "JobResumed", "Job resumed", T0);
  assert.equal(r.changed, false, "a False condition is not added");
  r = ensureCondition(
    [],
    "Complete",
    "True",
    "CompletionsReached",
    "Reached expected number of succeeded pods",
    T0,
  );
  assert.deepEqual(r.conditions, [
    {
      type: "Complete",
      status: "True",
      lastProbeTime: "2024-01-01T00:00:00Z",
      lastTransitionTime: "2024-01-01T00:00:00Z",
      reason: "CompletionsReached",
      message: "Reached expected number of succeeded pods",
    },
  ]);
  assert.equal(
    ensureCondition(
      r.conditions,
      "Complete",
      "True",
      "CompletionsReached",
      "Reached expected number of succeeded pods",
      T0 + 5000,
    ).changed,
    false,
  );
});
