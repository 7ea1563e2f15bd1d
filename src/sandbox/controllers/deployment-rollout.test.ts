import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../kube/objects.ts";
import {
  findActiveOrLatest,
  isSaturated,
  maxScaledDown,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  oldScaleDownSteps,
  proportionalSizes,
  resolveFenceposts,
  scaledValue,
  setNewReplicaSetAnnotations,
  unhealthyCleanupSteps,
} from "./deployment-rollout.ts";

const T = (m: number) => new Date(Date.parse("2025-01-01T00:00:00Z") + m * 60_000).toISOString();

function dep(
  replicas: number,
  surge: number | string = "25%",
  unavailable: number | string = "25%",
  extra: any = {},
): KubeObject {
  return {
    metadata: { name: "d", namespace: "ns", annotations: extra.annotations },
    spec: {
      replicas,
      strategy: extra.recreate
        ? { type: "Recreate" }
        : { type: "RollingUpdate", rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } },
    },
    status: extra.status ?? {},
  };
}

function rs(
  name: string,
  replicas: number,
  available = replicas,
  created = 0,
  annotations: Record<string, string> = {},
): KubeObject {
  return {
    metadata: { name, namespace: "ns", creationTimestamp: T(created), annotations },
    spec: { replicas },
    status: { replicas, availableReplicas: available },
  };
}

test("int-or-percent: surge rounds up, unavailability rounds down", () => {
  assert.equal(scaledValue(2, 10, true), 2);
  assert.equal(scaledValue("25%", 10, true), 3);
  assert.equal(scaledValue("25%", 10, false), 2);
  assert.equal(scaledValue("25%", 3, true), 1);
  assert.equal(scaledValue("25%", 3, false), 0);
  assert.equal(scaledValue("100%", 7, false), 7);
  assert.equal(scaledValue(undefined, 7, false), 0);
  assert.throws(() => scaledValue("25", 10, true), /not a percentage/);
});

test("both budgets zero would deadlock: unavailability becomes 1", () => {
  assert.deepEqual(resolveFenceposts(0, 0, 10), { surge: 0, unavailable: 1 });
  assert.deepEqual(resolveFenceposts("10%", "10%", 5), { surge: 1, unavailable: 0 });
  assert.deepEqual(resolveFenceposts("1%", "1%", 5), { surge: 1, unavailable: 0 });
  assert.deepEqual(resolveFenceposts(0, "10%", 5), { surge: 0, unavailable: 1 });
});

test("maxSurge and maxUnavailable of a Deployment", () => {
  assert.equal(maxSurge(dep(3)), 1);
  assert.equal(maxUnavailable(dep(3)), 0);
  assert.equal(maxUnavailable(dep(3, 0, 10)), 3, "capped at spec.replicas");
  assert.equal(maxUnavailable(dep(0)), 0);
  assert.equal(maxSurge(dep(3, 1, 1, { recreate: true })), 0);
  assert.equal(maxUnavailable(dep(3, 1, 1, { recreate: true })), 0);
});

test("the new ReplicaSet grows within replicas + maxSurge", () => {
  const d = dep(10, 3, 2);
  const old = rs("old", 10);
  const fresh = rs("new", 0);
  assert.equal(newRSNewReplicas(d, [old, fresh], fresh), 3);
  // Surge used up: no growth until old replicas go.
  assert.equal(newRSNewReplicas(d, [old, rs("new", 3)], rs("new", 3)), 3);
  assert.equal(newRSNewReplicas(d, [rs("old", 8), rs("new", 3)], rs("new", 3)), 5);
  // Never beyond spec.replicas.
  assert.equal(newRSNewReplicas(d, [rs("old", 0), rs("new", 8)], rs("new", 8)), 10);
  assert.equal(newRSNewReplicas(dep(4, 1, 1, { recreate: true }), [old], fresh), 4);
});

test("old ReplicaSets shrink only as far as availability allows", () => {
  const d = dep(10, 3, 2);
  const old = rs("old", 10);
  // New pods not yet available count as missing: only the 2 of maxUnavailable may go.
  assert.equal(maxScaledDown(d, [old, rs("new", 3, 0)], rs("new", 3, 0)), 2);
  assert.equal(maxScaledDown(dep(10, 3, 0), [old, rs("new", 3, 0)], rs("new", 3, 0)), 0);
  assert.equal(maxScaledDown(d, [old, rs("new", 3, 3)], rs("new", 3, 3)), 5);
  assert.deepEqual(
    oldScaleDownSteps(d, [old, rs("new", 3, 3)], [old]).map((s) => [s.rs.metadata.name, s.to]),
    [["old", 5]],
  );
  // Oldest first, and never below zero.
  const older = rs("older", 2, 2, 0);
  const newer = rs("newer", 8, 8, 5);
  assert.deepEqual(
    oldScaleDownSteps(d, [newer, older, rs("new", 3, 3)], [newer, older]).map((s) => [
      s.rs.metadata.name,
      s.to,
    ]),
    [
      ["older", 0],
      ["newer", 5],
    ],
  );
  assert.deepEqual(oldScaleDownSteps(d, [rs("old", 8, 8)], [rs("old", 8, 8)]), []);
});

test("unhealthy old replicas are cleaned up first, oldest ReplicaSet first, within the limit", () => {
  const a = rs("a", 5, 2, 0); // 3 unhealthy
  const b = rs("b", 4, 1, 1); // 3 unhealthy
  const c = rs("c", 3, 3, 2); // healthy
  assert.deepEqual(
    unhealthyCleanupSteps([c, b, a], 4).map((s) => [s.rs.metadata.name, s.to]),
    [
      ["a", 2],
      ["b", 3],
    ],
  );
  assert.deepEqual(unhealthyCleanupSteps([c], 4), []);
});

test("proportional scaling shares a resize by size and gives the rounding leftover to the largest", () => {
  const ann = (desired: number, max: number) => ({
    "deployment.kubernetes.io/desired-replicas": String(desired),
    "deployment.kubernetes.io/max-replicas": String(max),
  });
  const old = rs("old", 10, 10, 0, ann(10, 13));
  const fresh = rs("new", 3, 0, 1, ann(10, 13));
  const up = proportionalSizes(dep(20, 3, 2), [old, fresh]); // 23 allowed, 13 there
  assert.equal(up.get(old)! + up.get(fresh)!, 23);
  assert.deepEqual([up.get(old), up.get(fresh)], [18, 5]);
  const down = proportionalSizes(dep(5, 1, 1), [old, fresh]); // 6 allowed
  assert.equal(down.get(old)! + down.get(fresh)!, 6);
  assert.deepEqual([down.get(old), down.get(fresh)], [5, 1]);
  const zero = proportionalSizes(dep(0), [old, fresh]);
  assert.deepEqual([zero.get(old), zero.get(fresh)], [0, 0]);
});

test("findActiveOrLatest and isSaturated", () => {
  const a = rs("a", 0, 0, 0);
  const b = rs("b", 0, 0, 1);
  const fresh = rs("new", 3, 3, 2, { "deployment.kubernetes.io/desired-replicas": "3" });
  assert.equal(findActiveOrLatest(undefined, [a, b])?.metadata.name, "b", "the newest when none is active");
  assert.equal(findActiveOrLatest(fresh, [a, b])?.metadata.name, "new");
  assert.equal(findActiveOrLatest(fresh, [rs("x", 1)]), undefined, "several active");
  assert.ok(isSaturated(dep(3), fresh));
  assert.ok(!isSaturated(dep(4), fresh));
  assert.ok(!isSaturated(dep(3), rs("new", 3, 2, 2, { "deployment.kubernetes.io/desired-replicas": "3" })));
});

test("new ReplicaSet annotations: the Deployment's own, the revision, the replica counts", () => {
  const d = dep(3, 1, 0, {
    annotations: {
      team: "web",
      "kubectl.kubernetes.io/last-applied-configuration": "{}",
      "deployment.kubernetes.io/revision": "7",
    },
  });
  const fresh = rs("new", 0);
  const annotations = (): Record<string, string> => fresh.metadata.annotations ?? {};
  assert.ok(setNewReplicaSetAnnotations(d, fresh, 2, false));
  assert.deepEqual(fresh.metadata.annotations, {
    team: "web",
    "deployment.kubernetes.io/revision": "2",
    "deployment.kubernetes.io/desired-replicas": "3",
    "deployment.kubernetes.io/max-replicas": "4",
  });
  assert.ok(!setNewReplicaSetAnnotations(d, fresh, 2, true), "nothing to change");
  // Rolled back to: the revision moves on and the old one is remembered.
  assert.ok(setNewReplicaSetAnnotations(d, fresh, 5, true));
  assert.equal(annotations()["deployment.kubernetes.io/revision"], "5");
  assert.equal(annotations()["deployment.kubernetes.io/revision-history"], "2");
});
