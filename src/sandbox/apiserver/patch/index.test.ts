import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "../errors.ts";
import { applyPatch, PATCH_MEDIA_TYPES } from "./index.ts";

function assertApiError(fn: () => unknown, code: number, reason: string, message: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.reason, reason);
    assert.match(err.message, message);
    return true;
  });
}

const pod = () => ({
  metadata: { name: "p", labels: { app: "web" } },
  spec: {
    containers: [
      { name: "a", image: "nginx" },
      { name: "b", image: "redis" },
    ],
  },
});

test("dispatches on the media type, ignoring parameters and case", () => {
  const smp = applyPatch(
    "application/strategic-merge-patch+json; charset=utf-8",
    pod(),
    '{"spec":{"containers":[{"name":"b","image":"redis:7"}]}}',
    "V1Pod",
  ) as any;
  assert.deepEqual(smp.spec.containers, [
    { name: "a", image: "nginx" },
    { name: "b", image: "redis:7" },
  ]);

  const merge = applyPatch(
    "Application/Merge-Patch+JSON",
    pod(),
    Buffer.from('{"spec":{"containers":[{"name":"b","image":"redis:7"}]}}'),
    "V1Pod",
  ) as any;
  assert.deepEqual(merge.spec.containers, [{ name: "b", image: "redis:7" }], "merge patch replaces lists");

  const json = applyPatch(
    "application/json-patch+json",
    pod(),
    '[{"op":"replace","path":"/spec/containers/0/image","value":"nginx:2"}]',
    "V1Pod",
  ) as any;
  assert.equal(json.spec.containers[0].image, "nginx:2");
});

test("apply-patch+yaml reads YAML or JSON, and creates when there is no object yet", () => {
  const yaml = "metadata:\n  labels:\n    tier: fe\nspec:\n  containers:\n  - name: a\n    image: nginx:2\n";
  const applied = applyPatch("application/apply-patch+yaml", pod(), yaml, "V1Pod") as any;
  assert.deepEqual(applied.metadata.labels, { app: "web", tier: "fe" });
  assert.deepEqual(applied.spec.containers, [
    { name: "a", image: "nginx:2" },
    { name: "b", image: "redis" },
  ]);
  const created = applyPatch(
    "application/apply-patch+yaml",
    undefined,
    '{"kind":"Pod","metadata":{"name":"n"}}',
    "V1Pod",
  );
  assert.deepEqual(created, { kind: "Pod", metadata: { name: "n" } });
});

test("strategic merge patch is refused for custom resources, as upstream does", () => {
  assertApiError(
    () => applyPatch("application/strategic-merge-patch+json", { spec: {} }, "{}", undefined),
    415,
    "UnsupportedMediaType",
    /^the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml$/,
  );
  // The other types work for them.
  assert.deepEqual(
    applyPatch("application/merge-patch+json", { spec: { a: 1 } }, '{"spec":{"b":2}}', undefined),
    {
      spec: { a: 1, b: 2 },
    },
  );
});

test("unknown content types are 415 listing what is supported", () => {
  for (const type of ["application/json", "text/plain", ""]) {
    assertApiError(
      () => applyPatch(type, pod(), "{}", "V1Pod"),
      415,
      "UnsupportedMediaType",
      new RegExp(`accepted media types include: ${PATCH_MEDIA_TYPES.join(", ").replaceAll("+", "\\+")}$`),
    );
  }
});

test("malformed bodies are 400 with the parse error", () => {
  assertApiError(
    () => applyPatch("application/strategic-merge-patch+json", pod(), '{"spec":', "V1Pod"),
    400,
    "BadRequest",
    /^error decoding patch: .*JSON/,
  );
  assertApiError(
    () => applyPatch("application/merge-patch+json", pod(), "nope", "V1Pod"),
    400,
    "BadRequest",
    /error decoding patch/,
  );
  assertApiError(
    () => applyPatch("application/json-patch+json", pod(), "", "V1Pod"),
    400,
    "BadRequest",
    /error decoding patch/,
  );
  assertApiError(
    () => applyPatch("application/merge-patch+json", pod(), "[1]", "V1Pod"),
    400,
    "BadRequest",
    /merge patch must be a JSON object/,
  );
  assertApiError(
    () => applyPatch("application/strategic-merge-patch+json", pod(), '"x"', "V1Pod"),
    400,
    "BadRequest",
    /strategic merge patch must be a JSON object/,
  );
  assertApiError(
    () => applyPatch("application/json-patch+json", pod(), "{}", "V1Pod"),
    400,
    "BadRequest",
    /JSON array of operations/,
  );
  assertApiError(
    () => applyPatch("application/apply-patch+yaml", pod(), "a: [1", "V1Pod"),
    400,
    "BadRequest",
    /^error decoding YAML: /,
  );
  assertApiError(
    () => applyPatch("application/apply-patch+yaml", pod(), "- 1\n", "V1Pod"),
    400,
    "BadRequest",
    /must be an object/,
  );
  assertApiError(
    () => applyPatch("application/apply-patch+yaml", pod(), "a: 1\n---\nb: 2\n", "V1Pod"),
    400,
    "BadRequest",
    /error decoding YAML/,
  );
});

test("a patch must leave an object behind", () => {
  assertApiError(
    () =>
      applyPatch("application/json-patch+json", pod(), '[{"op":"replace","path":"","value":[]}]', "V1Pod"),
    422,
    "Invalid",
    /the patched document must be an object/,
  );
});

test("failed JSON patch operations are 422 Invalid", () => {
  assertApiError(
    () =>
      applyPatch(
        "application/json-patch+json",
        pod(),
        '[{"op":"test","path":"/metadata/name","value":"q"}]',
        "V1Pod",
      ),
    422,
    "Invalid",
    /^the server rejected our request due to an error in our request: .*test failed/,
  );
});

test("only server-side apply may run without an existing object", () => {
  assertApiError(
    () => applyPatch("application/merge-patch+json", undefined, "{}", "V1Pod"),
    500,
    "InternalError",
    /existing object/,
  );
});

test("never modifies the original", () => {
  const original = pod();
  const before = structuredClone(original);
  for (const [type, body] of [
    ["application/json-patch+json", '[{"op":"remove","path":"/metadata/labels/app"}]'],
    ["application/merge-patch+json", '{"metadata":{"labels":null}}'],
    ["application/strategic-merge-patch+json", '{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}'],
    ["application/apply-patch+yaml", "spec:\n  containers:\n  - name: a\n    image: x\n"],
  ]) {
    applyPatch(type, original, body, "V1Pod");
    assert.deepEqual(original, before, type);
  }
});
