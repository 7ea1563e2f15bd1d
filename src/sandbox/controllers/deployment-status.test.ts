import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../kube/objects.ts";
import {
  calculateStatus,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  rolloutStatus,
  stuckRecheckInMs,
} from "./deployment-status.ts";

const NOW = Date.parse("2025-01-01T12:00:00Z");

function dep(status: any = {}, extra: any = {}): KubeObject {
  return {
    metadata: { name: "demo", namespace: "ns", generation: 2 },
    spec: {
      replicas: 3,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      progressDeadlineSeconds: 600,
      ...extra,
    },
    status,
  };
}

function rs(name: string, replicas: number, ready: number, available: number, extra: any = {}): KubeObject {
  return {
    metadata: { name, namespace: "ns" },
    spec: { replicas },
    status: { replicas, readyReplicas: ready, availableReplicas: available, ...extra },
  };
}

const cond = (status: any, type: string) => status.conditions?.find((c: any) => c.type === type);

test("counts are summed over the ReplicaSets; zero counts are left out", () => {
  const newRS = rs("demo-1", 2, 1, 1);
  const old = rs("demo-0", 2, 2, 2);
  const s = calculateStatus([old, newRS], newRS, dep(), NOW);
  assert.deepEqual(
    [
      s.observedGeneration,
      s.replicas,
      s.updatedReplicas,
      s.readyReplicas,
      s.availableReplicas,
      s.unavailableReplicas,
    ],
    [2, 4, 2, 3, 3, 1],
  );
  const empty = calculateStatus([], undefined, dep({}, { replicas: 0 }), NOW);
  assert.deepEqual(Object.keys(empty).sort(), ["conditions", "observedGeneration"]);
});

test("Available: at least replicas - maxUnavailable available", () => {
  const s = calculateStatus([rs("a", 3, 3, 3)], undefined, dep(), NOW);
  assert.deepEqual(
    { ...cond(s, "Available"), lastUpdateTime: undefined, lastTransitionTime: undefined },
    {
      type: "Available",
      status: "True",
      reason: "MinimumReplicasAvailable",
      message: "Deployment has minimum availability.",
      lastUpdateTime: undefined,
      lastTransitionTime: undefined,
    },
  );
  const low = calculateStatus([rs("a", 3, 2, 2)], undefined, dep(), NOW); // maxUnavailable floor(0.75) = 0
  assert.equal(cond(low, "Available").reason, "MinimumReplicasUnavailable");
  assert.equal(cond(low, "Available").message, "Deployment does not have minimum availability.");
});

test("Progressing: updated while it moves, NewReplicaSetAvailable when complete", () => {
  const newRS = rs("demo-914545731", 3, 1, 1);
  const moving = rolloutStatus([newRS], newRS, dep({ replicas: 3, updatedReplicas: 3 }), NOW);
  assert.equal(cond(moving, "Progressing").reason, "ReplicaSetUpdated");
  assert.equal(cond(moving, "Progressing").message, 'ReplicaSet "demo-914545731" is progressing.');
  const done = rs("demo-914545731", 3, 3, 3);
  const complete = rolloutStatus([done], done, dep(moving), NOW);
  assert.equal(cond(complete, "Progressing").reason, "NewReplicaSetAvailable");
  assert.equal(
    cond(complete, "Progressing").message,
    'ReplicaSet "demo-914545731" has successfully progressed.',
  );
  assert.ok(deploymentComplete(dep(complete), complete));
  // Once complete, it stays so, even when a pod goes away later.
  const later = rolloutStatus([rs("demo-914545731", 3, 2, 2)], done, dep(complete), NOW);
  assert.equal(cond(later, "Progressing").reason, "NewReplicaSetAvailable");
});

test("no progress for longer than the deadline: ProgressDeadlineExceeded", () => {
  const stale = formatTime(NOW - 601_000);
  const d = dep({
    replicas: 3,
    updatedReplicas: 1,
    readyReplicas: 2,
    availableReplicas: 2,
    conditions: [
      {
        type: "Progressing",
        status: "True",
        reason: "ReplicaSetUpdated",
        lastUpdateTime: stale,
        lastTransitionTime: stale,
      },
    ],
  });
  const newRS = rs("demo-1", 1, 0, 0);
  const old = rs("demo-0", 2, 2, 2);
  assert.ok(!deploymentProgressing(d, calculateStatus([old, newRS], newRS, d, NOW)));
  assert.ok(deploymentTimedOut(d, d.status, NOW));
  const s = rolloutStatus([old, newRS], newRS, d, NOW);
  assert.equal(cond(s, "Progressing").status, "False");
  assert.equal(cond(s, "Progressing").reason, "ProgressDeadlineExceeded");
  assert.equal(cond(s, "Progressing").message, 'ReplicaSet "demo-1" has timed out progressing.');
  // Before the deadline, the controller plans to look again when it passes.
  const fresh = formatTime(NOW - 100_000);
  const waiting = dep({
    conditions: [{ type: "Progressing", status: "True", reason: "ReplicaSetUpdated", lastUpdateTime: fresh }],
  });
  assert.equal(stuckRecheckInMs(waiting, waiting.status, NOW), 501_000);
});

test("a ReplicaSet's ReplicaFailure becomes the Deployment's, and goes with it", () => {
  const failure = {
    type: "ReplicaFailure",
    status: "True",
    reason: "FailedCreate",
    message: "pods is forbidden",
    lastTransitionTime: formatTime(NOW),
  };
  const newRS = rs("demo-1", 3, 0, 0, { replicas: 0, conditions: [failure] });
  const s = rolloutStatus([newRS], newRS, dep(), NOW);
  assert.equal(cond(s, "ReplicaFailure").reason, "FailedCreate");
  assert.equal(cond(s, "ReplicaFailure").message, "pods is forbidden");
  const fixed = rs("demo-1", 3, 0, 0);
  const healed = rolloutStatus([fixed], fixed, dep(s), NOW);
  assert.equal(cond(healed, "ReplicaFailure"), undefined);
});

test("without a progress deadline there is no Progressing condition", () => {
  const newRS = rs("demo-1", 3, 3, 3);
  const s = rolloutStatus([newRS], newRS, dep({}, { progressDeadlineSeconds: 2147483647 }), NOW);
  assert.equal(cond(s, "Progressing"), undefined);
  assert.equal(cond(s, "Available").status, "True");
});
