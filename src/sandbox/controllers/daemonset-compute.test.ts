import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../kube/objects.ts";
import {
  daemonPodTemplate,
  daemonSetCounts,
  nodeShouldRunDaemonPod,
  planDaemonPods,
  podsByNode,
  revisionHash,
  rollingUpdateDeletions,
  targetNodeOf,
} from "./daemonset-compute.ts";

const T0 = Date.parse("2024-01-01T00:00:00Z");

function node(
  name: string,
  o: { labels?: Record<string, string>; ready?: boolean; taints?: any[] } = {},
): KubeObject {
  return {
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...(o.labels ?? {}) } },
    spec: { taints: o.taints },
    status: { conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }] },
  };
}

function ds(spec: any = {}): KubeObject {
  return {
    metadata: {
      name: "agent",
      namespace: "kube-system",
      uid: "ds-uid",
      generation: 1,
      annotations: { "deprecated.daemonset.template.generation": "1" },
    },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: {
        metadata: { labels: { app: "agent" } },
        spec: { containers: [{ name: "a", image: "agent" }] },
      },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      ...spec,
    },
  };
}

function pod(
  name: string,
  nodeName: string,
  o: { hash?: string; created?: number; ready?: boolean; phase?: string; bound?: boolean } = {},
): KubeObject {
  return {
    metadata: {
      name,
      namespace: "kube-system",
      creationTimestamp: new Date(T0 + (o.created ?? 0) * 1000).toISOString(),
      labels: {
        app: "agent",
        "controller-revision-hash": o.hash ?? "old",
        "pod-template-generation": o.hash ? "1" : "0",
      },
    },
    spec: {
      nodeName: o.bound === false ? undefined : nodeName,
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] },
            ],
          },
        },
      },
    },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  };
}

test("the revision hash is stable, safe-encoded and follows the template", () => {
  const a = revisionHash(ds());
  assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.equal(revisionHash(ds()), a);
  const changed = ds();
  changed.spec.template.spec.containers[0].image = "agent:2";
  assert.notEqual(revisionHash(changed), a);
});

test("a daemon pod is pinned to its node and tolerates node conditions", () => {
  const t = daemonPodTemplate(ds(), "n1", "h1");
  assert.deepEqual(t.metadata.labels, {
    app: "agent",
    "pod-template-generation": "1",
    "controller-revision-hash": "h1",
  });
  assert.deepEqual(
    t.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
    [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }],
  );
  assert.deepEqual(
    t.spec.tolerations.map((x: any) => `${x.key}:${x.effect}`),
    [
      "node.kubernetes.io/not-ready:NoExecute",
      "node.kubernetes.io/unreachable:NoExecute",
      "node.kubernetes.io/disk-pressure:NoSchedule",
      "node.kubernetes.io/memory-pressure:NoSchedule",
      "node.kubernetes.io/pid-pressure:NoSchedule",
      "node.kubernetes.io/unschedulable:NoSchedule",
    ],
  );
  assert.equal(targetNodeOf({ metadata: {}, spec: t.spec }), "n1");
});

test("node eligibility: selector, taints, readiness", () => {
  const d = ds();
  d.spec.template.spec.nodeSelector = { role: "edge" };
  const decide = (n: KubeObject) => nodeShouldRunDaemonPod(daemonPodTemplate(d, n.metadata.name!, "h"), n);
  assert.deepEqual(decide(node("n1", { labels: { role: "edge" } })), {
    shouldRun: true,
    canCreate: true,
    shouldContinueRunning: true,
  });
  assert.deepEqual(decide(node("n2")), { shouldRun: false, canCreate: false, shouldContinueRunning: false });
  // Not ready: keeps its pod, gets none new (the sandbox scheduler only binds to Ready nodes).
  assert.deepEqual(decide(node("n3", { labels: { role: "edge" }, ready: false })), {
    shouldRun: true,
    canCreate: false,
    shouldContinueRunning: true,
  });
  const noSchedule = node("n4", { labels: { role: "edge" }, taints: [{ key: "gpu", effect: "NoSchedule" }] });
  assert.deepEqual(decide(noSchedule), { shouldRun: false, canCreate: false, shouldContinueRunning: true });
  const noExecute = node("n5", { labels: { role: "edge" }, taints: [{ key: "gpu", effect: "NoExecute" }] });
  assert.deepEqual(decide(noExecute), { shouldRun: false, canCreate: false, shouldContinueRunning: false });
  const cordoned = node("n6", { labels: { role: "edge" } });
  cordoned.spec.unschedulable = true;
  assert.equal(decide(cordoned).shouldRun, true, "daemon pods tolerate unschedulable nodes");
});

test("the plan creates missing pods and removes duplicates, failed and misplaced ones", () => {
  const d = ds();
  d.spec.template.spec.nodeSelector = { role: "edge" };
  const nodes = [
    node("n1", { labels: { role: "edge" } }),
    node("n2", { labels: { role: "edge" } }),
    node("n3"),
  ];
  const pods = [
    pod("dup-old", "n1", { created: 1 }),
    pod("dup-new", "n1", { created: 2 }),
    pod("misplaced", "n3"),
    pod("orphaned", "gone-node"),
  ];
  const plan = planDaemonPods(d, nodes, podsByNode(pods), "h");
  assert.deepEqual(plan.create, ["n2"]);
  assert.deepEqual(plan.delete.map((p) => p.metadata.name).sort(), ["dup-new", "misplaced", "orphaned"]);
  const failed = planDaemonPods(
    d,
    nodes,
    podsByNode([pod("f", "n1", { phase: "Failed" }), pod("ok", "n2")]),
    "h",
  );
  assert.deepEqual(
    failed.failed.map((p) => p.metadata.name),
    ["f"],
  );
  assert.deepEqual(failed.create, []);
});

test("a rolling update replaces at most maxUnavailable available old pods at a time", () => {
  const d = ds();
  const byNode = podsByNode([
    pod("a", "n1"),
    pod("b", "n2"),
    pod("c", "n3"),
    pod("d", "n4", { ready: false }),
  ]);
  const first = rollingUpdateDeletions(d, byNode, 4, "new", T0);
  assert.deepEqual(
    first.map((p) => p.metadata.name),
    ["d", "a"],
    "unavailable old pods go at once, plus one",
  );
  const midway = podsByNode([pod("a2", "n1", { hash: "new", ready: false }), pod("b", "n2"), pod("c", "n3")]);
  assert.deepEqual(rollingUpdateDeletions(d, midway, 3, "new", T0), [], "one new pod not ready yet");
  const pct = ds({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "50%" } } });
  assert.equal(
    rollingUpdateDeletions(pct, podsByNode([pod("a", "n1"), pod("b", "n2"), pod("c", "n3")]), 3, "new", T0)
      .length,
    2,
  );
});

test("status counts desired, scheduled, ready, updated and misscheduled nodes", () => {
  const d = ds();
  d.spec.template.spec.nodeSelector = { role: "edge" };
  const nodes = [
    node("n1", { labels: { role: "edge" } }),
    node("n2", { labels: { role: "edge" } }),
    node("n3"),
    node("n4", { labels: { role: "edge" } }),
  ];
  const hash = revisionHash(d);
  const pods = [pod("a", "n1", { hash }), pod("b", "n2", { ready: false }), pod("c", "n3", { hash })];
  assert.deepEqual(daemonSetCounts(d, nodes, podsByNode(pods), hash, T0), {
    desiredNumberScheduled: 3,
    currentNumberScheduled: 2,
    numberMisscheduled: 1,
    numberReady: 1,
    updatedNumberScheduled: 1,
    numberAvailable: 1,
    numberUnavailable: 2,
  });
});
