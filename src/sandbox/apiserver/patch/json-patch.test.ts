import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "../errors.ts";
import { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from "./json-patch.ts";

/** Asserts that applying fails with the given status code and a message matching `message`. */
function assertFails(doc: unknown, ops: unknown, code: number, message: RegExp) {
  assert.throws(
    () => applyJsonPatch(doc, ops),
    (err: unknown) => {
      assert.ok(err instanceof ApiError, `expected ApiError, got ${err}`);
      assert.equal(err.code, code);
      assert.match(err.message, message);
      return true;
    },
  );
}

const pod = () => ({
  metadata: { name: "p", labels: { app: "web" }, annotations: { "example.com/a": "1" } },
  spec: {
    containers: [
      { name: "a", image: "nginx" },
      { name: "b", image: "busybox" },
    ],
  },
});

test("add sets object members, inserts into arrays and appends with -", () => {
  const result = applyJsonPatch(pod(), [
    { op: "add", path: "/metadata/labels/tier", value: "fe" },
    { op: "add", path: "/metadata/labels/app", value: "api" },
    { op: "add", path: "/spec/containers/1", value: { name: "mid" } },
    { op: "add", path: "/spec/containers/-", value: { name: "last" } },
    { op: "add", path: "/spec/containers/4", value: { name: "past-end" } },
  ]) as any;
  assert.deepEqual(result.metadata.labels, { app: "api", tier: "fe" });
  assert.deepEqual(
    result.spec.containers.map((c: any) => c.name),
    ["a", "mid", "b", "last", "past-end"],
  );
});

test("add and replace at the root replace the whole document", () => {
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: "add", path: "", value: { b: 2 } }]), { b: 2 });
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: "replace", path: "", value: [1] }]), [1]);
});

test("escaped pointers reach keys containing / and ~", () => {
  const result = applyJsonPatch(pod(), [
    { op: "replace", path: "/metadata/annotations/example.com~1a", value: "2" },
    { op: "add", path: "/metadata/annotations/x~0y", value: "t" },
  ]) as any;
  assert.deepEqual(result.metadata.annotations, { "example.com/a": "2", "x~y": "t" });
});

test("remove deletes members and array items", () => {
  const result = applyJsonPatch(pod(), [
    { op: "remove", path: "/metadata/labels/app" },
    { op: "remove", path: "/spec/containers/0" },
  ]) as any;
  assert.deepEqual(result.metadata.labels, {});
  assert.deepEqual(result.spec.containers, [{ name: "b", image: "busybox" }]);
});

test("replace requires the target to exist", () => {
  const result = applyJsonPatch(pod(), [
    { op: "replace", path: "/spec/containers/1/image", value: "alpine" },
  ]) as any;
  assert.equal(result.spec.containers[1].image, "alpine");
  assertFails(
    pod(),
    [{ op: "replace", path: "/spec/replicas", value: 2 }],
    422,
    /path "\/spec\/replicas" does not exist/,
  );
  assertFails(pod(), [{ op: "replace", path: "/spec/containers/2", value: {} }], 422, /does not exist/);
});

test("move and copy take the value from `from`", () => {
  const moved = applyJsonPatch(pod(), [
    { op: "move", from: "/metadata/labels/app", path: "/metadata/annotations/app" },
  ]) as any;
  assert.deepEqual(moved.metadata.labels, {});
  assert.equal(moved.metadata.annotations.app, "web");

  const reordered = applyJsonPatch(pod(), [
    { op: "move", from: "/spec/containers/0", path: "/spec/containers/-" },
  ]) as any;
  assert.deepEqual(
    reordered.spec.containers.map((c: any) => c.name),
    ["b", "a"],
  );

  const copied = applyJsonPatch(pod(), [
    { op: "copy", from: "/spec/containers/0", path: "/spec/containers/-" },
  ]) as any;
  copied.spec.containers[2].image = "changed";
  assert.equal(copied.spec.containers[0].image, "nginx", "a copy must not alias its source");

  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: "move", from: "/a", path: "/a" }]), { a: 1 });
});

test("move into its own child is rejected", () => {
  assertFails(
    pod(),
    [{ op: "move", from: "/spec", path: "/spec/inner" }],
    422,
    /into one of its own children/,
  );
});

test("test compares JSON values structurally and aborts the patch when it fails", () => {
  const ops = [
    { op: "test", path: "/metadata/labels", value: { app: "web" } },
    { op: "test", path: "/spec/containers/0/name", value: "a" },
    { op: "replace", path: "/metadata/labels/app", value: "api" },
  ];
  assert.equal((applyJsonPatch(pod(), ops) as any).metadata.labels.app, "api");
  assertFails(
    pod(),
    [
      { op: "replace", path: "/metadata/labels/app", value: "api" },
      { op: "test", path: "/metadata/labels/app", value: "web" },
    ],
    422,
    /json patch operation 1 \(test "\/metadata\/labels\/app"\): test failed: the value is "api", not "web"/,
  );
  assertFails(pod(), [{ op: "test", path: "/metadata/missing", value: null }], 422, /does not exist/);
  // null is a value that can be tested for.
  assert.deepEqual(applyJsonPatch({ a: null }, [{ op: "test", path: "/a", value: null }]), { a: null });
});

test("a failing operation leaves the input untouched (all or nothing)", () => {
  const doc = pod();
  const before = structuredClone(doc);
  assertFails(
    doc,
    [
      { op: "add", path: "/metadata/labels/new", value: "x" },
      { op: "remove", path: "/spec/nothing" },
    ],
    422,
    /json patch operation 1 \(remove "\/spec\/nothing"\): path "\/spec\/nothing" does not exist/,
  );
  assert.deepEqual(doc, before);
});

test("never modifies the input document or aliases patch values", () => {
  const doc = pod();
  const before = structuredClone(doc);
  const value = { nested: [1] };
  const result = applyJsonPatch(doc, [{ op: "add", path: "/spec/extra", value }]) as any;
  assert.deepEqual(doc, before);
  result.spec.extra.nested.push(2);
  assert.deepEqual(value, { nested: [1] });
});

test("missing parents, bad indexes and non-container parents are 422", () => {
  assertFails(
    pod(),
    [{ op: "add", path: "/status/phase", value: "Running" }],
    422,
    /path "\/status" does not exist/,
  );
  assertFails(pod(), [{ op: "add", path: "/spec/containers/9", value: {} }], 422, /out of range/);
  assertFails(pod(), [{ op: "add", path: "/spec/containers/01", value: {} }], 422, /array index "01"/);
  assertFails(pod(), [{ op: "remove", path: "/spec/containers/-" }], 422, /does not exist/);
  assertFails(pod(), [{ op: "add", path: "/metadata/name/x", value: 1 }], 422, /not an object or array/);
  assertFails(pod(), [{ op: "remove", path: "" }], 422, /cannot remove the whole document/);
});

test("malformed operations are rejected with a clear reason", () => {
  assertFails(pod(), [{ op: "frobnicate", path: "/a" }], 422, /unsupported operation "frobnicate"/);
  assertFails(pod(), [{ path: "/a", value: 1 }], 422, /unsupported operation/);
  assertFails(pod(), [{ op: "add", value: 1 }], 422, /"path" must be a JSON pointer string/);
  assertFails(pod(), [{ op: "add", path: "/a" }], 422, /"value" is required/);
  assertFails(pod(), [{ op: "move", path: "/a" }], 422, /"from" must be a JSON pointer string/);
  assertFails(pod(), [{ op: "add", path: "metadata", value: 1 }], 422, /must be empty or start with "\/"/);
  assertFails(pod(), ["add"], 422, /json patch operation 0: must be a JSON object/);
});

test("the patch must be an array, of bounded length", () => {
  assertFails(pod(), { op: "add", path: "/a", value: 1 }, 400, /must be a JSON array/);
  const tooMany = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({
    op: "test",
    path: "",
    value: {},
  }));
  assertFails({}, tooMany, 413, /maximum operations in a JSON patch is 10000, got 10001/);
});

test("an empty patch returns an equal copy", () => {
  const doc = pod();
  const result = applyJsonPatch(doc, []);
  assert.deepEqual(result, doc);
  assert.notEqual(result, doc);
});
