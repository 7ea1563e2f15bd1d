import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateJsonPath, JsonPathError, parseJsonPath } from "./jsonpath.ts";

const doc = {
  metadata: {
    name: "w1",
    labels: { app: "web", "app.kubernetes.io/name": "widget" },
    annotations: { "example.com/owner": "team-a" },
  },
  spec: {
    replicas: 3,
    containers: [
      { name: "main", image: "nginx", ports: [{ containerPort: 80 }, { containerPort: 443 }] },
      { name: "proxy", image: "envoy", ports: [{ containerPort: 15001 }] },
    ],
  },
  status: {
    conditions: [
      { type: "Synced", status: "True" },
      { type: "Ready", status: "False", reason: "Waiting" },
    ],
  },
};

const get = (path: string) => evaluateJsonPath(parseJsonPath(path), doc);

test("dotted fields and indexes", () => {
  assert.deepEqual(get(".metadata.name"), ["w1"]);
  assert.deepEqual(get(".spec.replicas"), [3]);
  assert.deepEqual(get(".spec.containers[1].image"), ["envoy"]);
  assert.deepEqual(get(".spec.containers[-1].name"), ["proxy"]);
  assert.deepEqual(get("{.spec.containers[0].name}"), ["main"]);
});

test("wildcards and slices select every match in order", () => {
  assert.deepEqual(get(".spec.containers[*].name"), ["main", "proxy"]);
  assert.deepEqual(get(".spec.containers[*].ports[*].containerPort"), [80, 443, 15001]);
  assert.deepEqual(get(".metadata.labels.*"), ["web", "widget"]);
  assert.deepEqual(get(".spec.containers[0:1].name"), ["main"]);
});

test("quoted and escaped keys reach names containing dots and slashes", () => {
  assert.deepEqual(get(".metadata.labels['app']"), ["web"]);
  assert.deepEqual(get(`.metadata.labels["app.kubernetes.io/name"]`), ["widget"]);
  assert.deepEqual(get(".metadata.labels.app\\.kubernetes\\.io/name"), ["widget"]);
  assert.deepEqual(get(".metadata.annotations.example\\.com/owner"), ["team-a"]);
});

test("filters pick array elements by a field's value or presence", () => {
  assert.deepEqual(get(`.status.conditions[?(@.type=="Ready")].status`), ["False"]);
  assert.deepEqual(get(".status.conditions[?(@.type == 'Synced')].status"), ["True"]);
  assert.deepEqual(get(`.status.conditions[?(@.type!="Ready")].type`), ["Synced"]);
  assert.deepEqual(get(".status.conditions[?(@.reason)].type"), ["Ready"]);
  assert.deepEqual(get(".spec.containers[?(@.ports[0].containerPort==15001)].name"), ["proxy"]);
});

test("missing keys, out-of-range indexes and type mismatches select nothing", () => {
  assert.deepEqual(get(".status.phase"), []);
  assert.deepEqual(get(".spec.containers[5].name"), []);
  assert.deepEqual(get(".metadata.name.first"), []);
  assert.deepEqual(get(".spec.replicas[0]"), []);
});

test("malformed paths are rejected", () => {
  for (const bad of [".spec[", ".a[?(@.x==)]", ".a['unterminated]", "spec", ".a..b"]) {
    assert.throws(() => parseJsonPath(bad), JsonPathError, bad);
  }
});
