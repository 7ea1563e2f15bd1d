import assert from "node:assert/strict";
import { test } from "node:test";
import { fieldDescription, modelDescription, modelDocs } from "./descriptions.ts";

test("reads class and field descriptions from the installed .d.ts files", () => {
  assert.equal(modelDescription("V1PodSpec"), "PodSpec is a description of a pod.");
  assert.match(
    fieldDescription("V1PodSpec", "restartPolicy") ?? "",
    /^Restart policy for all containers within the pod/,
  );
  // The generator's escaping (\" and \') is undone.
  assert.match(
    fieldDescription("V1PodSpec", "dnsPolicy") ?? "",
    /Defaults to "ClusterFirst"\. Valid values are 'ClusterFirstWithHostNet'/,
  );
});

test("lists required fields by JSON name", () => {
  assert.deepEqual(modelDocs("V1PodSpec")?.required, ["containers"]);
  assert.deepEqual(modelDocs("V1Container")?.required, ["name"]);
  assert.ok(modelDocs("V1ObjectMeta")?.required.length === 0);
});

test("keys fields by their JSON names where TypeScript renames them", () => {
  assert.match(
    fieldDescription("V1JSONSchemaProps", "default") ?? "",
    /default value for undefined object fields/,
  );
  assert.match(
    fieldDescription("V1JSONSchemaProps", "x-kubernetes-preserve-unknown-fields") ?? "",
    /stops the API server decoding step from pruning/,
  );
  assert.equal(fieldDescription("V1JSONSchemaProps", "_default"), undefined);
});

test("knows nothing of names the library does not export", () => {
  assert.equal(modelDocs("NoSuchModel"), undefined);
  assert.equal(modelDocs("../../../package"), undefined);
});
