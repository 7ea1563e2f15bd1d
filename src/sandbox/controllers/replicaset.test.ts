import assert from "node:assert/strict";
import { test } from "node:test";
import { KubeApiError } from "../../kube/errors.ts";
import { FakeClock } from "../../kube/fake-clock.ts";
import { formatTime, type KubeObject } from "../../kube/objects.ts";
import { PODS, REPLICASETS } from "../../kube/resource.ts";
import { FakeCluster, setUpControllers } from "./fake-cluster.ts";
import { nextAvailableInMs, ReplicaSetController, replicaSetStatus } from "./replicaset.ts";

const T0 = Date.parse("2025-01-01T00:00:00Z");

function rsObject(name: string, replicas: number, extra: any = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, namespace: "ns" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, tier: "web" }, annotations: { note: "x" } },
        spec: { containers: [{ name: "c", image: "nginx" }] },
      },
      ...extra,
    },
    status: { replicas: 0 },
  };
}

function runningPod(name: string, labels: Record<string, string>, extra: any = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "ns", labels, ...extra.metadata },
    spec: { nodeName: "n1", containers: [{ name: "c", image: "nginx" }], ...extra.spec },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: formatTime(T0) }],
      ...extra.status,
    },
  };
}

async function harness(opts: { clock?: FakeClock } = {}) {
  const cluster = new FakeCluster();
  const rsc = new ReplicaSetController({ clock: opts.clock });
  return { cluster, rsc, ...(await setUpControllers(cluster, [rsc])) };
}

const podsOf = (cluster: FakeCluster) =>
  cluster.list(PODS, "ns").filter((p) => !p.metadata.deletionTimestamp);
const creates = (cluster: FakeCluster) => cluster.calls.filter((c) => c === "create pods").length;

test("creates the missing pods from the template, owned by the ReplicaSet", async () => {
  const { cluster, rsc, stop } = await harness();
  const rs = cluster.seed(REPLICASETS, rsObject("web", 3));
  await rsc.syncReplicaSet("ns/web");
  const pods = podsOf(cluster);
  assert.equal(pods.length, 3);
  for (const p of pods) {
    assert.match(p.metadata.name!, /^web-[a-z0-9]{5}$/);
    assert.equal(p.metadata.generateName, "web-");
    assert.deepEqual(p.metadata.labels, { app: "web", tier: "web" });
    assert.deepEqual(p.metadata.annotations, { note: "x" });
    assert.deepEqual(p.metadata.ownerReferences, [
      {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "web",
        uid: rs.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  }
  assert.deepEqual(
    cluster.events
      .filter((e) => e.reason === "SuccessfulCreate")
      .map((e) => e.message)
      .sort(),
    pods.map((p) => `Created pod: ${p.metadata.name}`).sort(),
  );
  // The status counts the pods (none ready yet) and records the generation it saw.
  await rsc.syncReplicaSet("ns/web");
  assert.deepEqual(cluster.get(REPLICASETS, "ns", "web")!.status, {
    replicas: 3,
    fullyLabeledReplicas: 3,
    observedGeneration: 1,
  });
  stop();
});

test("expectations: a cache that has not seen the new pods does not cause more creates", async () => {
  const { cluster, rsc, stop } = await harness();
  cluster.seed(REPLICASETS, rsObject("web", 5));
  cluster.hold(); // watch events of the creates arrive late
  await rsc.syncReplicaSet("ns/web");
  assert.equal(creates(cluster), 5);
  // Syncs triggered meanwhile (status writes, other events) see no pods in the cache.
  await rsc.syncReplicaSet("ns/web");
  await rsc.syncReplicaSet("ns/web");
  assert.equal(creates(cluster), 5, "no second round of creates");
  assert.deepEqual(rsc.expectations.pending("ns/web"), { adds: 5, deletes: [] });
  cluster.release();
  assert.ok(rsc.expectations.satisfied("ns/web"));
  await rsc.syncReplicaSet("ns/web");
  assert.equal(creates(cluster), 5);
  assert.equal(podsOf(cluster).length, 5);
  stop();
});

test("expectations: deletions are awaited too, and a lost event only holds until the timeout", async () => {
  const clock = new FakeClock(T0);
  const { cluster, rsc, stop } = await harness({ clock });
  cluster.seed(REPLICASETS, rsObject("web", 1));
  const rs = cluster.get(REPLICASETS, "ns", "web")!;
  const ref = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "web",
    uid: rs.metadata.uid!,
    controller: true,
  };
  for (const n of ["a", "b", "c"])
    cluster.seed(PODS, runningPod(n, { app: "web" }, { metadata: { ownerReferences: [ref] } }));
  cluster.hold();
  await rsc.syncReplicaSet("ns/web");
  assert.equal(cluster.calls.filter((c) => c.startsWith("delete pods")).length, 2);
  await rsc.syncReplicaSet("ns/web");
  assert.equal(
    cluster.calls.filter((c) => c.startsWith("delete pods")).length,
    2,
    "no deletes while unobserved",
  );
  assert.equal(rsc.expectations.pending("ns/web")!.deletes.length, 2);
  // The events never come (say, lost); after 5 minutes the controller acts on what it sees.
  await clock.advance(5 * 60_000);
  assert.ok(rsc.expectations.satisfied("ns/web"));
  stop();
});

test("creates in slow-start batches and stops at the first failing batch; ReplicaFailure and FailedCreate", async () => {
  const { cluster, rsc, stop } = await harness();
  cluster.seed(REPLICASETS, rsObject("web", 20));
  let n = 0;
  cluster.failWrite = (verb, plural) =>
    verb === "create" && plural === "pods" && ++n > 4
      ? new KubeApiError("POST", "/api/v1/namespaces/ns/pods", {
          code: 403,
          reason: "Forbidden",
          message:
            'pods "web-x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=4, limited: pods=4',
        })
      : undefined;
  await assert.rejects(rsc.syncReplicaSet("ns/web"), /exceeded quota/);
  // Batches 1, 2, 4: the third batch has the first failures, and no fourth batch is tried.
  assert.equal(creates(cluster), 7);
  assert.equal(podsOf(cluster).length, 4);
  assert.ok(rsc.expectations.satisfied("ns/web"), "skipped creates are not waited for");
  const failed = cluster.events.filter((e) => e.reason === "FailedCreate");
  assert.equal(failed.length, 3);
  assert.equal(failed[0].type, "Warning");
  assert.match(failed[0].message, /^Error creating: pods "web-x" is forbidden: exceeded quota/);
  // Status is computed from the cache as the sync found it; the next sync sees the 4 pods
  // and tries again, starting over with a batch of one.
  await assert.rejects(rsc.syncReplicaSet("ns/web"), /exceeded quota/);
  assert.equal(creates(cluster), 8);
  const status = cluster.get(REPLICASETS, "ns", "web")!.status;
  assert.equal(status.replicas, 4);
  const cond = status.conditions.find((c: any) => c.type === "ReplicaFailure");
  assert.equal(cond.status, "True");
  assert.equal(cond.reason, "FailedCreate");
  assert.match(cond.message, /exceeded quota/);
  // Once creates work again, the condition goes.
  cluster.failWrite = () => undefined;
  await rsc.syncReplicaSet("ns/web");
  assert.equal(podsOf(cluster).length, 20);
  await rsc.syncReplicaSet("ns/web");
  assert.equal(cluster.get(REPLICASETS, "ns", "web")!.status.conditions, undefined);
  stop();
});

test("deletes the surplus pods the ranking puts first", async () => {
  const { cluster, rsc, stop } = await harness();
  const rs = cluster.seed(REPLICASETS, rsObject("web", 2));
  const ref = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "web",
    uid: rs.metadata.uid!,
    controller: true,
  };
  const owned = (name: string, extra: any = {}) =>
    cluster.seed(
      PODS,
      runningPod(name, { app: "web" }, { ...extra, metadata: { ...extra.metadata, ownerReferences: [ref] } }),
    );
  owned("ready-1");
  owned("unscheduled", { spec: { nodeName: "" }, status: { phase: "Pending", conditions: [] } });
  owned("ready-2");
  owned("not-ready", { status: { conditions: [{ type: "Ready", status: "False" }] } });
  await rsc.syncReplicaSet("ns/web");
  assert.deepEqual(
    podsOf(cluster)
      .map((p) => p.metadata.name)
      .sort(),
    ["ready-1", "ready-2"],
  );
  assert.deepEqual(
    cluster.events
      .filter((e) => e.reason === "SuccessfulDelete")
      .map((e) => e.message)
      .sort(),
    ["Deleted pod: not-ready", "Deleted pod: unscheduled"],
  );
  stop();
});

test("adopts matching orphans, ignores pods of other controllers, releases pods that stopped matching", async () => {
  const { cluster, rsc, stop } = await harness();
  const rs = cluster.seed(REPLICASETS, rsObject("web", 2));
  cluster.seed(PODS, runningPod("orphan", { app: "web" }));
  cluster.seed(
    PODS,
    runningPod("dying-orphan", { app: "web" }, { metadata: { deletionTimestamp: formatTime(T0) } }),
  );
  cluster.seed(
    PODS,
    runningPod(
      "foreign",
      { app: "web" },
      {
        metadata: {
          ownerReferences: [{ apiVersion: "v1", kind: "X", name: "x", uid: "other", controller: true }],
        },
      },
    ),
  );
  const ref = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "web",
    uid: rs.metadata.uid!,
    controller: true,
  };
  cluster.seed(PODS, runningPod("strayed", { app: "other" }, { metadata: { ownerReferences: [ref] } }));
  await rsc.syncReplicaSet("ns/web");
  const orphan = cluster.get(PODS, "ns", "orphan")!;
  assert.equal(orphan.metadata.ownerReferences?.[0]?.uid, rs.metadata.uid);
  assert.equal(orphan.metadata.ownerReferences?.[0]?.blockOwnerDeletion, true);
  assert.equal(cluster.get(PODS, "ns", "dying-orphan")!.metadata.ownerReferences, undefined);
  assert.equal(cluster.get(PODS, "ns", "foreign")!.metadata.ownerReferences?.[0]?.uid, "other");
  assert.equal(cluster.get(PODS, "ns", "strayed")!.metadata.ownerReferences, undefined, "released");
  // One adopted pod plus one new one make two.
  assert.equal(creates(cluster), 1);
  stop();
});

test("a pod seen terminating counts as deleted at once", async () => {
  const { cluster, rsc, stop } = await harness();
  const rs = cluster.seed(REPLICASETS, rsObject("web", 1));
  const ref = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "web",
    uid: rs.metadata.uid!,
    controller: true,
  };
  cluster.seed(PODS, runningPod("p", { app: "web" }, { metadata: { ownerReferences: [ref] } }));
  await rsc.syncReplicaSet("ns/web");
  assert.equal(creates(cluster), 0);
  // Being deleted (graceful): it no longer counts, and a replacement is made before it is gone.
  const pod = cluster.get(PODS, "ns", "p")!;
  pod.metadata.deletionTimestamp = formatTime(T0 + 30_000);
  await cluster.client.update(PODS, pod);
  await rsc.syncReplicaSet("ns/web");
  assert.equal(creates(cluster), 1);
  stop();
});

test("replicaSetStatus counts fully labelled, ready and available pods", () => {
  const now = T0 + 10_000;
  const rs = {
    ...rsObject("web", 3, { minReadySeconds: 5 }),
    metadata: { name: "web", namespace: "ns", generation: 4 },
  };
  const readyAt = (t: number) => ({
    status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: formatTime(t) }] },
  });
  const pods = [
    runningPod("a", { app: "web", tier: "web" }, readyAt(T0)), // available
    runningPod("b", { app: "web" }, readyAt(T0 + 8000)), // ready, not yet available
    runningPod("c", { app: "web", tier: "web" }, { status: { conditions: [] } }),
  ];
  assert.deepEqual(replicaSetStatus(rs, pods, undefined, now), {
    replicas: 3,
    fullyLabeledReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 1,
    observedGeneration: 4,
  });
  // b becomes available 5 s after 8 s, i.e. 3 s from now.
  assert.equal(nextAvailableInMs(pods, 5, now), 3001);
  assert.equal(nextAvailableInMs(pods, 0, now), undefined);
});
