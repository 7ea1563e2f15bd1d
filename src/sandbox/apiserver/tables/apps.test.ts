import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../../kube/objects.ts";
import { daemonSetPrinter, deploymentPrinter, replicaSetPrinter } from "./apps.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const created = formatTime(NOW - 10 * 60_000);

const template = {
  metadata: { labels: { app: "web" } },
  spec: {
    containers: [
      { name: "web", image: "nginx:1.27" },
      { name: "sidecar", image: "envoyproxy/envoy:v1.30" },
    ],
  },
};

function obj(kind: string, spec: any, status: any): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: { name: "web", namespace: "default", creationTimestamp: created },
    spec,
    status,
  };
}

test("a deployment rolling out shows ready/desired and its template", () => {
  const d = obj(
    "Deployment",
    {
      replicas: 3,
      selector: {
        matchLabels: { app: "web" },
        matchExpressions: [{ key: "env", operator: "In", values: ["staging", "prod"] }],
      },
      template,
    },
    { replicas: 3, readyReplicas: 2, updatedReplicas: 1, availableReplicas: 2 },
  );
  assert.deepEqual(deploymentPrinter.cells(d, NOW), [
    "web",
    "2/3",
    1,
    2,
    "10m",
    "web,sidecar",
    "nginx:1.27,envoyproxy/envoy:v1.30",
    "app=web,env in (prod,staging)",
  ]);
});

test("a new deployment with no status yet is 0/1 with zero counts", () => {
  const d = obj(
    "Deployment",
    { replicas: 1, selector: { matchLabels: { app: "web" } }, template },
    undefined,
  );
  assert.deepEqual(deploymentPrinter.cells(d, NOW).slice(1, 4), ["0/1", 0, 0]);
});

test("an invalid selector operator prints <invalid> for deployments and <error> elsewhere", () => {
  const bad = { matchExpressions: [{ key: "app", operator: "Near", values: ["x"] }] };
  assert.equal(
    deploymentPrinter.cells(obj("Deployment", { replicas: 1, selector: bad, template }, {}), NOW)[7],
    "<invalid>",
  );
  assert.equal(
    replicaSetPrinter.cells(obj("ReplicaSet", { replicas: 1, selector: bad, template }, {}), NOW)[7],
    "<error>",
  );
});

test("selector requirements are sorted by key, whichever list they come from", () => {
  const selector = {
    matchLabels: { tier: "frontend" },
    matchExpressions: [
      { key: "track", operator: "NotIn", values: ["canary"] },
      { key: "app", operator: "Exists" },
      { key: "legacy", operator: "DoesNotExist" },
    ],
  };
  const rs = obj("ReplicaSet", { replicas: 1, selector, template }, {});
  assert.equal(replicaSetPrinter.cells(rs, NOW)[7], "app,!legacy,tier=frontend,track notin (canary)");
});

test("a replicaset prints desired/current/ready as integers", () => {
  const rs = obj(
    "ReplicaSet",
    { replicas: 3, selector: { matchLabels: { app: "web", "pod-template-hash": "7d4b9c8f5" } }, template },
    { replicas: 3, readyReplicas: 1 },
  );
  assert.deepEqual(replicaSetPrinter.cells(rs, NOW), [
    "web",
    3,
    3,
    1,
    "10m",
    "web,sidecar",
    "nginx:1.27,envoyproxy/envoy:v1.30",
    "app=web,pod-template-hash=7d4b9c8f5",
  ]);
});

test("a daemonset prints its counts and node selector", () => {
  const ds = obj(
    "DaemonSet",
    {
      selector: { matchLabels: { app: "agent" } },
      template: { ...template, spec: { ...template.spec, nodeSelector: { "kubernetes.io/os": "linux" } } },
    },
    {
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberReady: 2,
      updatedNumberScheduled: 3,
      numberAvailable: 2,
    },
  );
  assert.deepEqual(daemonSetPrinter.cells(ds, NOW), [
    "web",
    3,
    3,
    2,
    3,
    2,
    "kubernetes.io/os=linux",
    "10m",
    "web,sidecar",
    "nginx:1.27,envoyproxy/envoy:v1.30",
    "app=agent",
  ]);
  const anywhere = obj("DaemonSet", { selector: { matchLabels: { app: "agent" } }, template }, {});
  assert.deepEqual(daemonSetPrinter.cells(anywhere, NOW).slice(1, 7), [0, 0, 0, 0, 0, "<none>"]);
});
