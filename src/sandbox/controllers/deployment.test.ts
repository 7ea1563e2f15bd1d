import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../kube/objects.ts";
import { DEPLOYMENTS, REPLICASETS } from "../../kube/resource.ts";
import { DeploymentController, isScalingEvent, splitReplicaSets } from "./deployment.ts";
import { specReplicas } from "./deployment-rollout.ts";
import { FakeCluster, setUpControllers } from "./fake-cluster.ts";
import { computeTemplateHash } from "./template-hash.ts";

function deployment(name: string, spec: any = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "ns", labels: { app: name } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "nginx" }] },
      },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      ...spec,
    },
    status: {},
  };
}

async function harness() {
  const cluster = new FakeCluster();
  const dc = new DeploymentController();
  return { cluster, dc, ...(await setUpControllers(cluster, [dc])) };
}

const rsList = (cluster: FakeCluster) => cluster.list(REPLICASETS, "ns");
const sizes = (cluster: FakeCluster) =>
  Object.fromEntries(rsList(cluster).map((rs) => [rs.metadata.name, specReplicas(rs)]));

/**
 * Plays the ReplicaSet controller: every ReplicaSet reports spec.replicas pods; `available`
 * decides how many of them are available (default: all).
 */
function settle(cluster: FakeCluster, available: (rs: KubeObject) => number = specReplicas): void {
  for (const rs of rsList(cluster)) {
    const n = specReplicas(rs);
    const a = Math.min(n, available(rs));
    cluster.setStatus(REPLICASETS, "ns", rs.metadata.name!, {
      replicas: n,
      readyReplicas: a,
      availableReplicas: a,
      observedGeneration: rs.metadata.generation,
    });
  }
}

async function changeTemplate(cluster: FakeCluster, name: string, image: string): Promise<void> {
  const d = cluster.get(DEPLOYMENTS, "ns", name)!;
  d.spec.template.spec.containers[0].image = image;
  await cluster.client.update(DEPLOYMENTS, d);
}

async function setReplicas(cluster: FakeCluster, name: string, replicas: number): Promise<void> {
  const d = cluster.get(DEPLOYMENTS, "ns", name)!;
  d.spec.replicas = replicas;
  await cluster.client.update(DEPLOYMENTS, d);
}

const condition = (d: KubeObject, type: string) => d.status?.conditions?.find((c: any) => c.type === type);

test("a new Deployment gets a ReplicaSet named after its template hash, then a complete status", async () => {
  const { cluster, dc, stop } = await harness();
  const d0 = cluster.seed(DEPLOYMENTS, deployment("web"));
  await dc.syncDeployment("ns/web");
  const hash = computeTemplateHash(d0.spec.template);
  const rs = cluster.get(REPLICASETS, "ns", `web-${hash}`)!;
  assert.ok(rs, `ReplicaSet web-${hash}`);
  assert.equal(rs.spec.replicas, 3);
  assert.deepEqual(rs.spec.selector, { matchLabels: { app: "web", "pod-template-hash": hash } });
  assert.deepEqual(rs.spec.template.metadata.labels, { app: "web", "pod-template-hash": hash });
  assert.deepEqual(rs.metadata.labels, { app: "web", "pod-template-hash": hash });
  assert.deepEqual(rs.metadata.annotations, {
    "deployment.kubernetes.io/revision": "1",
    "deployment.kubernetes.io/desired-replicas": "3",
    "deployment.kubernetes.io/max-replicas": "4",
  });
  assert.deepEqual(rs.metadata.ownerReferences, [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "web",
      uid: d0.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.deepEqual(
    cluster.events.map((e) => `${e.reason}: ${e.message}`),
    [`ScalingReplicaSet: Scaled up replica set web-${hash} to 3`],
  );
  let d = cluster.get(DEPLOYMENTS, "ns", "web")!;
  assert.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "1");
  assert.equal(condition(d, "Progressing").reason, "NewReplicaSetCreated");
  assert.equal(condition(d, "Progressing").message, `Created new replica set "web-${hash}"`);
  assert.equal(condition(d, "Available").status, "False");
  assert.equal(d.status.observedGeneration, 1);

  settle(cluster);
  await dc.syncDeployment("ns/web");
  d = cluster.get(DEPLOYMENTS, "ns", "web")!;
  assert.deepEqual(
    [d.status.replicas, d.status.updatedReplicas, d.status.readyReplicas, d.status.availableReplicas],
    [3, 3, 3, 3],
  );
  assert.equal(d.status.unavailableReplicas, undefined);
  assert.equal(condition(d, "Available").reason, "MinimumReplicasAvailable");
  assert.equal(condition(d, "Progressing").reason, "NewReplicaSetAvailable");
  assert.equal(condition(d, "Progressing").message, `ReplicaSet "web-${hash}" has successfully progressed.`);
  // Nothing left to do: another sync writes nothing.
  const writes = cluster.calls.length;
  await dc.syncDeployment("ns/web");
  assert.equal(cluster.calls.length, writes);
  stop();
});

test("a rolling update stays within maxSurge and maxUnavailable at every step", async () => {
  const { cluster, dc, stop } = await harness();
  cluster.seed(DEPLOYMENTS, deployment("web", { replicas: 10 })); // 25%: surge 3, unavailable 2
  await dc.syncDeployment("ns/web");
  settle(cluster);
  await dc.syncDeployment("ns/web");
  const [oldRS] = rsList(cluster);
  await changeTemplate(cluster, "web", "nginx:2");

  // Pods of a grown ReplicaSet become available one round later, as they would after starting.
  let lastAvailable = new Map<string, number>(
    rsList(cluster).map((rs) => [rs.metadata.name!, specReplicas(rs)]),
  );
  for (let round = 0; round < 40; round++) {
    await dc.syncDeployment("ns/web");
    const rss = rsList(cluster);
    const total = rss.reduce((n, rs) => n + specReplicas(rs), 0);
    assert.ok(total <= 13, `round ${round}: ${total} replicas exceed 10 + maxSurge 3`);
    const availableNow = rss.reduce(
      (n, rs) => n + Math.min(specReplicas(rs), lastAvailable.get(rs.metadata.name!) ?? 0),
      0,
    );
    assert.ok(availableNow >= 8, `round ${round}: ${availableNow} available, below 10 - maxUnavailable 2`);
    const previous = lastAvailable;
    settle(cluster, (rs) => previous.get(rs.metadata.name!) ?? 0);
    lastAvailable = new Map(rss.map((rs) => [rs.metadata.name!, specReplicas(rs)]));
    const d = cluster.get(DEPLOYMENTS, "ns", "web")!;
    if (condition(d, "Progressing")?.reason === "NewReplicaSetAvailable" && d.status.observedGeneration === 2)
      break;
  }
  const d = cluster.get(DEPLOYMENTS, "ns", "web")!;
  assert.equal(condition(d, "Progressing")?.reason, "NewReplicaSetAvailable", JSON.stringify(d.status));
  const newRS = rsList(cluster).find((rs) => rs.metadata.uid !== oldRS.metadata.uid)!;
  assert.deepEqual(sizes(cluster), { [oldRS.metadata.name!]: 0, [newRS.metadata.name!]: 10 });
  assert.equal(newRS.metadata.annotations!["deployment.kubernetes.io/revision"], "2");
  assert.equal(d.metadata.annotations!["deployment.kubernetes.io/revision"], "2");
  assert.equal(d.status.updatedReplicas, 10);
  const scaling = cluster.events.filter((e) => e.reason === "ScalingReplicaSet").map((e) => e.message);
  assert.equal(scaling[1], `Scaled up replica set ${newRS.metadata.name} to 3`);
  assert.ok(scaling.includes(`Scaled down replica set ${oldRS.metadata.name} to 8 from 10`), String(scaling));
  stop();
});

test("Recreate scales the old ReplicaSet to zero and waits for its pods before creating the new one", async () => {
  const { cluster, dc, stop } = await harness();
  cluster.seed(DEPLOYMENTS, deployment("web", { replicas: 2, strategy: { type: "Recreate" } }));
  await dc.syncDeployment("ns/web");
  settle(cluster);
  await dc.syncDeployment("ns/web");
  const [oldRS] = rsList(cluster);
  await changeTemplate(cluster, "web", "nginx:2");
  await dc.syncDeployment("ns/web");
  assert.deepEqual(sizes(cluster), { [oldRS.metadata.name!]: 0 });
  // Its pods are still terminating: no new ReplicaSet yet.
  await dc.syncDeployment("ns/web");
  assert.equal(rsList(cluster).length, 1);
  settle(cluster); // the old pods are gone
  await dc.syncDeployment("ns/web");
  const newRS = rsList(cluster).find((rs) => rs.metadata.uid !== oldRS.metadata.uid)!;
  assert.equal(specReplicas(newRS), 2);
  assert.equal(
    newRS.metadata.annotations!["deployment.kubernetes.io/max-replicas"],
    "2",
    "no surge for Recreate",
  );
  stop();
});

test("resizing mid-rollout shares the change proportionally", async () => {
  const { cluster, dc, stop } = await harness();
  cluster.seed(DEPLOYMENTS, deployment("web", { replicas: 10 }));
  await dc.syncDeployment("ns/web");
  settle(cluster);
  await dc.syncDeployment("ns/web");
  const [oldRS] = rsList(cluster);
  await changeTemplate(cluster, "web", "nginx:2");
  await dc.syncDeployment("ns/web"); // new ReplicaSet at 3 (surge), old at 10
  const newRS = rsList(cluster).find((rs) => rs.metadata.uid !== oldRS.metadata.uid)!;
  assert.equal(specReplicas(newRS), 3);
  settle(cluster, () => 0);
  await setReplicas(cluster, "web", 20);
  assert.ok(isScalingEvent(cluster.get(DEPLOYMENTS, "ns", "web")!, rsList(cluster)));
  await dc.syncDeployment("ns/web");
  // 20 + 5 surge = 25 allowed, 13 there: old gets round(10*25/13) - 10 = 9, new round(3*25/13) - 3 = 3.
  assert.deepEqual(sizes(cluster), { [oldRS.metadata.name!]: 19, [newRS.metadata.name!]: 6 });
  for (const rs of rsList(cluster)) {
    assert.equal(rs.metadata.annotations!["deployment.kubernetes.io/desired-replicas"], "20");
    assert.equal(rs.metadata.annotations!["deployment.kubernetes.io/max-replicas"], "25");
  }
  stop();
});

test("plain scaling resizes the only active ReplicaSet", async () => {
  const { cluster, dc, stop } = await harness();
  cluster.seed(DEPLOYMENTS, deployment("web"));
  await dc.syncDeployment("ns/web");
  settle(cluster);
  await setReplicas(cluster, "web", 5);
  await dc.syncDeployment("ns/web");
  const [rs] = rsList(cluster);
  assert.equal(specReplicas(rs), 5);
  assert.equal(rs.metadata.annotations!["deployment.kubernetes.io/desired-replicas"], "5");
  assert.equal(cluster.events.at(-1)!.message, `Scaled up replica set ${rs.metadata.name} to 5 from 3`);
  await setReplicas(cluster, "web", 2);
  await dc.syncDeployment("ns/web");
  assert.equal(cluster.events.at(-1)!.message, `Scaled down replica set ${rs.metadata.name} to 2 from 5`);
  assert.equal(rsList(cluster).length, 1);
  stop();
});

test("revisionHistoryLimit deletes the oldest empty ReplicaSets", async () => {
  const { cluster, dc, stop } = await harness();
  cluster.seed(DEPLOYMENTS, deployment("web", { replicas: 1, revisionHistoryLimit: 1 }));
  for (const image of ["nginx:1", "nginx:2", "nginx:3", "nginx:4"]) {
    if (image !== "nginx:1") await changeTemplate(cluster, "web", image);
    for (let i = 0; i < 10; i++) {
      await dc.syncDeployment("ns/web");
      settle(cluster);
    }
  }
  const revisions = rsList(cluster)
    .map((rs) => rs.metadata.annotations!["deployment.kubernetes.io/revision"])
    .sort();
  assert.deepEqual(revisions, ["3", "4"], "the new one and one old one");
  stop();
});

test("a hash collision with a foreign ReplicaSet bumps collisionCount", async () => {
  const { cluster, dc, stop } = await harness();
  const d0 = deployment("web");
  const hash = computeTemplateHash(d0.spec.template);
  cluster.seed(REPLICASETS, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: `web-${hash}`, namespace: "ns", labels: { other: "x" } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { other: "x" } },
      template: {
        metadata: { labels: { other: "x" } },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      },
    },
  });
  cluster.seed(DEPLOYMENTS, d0);
  await assert.rejects(dc.syncDeployment("ns/web"), /already exists/);
  assert.equal(cluster.get(DEPLOYMENTS, "ns", "web")!.status.collisionCount, 1);
  await dc.syncDeployment("ns/web");
  const next = computeTemplateHash(d0.spec.template, 1);
  assert.notEqual(next, hash);
  assert.equal(specReplicas(cluster.get(REPLICASETS, "ns", `web-${next}`)!), 3);
  stop();
});

test("an orphan ReplicaSet with the Deployment's template is adopted as the new one", async () => {
  const { cluster, dc, stop } = await harness();
  const d0 = deployment("web");
  cluster.seed(REPLICASETS, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web-handmade", namespace: "ns", labels: { app: "web" } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: structuredClone(d0.spec.template),
    },
  });
  const d = cluster.seed(DEPLOYMENTS, d0);
  await dc.syncDeployment("ns/web");
  const rss = rsList(cluster);
  assert.equal(rss.length, 1, "no new ReplicaSet");
  assert.equal(rss[0].metadata.ownerReferences?.[0]?.uid, d.metadata.uid);
  assert.equal(rss[0].metadata.annotations!["deployment.kubernetes.io/revision"], "1");
  assert.equal(splitReplicaSets(d, rss).newRS?.metadata.name, "web-handmade");
  stop();
});

test("a paused Deployment scales but does not roll out", async () => {
  const { cluster, dc, stop } = await harness();
  cluster.seed(DEPLOYMENTS, deployment("web"));
  await dc.syncDeployment("ns/web");
  settle(cluster);
  await dc.syncDeployment("ns/web");
  const d = cluster.get(DEPLOYMENTS, "ns", "web")!;
  d.spec.paused = true;
  d.spec.template.spec.containers[0].image = "nginx:2";
  d.spec.replicas = 4;
  await cluster.client.update(DEPLOYMENTS, d);
  await dc.syncDeployment("ns/web");
  const rss = rsList(cluster);
  assert.equal(rss.length, 1, "no new ReplicaSet while paused");
  assert.equal(specReplicas(rss[0]), 4);
  const paused = cluster.get(DEPLOYMENTS, "ns", "web")!;
  assert.equal(condition(paused, "Progressing").reason, "DeploymentPaused");
  assert.equal(condition(paused, "Progressing").status, "Unknown");
  stop();
});
