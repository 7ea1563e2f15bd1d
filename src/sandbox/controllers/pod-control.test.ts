import assert from "node:assert/strict";
import { test } from "node:test";
import { KubeApiError } from "../../kube/errors.ts";
import { formatTime } from "../../kube/objects.ts";
import {
  controllerRefTo,
  errorMessage,
  isPodActive,
  isPodAvailable,
  isPodReady,
  podFromTemplate,
  slowStartBatch,
  slowStartBatchSizes,
} from "./pod-control.ts";

const T0 = Date.parse("2025-01-01T00:00:00Z");
const pod = (status: any, metadata: any = {}) => ({
  metadata: { name: "p", namespace: "ns", ...metadata },
  status,
});

test("slow-start batches double from the initial size and end with what is left", () => {
  assert.deepEqual(slowStartBatchSizes(0, 1), []);
  assert.deepEqual(slowStartBatchSizes(1, 1), [1]);
  assert.deepEqual(slowStartBatchSizes(10, 1), [1, 2, 4, 3]);
  assert.deepEqual(slowStartBatchSizes(500, 1), [1, 2, 4, 8, 16, 32, 64, 128, 245]);
  assert.deepEqual(slowStartBatchSizes(7, 2), [2, 4, 1]);
});

test("slowStartBatch stops after the first batch with a failure", async () => {
  let calls = 0;
  const result = await slowStartBatch(100, 1, async () => {
    calls++;
    if (calls > 3) throw new Error(`no ${calls}`);
  });
  // Batches of 1 and 2 succeed; in the batch of 4 the first call already fails.
  assert.equal(calls, 7);
  assert.equal(result.successes, 3);
  assert.match(String(result.error), /no 4/);
  assert.deepEqual(await slowStartBatch(5, 1, async () => {}), { successes: 5 });
});

test("activeness, readiness and availability", () => {
  const ready = (t: number) => ({
    phase: "Running",
    conditions: [{ type: "Ready", status: "True", lastTransitionTime: formatTime(t) }],
  });
  assert.ok(isPodActive(pod({ phase: "Pending" })));
  assert.ok(!isPodActive(pod({ phase: "Succeeded" })));
  assert.ok(!isPodActive(pod({ phase: "Failed" })));
  assert.ok(!isPodActive(pod({ phase: "Running" }, { deletionTimestamp: formatTime(T0) })));
  assert.ok(isPodReady(pod(ready(T0))));
  assert.ok(!isPodReady(pod({ phase: "Running", conditions: [{ type: "Ready", status: "False" }] })));
  assert.ok(isPodAvailable(pod(ready(T0)), 0, T0));
  assert.ok(!isPodAvailable(pod(ready(T0)), 10, T0 + 10_000), "exactly minReadySeconds is not yet enough");
  assert.ok(isPodAvailable(pod(ready(T0)), 10, T0 + 10_001));
  assert.ok(!isPodAvailable(pod({ phase: "Pending" }), 0, T0));
});

test("a pod from a template carries its labels, annotations and spec, and the controller reference", () => {
  const owner = { metadata: { name: "demo-914545731", namespace: "ns", uid: "u1" } };
  const ref = controllerRefTo(owner, "apps/v1", "ReplicaSet");
  assert.deepEqual(ref, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "demo-914545731",
    uid: "u1",
    controller: true,
    blockOwnerDeletion: true,
  });
  const template = {
    metadata: { labels: { app: "demo" }, annotations: { a: "b" } },
    spec: { containers: [{ name: "c", image: "nginx" }] },
  };
  const p = podFromTemplate(template, owner, ref);
  assert.deepEqual(p.metadata, {
    generateName: "demo-914545731-",
    namespace: "ns",
    labels: { app: "demo" },
    annotations: { a: "b" },
    ownerReferences: [ref],
  });
  assert.deepEqual(p.spec, template.spec);
  p.spec.containers[0].image = "changed";
  assert.equal(template.spec.containers[0].image, "nginx", "the template is not shared");
});

test("errorMessage prefers the server's message", () => {
  const err = new KubeApiError("POST", "/api/v1/namespaces/ns/pods", {
    code: 422,
    reason: "Invalid",
    message: "Pod is invalid",
  });
  assert.equal(errorMessage(err), "Pod is invalid");
  assert.equal(errorMessage(new Error("boom")), "boom");
});
