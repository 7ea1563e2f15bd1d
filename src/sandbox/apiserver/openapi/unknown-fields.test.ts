import assert from "node:assert/strict";
import { test } from "node:test";
import { cronTabSchema } from "./testing.ts";
import {
  decodeErrorMessage,
  dropUnknownFields,
  strictDecodingMessage,
  unknownFieldMessage,
  unknownFields,
  unknownFieldsForSchema,
} from "./unknown-fields.ts";

const pod = () => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "x", namespace: "default", labels: { run: "x" }, creationTimestamp: null },
  spec: {
    containers: [
      { name: "a", image: "nginx", resources: { limits: { cpu: "1" } } },
      { name: "b", imagee: "nginx", ports: [{ containerPort: 80 }, { containerPortt: 81 }] },
    ],
    restartPolicy: "Always",
  },
});

test("finds unknown fields in nested list items, in document order", () => {
  assert.deepEqual(unknownFields("V1Pod", pod()), [
    "spec.containers[1].imagee",
    "spec.containers[1].ports[1].containerPortt",
  ]);
});

test("treats metadata as ObjectMeta and matches names case-sensitively", () => {
  const p = { ...pod(), metadata: { name: "x", app: "web", Labels: {} } };
  assert.deepEqual(unknownFields("V1Pod", p), [
    "metadata.app",
    "metadata.Labels",
    "spec.containers[1].imagee",
    "spec.containers[1].ports[1].containerPortt",
  ]);
  assert.deepEqual(unknownFields("V1Pod", { apiVersion: "v1", kind: "Pod", Kind: "Pod" }), ["Kind"]);
});

test("walks map values of model type and leaves arbitrary JSON alone", () => {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "crontabs.stable.example.com" },
    spec: {
      group: "stable.example.com",
      names: { kind: "CronTab", plural: "crontabs" },
      scope: "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              "x-kubernetes-preserve-unknown-fields": true,
              properties: { spec: { type: "object", typo: 1, default: { anything: { goes: true } } } },
            },
          },
        },
      ],
    },
  };
  assert.deepEqual(unknownFields("V1CustomResourceDefinition", crd), [
    "spec.versions[0].schema.openAPIV3Schema.properties.spec.typo",
  ]);
});

test("checks deeper templates (deployment) and ignores scalars where objects were expected", () => {
  const d = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "d" } },
      strategy: { rollingUpdate: { maxUnaivailable: 1, maxSurge: "25%" } },
      template: {
        metadata: { labels: { app: "d" } },
        spec: {
          containers: [{ name: "c", image: "i", livenessProbe: { httpGet: { port: 80, pathh: "/" } } }],
        },
      },
    },
  };
  assert.deepEqual(unknownFields("V1Deployment", d), [
    "spec.strategy.rollingUpdate.maxUnaivailable",
    "spec.template.spec.containers[0].livenessProbe.httpGet.pathh",
  ]);
  assert.deepEqual(unknownFields("V1Pod", { spec: "not an object" }), []);
  assert.deepEqual(unknownFields("NoSuchModel", { a: 1 }), []);
});

test("dropUnknownFields removes what unknownFields reports", () => {
  const p = pod();
  assert.deepEqual(dropUnknownFields("V1Pod", p), [
    "spec.containers[1].imagee",
    "spec.containers[1].ports[1].containerPortt",
  ]);
  assert.deepEqual(unknownFields("V1Pod", p), []);
  assert.deepEqual(p.spec.containers[1], { name: "b", ports: [{ containerPort: 80 }, {}] });
});

test("custom resources: undeclared fields, honouring preserve-unknown-fields and embedded resources", () => {
  const obj = {
    apiVersion: "stable.example.com/v1",
    kind: "CronTab",
    metadata: { name: "c", bogus: true },
    spec: {
      cronSpec: "* * * * */5",
      zzz: 1,
      ports: [{ port: 80 }, { port: "http", protocol: "TCP" }],
      extra: { anything: { at: "all" }, known: { a: "x", b: "pruned" } },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "t", bad: 1 }, spec: { kept: true } },
    },
    status: { phase: "Running", observed: 3 },
    topLevel: true,
  };
  assert.deepEqual(unknownFieldsForSchema(cronTabSchema(), obj), [
    // ObjectMeta first, then the pruned fields sorted, then embedded metadata.
    "metadata.bogus",
    "spec.extra.known.b",
    "spec.ports[1].protocol",
    "spec.zzz",
    "status.observed",
    "topLevel",
    "spec.template.metadata.bad",
  ]);
  // Reporting does not change the object.
  assert.equal(obj.spec.zzz, 1);
});

test("a schema-less custom resource has unknown fields everywhere but type meta", () => {
  assert.deepEqual(
    unknownFieldsForSchema(undefined, { apiVersion: "a/v1", kind: "K", metadata: {}, spec: { a: 1 } }),
    ["spec"],
  );
  assert.deepEqual(
    unknownFieldsForSchema(
      { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      { spec: { a: 1 } },
    ),
    [],
  );
});

test("formats upstream's strict decoding messages", () => {
  assert.equal(unknownFieldMessage("spec.foo"), 'unknown field "spec.foo"');
  assert.equal(
    strictDecodingMessage(["spec.containers[0].imagee"]),
    'strict decoding error: unknown field "spec.containers[0].imagee"',
  );
  assert.equal(
    strictDecodingMessage(["a", "b"]),
    'strict decoding error: unknown field "a", unknown field "b"',
  );
  assert.equal(
    decodeErrorMessage("Deployment", "v1", ["spec.strategy.rollingUpdate.maxUnaivailable"]),
    'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.strategy.rollingUpdate.maxUnaivailable"',
  );
});
