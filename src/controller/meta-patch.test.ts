import assert from "node:assert/strict";
import { test } from "node:test";
import { metadataPatch } from "./meta-patch.ts";

const obj = (annotations?: Record<string, string>, finalizers?: string[]) => ({
  metadata: { name: "x", annotations, finalizers },
});

test("only what differs is patched", () => {
  assert.equal(
    metadataPatch(obj({ a: "1" }, ["f"]), {
      annotations: { a: "1" },
      finalizer: { name: "f", present: true },
    }),
    undefined,
  );
  assert.deepEqual(
    metadataPatch(obj({ a: "1" }), {
      annotations: { a: "2", b: null },
      finalizer: { name: "f", present: true },
    }),
    {
      metadata: { annotations: { a: "2" }, finalizers: ["f"] },
    },
  );
});

test("the patch carries the object's uid, so it cannot land on a successor of the same name", () => {
  const pod = { metadata: { name: "x", uid: "u1", annotations: { a: "1" } } };
  assert.deepEqual(metadataPatch(pod, { annotations: { a: "2" } }), {
    metadata: { annotations: { a: "2" }, uid: "u1" },
  });
  assert.equal(metadataPatch(pod, { annotations: { a: "1" } }), undefined, "nothing to write");
});

test("removal uses null for annotations and the primitive-list directive for the finalizer", () => {
  assert.deepEqual(
    metadataPatch(obj({ a: "1" }, ["other", "f"]), {
      annotations: { a: null },
      finalizer: { name: "f", present: false },
    }),
    {
      metadata: { annotations: { a: null }, "$deleteFromPrimitiveList/finalizers": ["f"] },
    },
  );
  assert.equal(
    metadataPatch(obj({}, ["other"]), { annotations: { a: null }, finalizer: { name: "f", present: false } }),
    undefined,
  );
});
