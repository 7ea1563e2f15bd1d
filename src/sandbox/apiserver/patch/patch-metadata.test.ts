import assert from "node:assert/strict";
import { test } from "node:test";
import { modelField } from "../schema/models.ts";
import { mergesList, patchMetaEntries, patchMetaFor } from "./patch-metadata.ts";

test("every entry names a real field, and merge keys are fields of the list's items", () => {
  const entries = patchMetaEntries();
  assert.ok(entries.length > 30);
  for (const { model, field, meta } of entries) {
    const type = modelField(model, field);
    assert.ok(type, `${model}.${field} is not in the schema`);
    if (meta.strategy === "retainKeys") {
      assert.equal(type.kind, "ref", `${model}.${field} should be an object`);
      continue;
    }
    assert.equal(type.kind, "array", `${model}.${field} should be a list`);
    if (type.kind !== "array") continue;
    if (meta.mergeKey) {
      assert.equal(type.items.kind, "ref", `${model}.${field} merges by key, so its items must be objects`);
      if (type.items.kind === "ref") {
        assert.ok(
          modelField(type.items.model, meta.mergeKey),
          `${type.items.model} has no merge key ${meta.mergeKey}`,
        );
      }
    } else {
      assert.notEqual(
        type.items.kind,
        "ref",
        `${model}.${field} merges without a key, so its items must be primitives`,
      );
    }
  }
});

test("records the upstream tags kubectl relies on", () => {
  assert.deepEqual(patchMetaFor("V1PodSpec", "containers"), { strategy: "merge", mergeKey: "name" });
  assert.deepEqual(patchMetaFor("V1PodSpec", "volumes"), { strategy: "merge,retainKeys", mergeKey: "name" });
  assert.deepEqual(patchMetaFor("V1Container", "ports"), { strategy: "merge", mergeKey: "containerPort" });
  assert.deepEqual(patchMetaFor("V1Container", "volumeMounts"), { strategy: "merge", mergeKey: "mountPath" });
  assert.deepEqual(patchMetaFor("V1EphemeralContainer", "env"), { strategy: "merge", mergeKey: "name" });
  assert.deepEqual(patchMetaFor("V1ServiceSpec", "ports"), { strategy: "merge", mergeKey: "port" });
  assert.deepEqual(patchMetaFor("V1ObjectMeta", "finalizers"), { strategy: "merge" });
  assert.deepEqual(patchMetaFor("V1ObjectMeta", "ownerReferences"), { strategy: "merge", mergeKey: "uid" });
  assert.deepEqual(patchMetaFor("V1DeploymentSpec", "strategy"), { strategy: "retainKeys" });
  assert.deepEqual(patchMetaFor("V1NodeStatus", "addresses"), { strategy: "merge", mergeKey: "type" });
  for (const model of [
    "V1PodStatus",
    "V1DeploymentStatus",
    "V1ReplicaSetStatus",
    "V1DaemonSetStatus",
    "V1JobStatus",
  ]) {
    assert.deepEqual(patchMetaFor(model, "conditions"), { strategy: "merge", mergeKey: "type" }, model);
  }
});

test("fields without a strategy (replaced whole) have no entry", () => {
  assert.equal(patchMetaFor("V1PodSpec", "tolerations"), undefined);
  assert.equal(patchMetaFor("V1NodeSpec", "taints"), undefined);
  assert.equal(patchMetaFor("V1ServiceSpec", "externalIPs"), undefined);
  assert.equal(patchMetaFor("V1Container", "resizePolicy"), undefined);
  assert.equal(patchMetaFor("V1EndpointSubset", "addresses"), undefined);
  assert.equal(patchMetaFor("V1PodSpec", "toString"), undefined, "inherited properties are not entries");
  assert.equal(patchMetaFor("NoSuchModel", "containers"), undefined);
});

test("mergesList tells merged lists from replaced ones", () => {
  assert.equal(mergesList({ strategy: "merge", mergeKey: "name" }), true);
  assert.equal(mergesList({ strategy: "merge,retainKeys", mergeKey: "name" }), true);
  assert.equal(mergesList({ strategy: "merge" }), true);
  assert.equal(mergesList({ strategy: "retainKeys" }), false);
  assert.equal(mergesList({ strategy: "replace" }), false);
  assert.equal(mergesList(undefined), false);
});
