import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "../errors.ts";
import { applyServerSide } from "./apply.ts";

function liveDeployment() {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "default",
      uid: "u-1",
      resourceVersion: "7",
      labels: { app: "web", team: "a" },
      annotations: { "deployment.kubernetes.io/revision": "2" },
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "app",
              image: "example/app:1",
              ports: [{ containerPort: 80, protocol: "TCP" }],
              terminationMessagePath: "/dev/termination-log",
            },
            { name: "sidecar", image: "example/sidecar:1" },
          ],
          tolerations: [{ key: "x", operator: "Exists" }],
        },
      },
    },
    status: { replicas: 3 },
  };
}

test("creates: without a live object the configuration is the object (nulls dropped)", () => {
  const applied = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", labels: null },
    data: { a: "1" },
  };
  assert.deepEqual(applyServerSide(undefined, applied, "V1ConfigMap"), {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c" },
    data: { a: "1" },
  });
});

test("merges the configuration onto the live object, keeping what it leaves out", () => {
  const applied = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { app: "web", env: "prod" } },
    spec: {
      replicas: 5,
      template: {
        spec: {
          containers: [{ name: "app", image: "example/app:2", ports: [{ containerPort: 8080 }] }],
          tolerations: [{ key: "y", operator: "Exists" }],
        },
      },
    },
  };
  const result = applyServerSide(liveDeployment(), applied, "V1Deployment") as any;
  assert.deepEqual(result.metadata, {
    ...liveDeployment().metadata,
    labels: { app: "web", team: "a", env: "prod" },
  });
  assert.equal(result.spec.replicas, 5);
  assert.deepEqual(result.spec.selector, { matchLabels: { app: "web" } });
  assert.deepEqual(result.status, { replicas: 3 });
  const [app, sidecar] = result.spec.template.spec.containers;
  // Merged by name and, inside, ports by containerPort.
  assert.equal(app.image, "example/app:2");
  assert.equal(app.terminationMessagePath, "/dev/termination-log");
  assert.deepEqual(app.ports.map((p: any) => p.containerPort).sort(), [80, 8080]);
  assert.deepEqual(sidecar, { name: "sidecar", image: "example/sidecar:1" });
  // A list without merge key is the configuration's.
  assert.deepEqual(result.spec.template.spec.tolerations, [{ key: "y", operator: "Exists" }]);
});

test("a null in the configuration leaves the live field alone", () => {
  const result = applyServerSide(
    liveDeployment(),
    { metadata: { labels: { team: null } }, spec: { replicas: null } },
    "V1Deployment",
  ) as any;
  assert.deepEqual(result.metadata.labels, { app: "web", team: "a" });
  assert.equal(result.spec.replicas, 3);
});

test("patch directives in a configuration are not obeyed", () => {
  const result = applyServerSide(
    liveDeployment(),
    { spec: { template: { spec: { containers: [{ name: "sidecar", $patch: "delete" }] } } } },
    "V1Deployment",
  ) as any;
  assert.deepEqual(
    result.spec.template.spec.containers.map((c: any) => c.name),
    ["app", "sidecar"],
  );
});

test("custom resources (no model) merge maps and replace lists", () => {
  const live = {
    apiVersion: "x/v1",
    kind: "Widget",
    metadata: { name: "w" },
    spec: { size: 1, items: [{ id: 1 }], opts: { a: 1 } },
  };
  const result = applyServerSide(live, { spec: { items: [{ id: 2 }], opts: { b: 2 } } }, undefined) as any;
  assert.deepEqual(result.spec, { size: 1, items: [{ id: 2 }], opts: { a: 1, b: 2 } });
});

test("refuses managedFields in the configuration", () => {
  assert.throws(
    () =>
      applyServerSide(liveDeployment(), { metadata: { managedFields: [{ manager: "me" }] } }, "V1Deployment"),
    (err: unknown) =>
      err instanceof ApiError && err.code === 400 && /managedFields must be nil/.test(err.message),
  );
});

test("does not modify the live object or the configuration", () => {
  const live = liveDeployment();
  const applied = {
    spec: { template: { spec: { containers: [{ name: "app", env: [{ name: "A", value: "1" }] }] } } },
  };
  const before = structuredClone({ live, applied });
  const result = applyServerSide(live, applied, "V1Deployment") as any;
  result.spec.template.spec.containers[0].env[0].value = "2";
  result.metadata.labels.app = "changed";
  assert.deepEqual({ live, applied }, before);
});
