import assert from "node:assert/strict";
import { test } from "node:test";
import { strategies } from "./index.ts";
import { created, createErrors, updateErrors } from "./testing.ts";

const deployments = strategies["apps/deployments"];
const replicaSets = strategies["apps/replicasets"];
const daemonSets = strategies["apps/daemonsets"];

const demo = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "demo", namespace: "default", labels: { app: "demo" } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: "demo" } },
    template: {
      metadata: { labels: { app: "demo" } },
      spec: {
        containers: [
          {
            name: "nginx",
            image: "nginx",
            resources: { requests: { cpu: "100m", memory: "100Mi" } },
            ports: [{ containerPort: 80 }],
          },
        ],
      },
    },
  },
};

const helloWorld = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "hello-world", namespace: "default" },
  spec: {
    selector: { matchLabels: { app: "hello-world" } },
    template: {
      metadata: { labels: { app: "hello-world" } },
      spec: {
        containers: [
          {
            name: "hello-world",
            image: "gcr.io/google-samples/hello-app:1.0",
            ports: [{ containerPort: 8081 }],
            livenessProbe: { tcpSocket: { port: 8081 } },
            readinessProbe: { httpGet: { path: "/", port: 8081 }, initialDelaySeconds: 10, periodSeconds: 5 },
          },
        ],
      },
    },
  },
};

test("the seed Deployments are valid and get upstream's defaults", () => {
  assert.deepEqual(createErrors(deployments, demo), []);
  assert.deepEqual(createErrors(deployments, helloWorld), []);
  const d = created(deployments, demo);
  assert.equal(d.spec.replicas, 3);
  assert.deepEqual(d.spec.strategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
  });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.template.metadata.creationTimestamp, null);
  assert.equal(d.spec.template.spec.restartPolicy, "Always");
  assert.deepEqual(d.spec.template.spec.containers[0].resources, {
    requests: { cpu: "100m", memory: "100Mi" },
  });
  assert.deepEqual(d.status, {});
  const h = created(deployments, helloWorld);
  assert.equal(h.spec.replicas, 1);
  assert.deepEqual(h.spec.template.spec.containers[0].readinessProbe, {
    httpGet: { path: "/", port: 8081, scheme: "HTTP" },
    initialDelaySeconds: 10,
    periodSeconds: 5,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3,
  });
  // Templates keep pod-only defaults off.
  assert.equal(h.spec.template.spec.enableServiceLinks, undefined);
});

test("a selector that misses the template labels is rejected, printed the Go way", () => {
  const bad = structuredClone(demo);
  bad.spec.template.metadata.labels = { app: "x" };
  assert.deepEqual(createErrors(deployments, bad), [
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
  ]);
  const noSelector: any = structuredClone(demo);
  delete noSelector.spec.selector;
  assert.deepEqual(createErrors(deployments, noSelector), [
    "spec.selector: Required value",
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"demo"}: `selector` does not match template `labels`',
  ]);
  const empty = structuredClone(demo);
  empty.spec.selector = {} as any;
  assert.deepEqual(createErrors(deployments, empty), [
    "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
  ]);
});

test("a Deployment's pods must always restart, and counts may not be negative", () => {
  const bad: any = structuredClone(demo);
  bad.spec.template.spec.restartPolicy = "Never";
  bad.spec.replicas = -1;
  bad.spec.strategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } };
  assert.deepEqual(createErrors(deployments, bad), [
    "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
  ]);
  const recreate: any = structuredClone(demo);
  recreate.spec.strategy = { type: "Recreate", rollingUpdate: {} };
  assert.deepEqual(createErrors(deployments, recreate), [
    "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
  ]);
});

test("apps/v1 selectors are immutable", () => {
  const stored = created(deployments, demo);
  const scaled = structuredClone(stored);
  scaled.spec.replicas = 5;
  assert.deepEqual(updateErrors(deployments, scaled, stored), []);
  const moved = structuredClone(stored);
  moved.spec.selector = { matchLabels: { app: "demo", tier: "web" } };
  moved.spec.template.metadata.labels = { app: "demo", tier: "web" };
  assert.deepEqual(updateErrors(deployments, moved, stored), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"demo", "tier":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  ]);
});

test("ReplicaSets default one replica and show zero replicas in status", () => {
  const rs = {
    metadata: { name: "demo-abc", namespace: "default" },
    spec: { selector: demo.spec.selector, template: demo.spec.template },
  };
  assert.deepEqual(createErrors(replicaSets, rs), []);
  const stored = created(replicaSets, rs);
  assert.equal(stored.spec.replicas, 1);
  assert.deepEqual(stored.status, { replicas: 0 });
  assert.deepEqual(replicaSets.selectableFields!(stored), { "status.replicas": "0" });
  const moved = structuredClone(stored);
  moved.spec.selector = { matchLabels: { app: "other" } };
  assert.equal(updateErrors(replicaSets, moved, stored).at(-1)?.endsWith(": field is immutable"), true);
});

test("DaemonSets default a one-at-a-time rolling update and reject surge plus unavailability", () => {
  const ds = {
    metadata: { name: "agent", namespace: "kube-system" },
    spec: { selector: demo.spec.selector, template: demo.spec.template },
  };
  assert.deepEqual(createErrors(daemonSets, ds), []);
  const stored = created(daemonSets, ds);
  assert.deepEqual(stored.spec.updateStrategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
  });
  assert.equal(stored.spec.revisionHistoryLimit, 10);
  assert.equal(stored.metadata.annotations?.["deprecated.daemonset.template.generation"], "1");
  const both = structuredClone(ds) as any;
  both.spec.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: "10%" } };
  assert.deepEqual(createErrors(daemonSets, both), [
    'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"10%"}: may not be set when maxUnavailable is non-zero',
  ]);
});
