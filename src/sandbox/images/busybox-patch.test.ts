import assert from "node:assert/strict";
import { test } from "node:test";
import { withSafeWgetTimeout } from "./busybox-patch.ts";

test("busybox's wget option string loses the '+' of -T (no write through NULL); the rest moves one byte left", async () => {
  const before = Buffer.from("ab^cqSO:o:P:Y:U:T:+t:n::\0-1:\xfe--\0content-length\0", "latin1");
  const after = withSafeWgetTimeout(before);
  assert.equal(after.toString("latin1"), "ab^cqSO:o:P:Y:U:T:t:n::\0-1:\xfe--\0\0content-length\0");
  assert.equal(after.length, before.length);
  assert.ok(withSafeWgetTimeout(after).equals(after), "a patched (or fixed) binary is left as it is");
  assert.equal(before.toString("latin1").includes("T:+"), true, "the input is untouched");
});
