// The codec's 64-bit and oneof handling (the CRI schemas' round trips are in src/cri/protowire.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeMessage, encodeMessage, type Schema } from "./protowire.ts";

const hex = (b: Buffer) => b.toString("hex");

test("int64 fields decode to exact numbers below 2^49 and through BigInt above", () => {
  const s: Schema = { n: { no: 1, type: "int64" }, u: { no: 2, type: "uint64" } };
  for (const n of [
    1,
    127,
    128,
    300,
    2 ** 28,
    2 ** 35 + 7,
    2 ** 48 + 1,
    2 ** 49,
    2 ** 53 - 1,
    -1,
    -(2 ** 40),
  ]) {
    assert.equal(decodeMessage<{ n: number }>(s, encodeMessage(s, { n })).n, n, `int64 ${n}`);
  }
  assert.equal(hex(encodeMessage(s, { n: 300 })), "08ac02");
  assert.equal(decodeMessage<{ u: number }>(s, Buffer.from("10ffffffffffffff7f", "hex")).u, 2 ** 56 - 1);
});

test("asString int64 fields keep all 64 bits as decimal strings", () => {
  const s: Schema = { id: { no: 1, type: "int64", asString: true } };
  // An etcd lease ID above 2^53: a number would lose its low digits.
  const id = "7587869823456789123";
  const enc = encodeMessage(s, { id });
  assert.equal(hex(enc), "088385b1a8efece1a669");
  assert.deepEqual(decodeMessage(s, enc), { id });
  assert.deepEqual(decodeMessage(s, encodeMessage(s, { id: "-5" })), { id: "-5" });
  // Absent: "0", and "0" is the default so it is not encoded.
  assert.deepEqual(decodeMessage(s, Buffer.alloc(0)), { id: "0" });
  assert.equal(encodeMessage(s, { id: "0" }).length, 0);
  assert.throws(() => encodeMessage(s, { id: "12x" }), /decimal integer string/);
  assert.throws(() => encodeMessage(s, { id: "9223372036854775808" }), /does not fit int64/);
});

test("oneof members are encoded even when zero", () => {
  const s: Schema = {
    plain: { no: 1, type: "int64" },
    member: { no: 5, type: "int64", oneof: true },
  };
  assert.equal(hex(encodeMessage(s, { plain: 0, member: 0 })), "2800");
  assert.equal(hex(encodeMessage(s, { member: 7 })), "2807");
});
