import assert from "node:assert/strict";
import { test } from "node:test";
import { trimPod } from "./pod-cache.ts";
import { isFinished, portNeed } from "./pods.ts";

const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "web-1",
    namespace: "default",
    uid: "u1",
    resourceVersion: "42",
    annotations: { "raven.io/port": "{}" },
    finalizers: ["raven.io/port"],
    managedFields: [{ manager: "kubectl" }],
  },
  spec: { nodeName: "node-1", hostNetwork: false, containers: [{ name: "app", image: "nginx" }] },
  status: { phase: "Running", podIP: "192.168.0.2", conditions: [{ type: "Ready", status: "True" }] },
};

test("trimPod keeps the metadata and the fields the reconciler decides on, and nothing else", () => {
  const trimmed = trimPod(structuredClone(pod));
  assert.deepEqual(trimmed, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web-1",
      namespace: "default",
      uid: "u1",
      resourceVersion: "42",
      annotations: { "raven.io/port": "{}" },
      finalizers: ["raven.io/port"],
    },
    spec: { nodeName: "node-1", hostNetwork: false },
    status: { phase: "Running" },
  });
});

test("the reconciler's decisions are the same on a trimmed pod", () => {
  const variants = [
    pod,
    { ...pod, spec: { ...pod.spec, nodeName: undefined } },
    { ...pod, spec: { ...pod.spec, hostNetwork: true } },
    { ...pod, status: { phase: "Succeeded" } },
    { ...pod, metadata: { ...pod.metadata, deletionTimestamp: "2024-01-01T00:00:00Z" } },
    {
      ...pod,
      metadata: { ...pod.metadata, deletionTimestamp: "2024-01-01T00:00:00Z", deletionGracePeriodSeconds: 0 },
    },
    { ...pod, status: undefined },
  ];
  for (const v of variants) {
    const trimmed = trimPod(structuredClone(v) as any);
    assert.equal(portNeed(trimmed), portNeed(v as any));
    assert.equal(isFinished(trimmed), isFinished(v as any));
  }
});

test("trimPod keeps the named container ports (NetworkPolicies name them) and drops unnamed ones", () => {
  const named = structuredClone(pod) as typeof pod & { spec: { containers: unknown[] } };
  named.spec.containers = [
    { name: "app", image: "nginx", ports: [{ containerPort: 80 }, { name: "http", containerPort: 8080 }] },
    { name: "side", image: "busybox", ports: [{ containerPort: 9 }] },
  ];
  assert.deepEqual(trimPod(named).spec, {
    nodeName: "node-1",
    hostNetwork: false,
    containers: [{ ports: [{ name: "http", containerPort: 8080 }] }],
  });
});
