import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson, computeTemplateHash, fnv1a32, templatesEqualIgnoringHash } from "./template-hash.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

test("fnv1a32 matches the published FNV-1a test vectors", () => {
  assert.equal(fnv1a32(bytes("")), 0x811c9dc5);
  assert.equal(fnv1a32(bytes("a")), 0xe40c292c);
  assert.equal(fnv1a32(bytes("foobar")), 0xbf9cf968);
  // Feeding in parts gives the same hash as feeding at once.
  assert.equal(fnv1a32(bytes("bar"), fnv1a32(bytes("foo"))), 0xbf9cf968);
});

const template = () => ({
  metadata: { labels: { app: "demo" } },
  spec: {
    containers: [
      {
        name: "nginx",
        image: "nginx",
        ports: [{ containerPort: 80 }],
        resources: { requests: { cpu: "100m", memory: "100Mi" } },
      },
    ],
  },
});

test("the hash is a decimal uint32, stable across key order and empty fields", () => {
  const h = computeTemplateHash(template());
  assert.match(h, /^\d{1,10}$/);
  assert.ok(Number(h) <= 0xffffffff);
  assert.equal(computeTemplateHash(template()), h, "deterministic");
  const reordered = {
    spec: {
      containers: [
        {
          resources: { requests: { memory: "100Mi", cpu: "100m" } },
          ports: [{ containerPort: 80 }],
          image: "nginx",
          name: "nginx",
        },
      ],
    },
    metadata: { labels: { app: "demo" } },
  };
  assert.equal(computeTemplateHash(reordered), h, "key order does not matter");
  const withEmpties = template() as any;
  withEmpties.metadata.annotations = {};
  withEmpties.spec.volumes = [];
  withEmpties.spec.nodeSelector = null;
  assert.equal(computeTemplateHash(withEmpties), h, "empty maps, lists and nulls do not matter");
});

test("the hash changes with the template and with the collision count", () => {
  const h = computeTemplateHash(template());
  const image = template();
  image.spec.containers[0].image = "nginx:1.27";
  const annotated = template() as any;
  annotated.metadata.annotations = { rev: "2" };
  const hashes = new Set([
    h,
    computeTemplateHash(image),
    computeTemplateHash(annotated),
    computeTemplateHash(template(), 1),
    computeTemplateHash(template(), 2),
  ]);
  assert.equal(hashes.size, 5);
  // Collision count 0 is mixed in too (upstream hashes it whenever it is set).
  assert.notEqual(computeTemplateHash(template(), 0), h);
});

test("templates compare equal ignoring the pod-template-hash label", () => {
  const withHash = template() as any;
  withHash.metadata.labels["pod-template-hash"] = "914545731";
  assert.ok(templatesEqualIgnoringHash(withHash, template()));
  const other = template();
  other.spec.containers[0].image = "nginx:2";
  assert.ok(!templatesEqualIgnoringHash(withHash, other));
  assert.ok(templatesEqualIgnoringHash({ metadata: { labels: {} }, spec: {} }, { spec: {} }));
  assert.equal(canonicalJson({ b: 1, a: [{}, { c: null }] }), '{"a":[null,null],"b":1}');
});
