import assert from "node:assert/strict";
import { test } from "node:test";
import { KubernetesProtobufError } from "./errors.ts";
import { bytes, fixed32, fixed64, message, varint } from "./testing.ts";
import { readFields, readPackedVarints, toInt32, toInt64 } from "./wire.ts";

const fields = (buf: Uint8Array) => [...readFields(buf, "Test")];
const isError = (reason: string) => (e: unknown) =>
  e instanceof KubernetesProtobufError && e.reason === reason;

test("reads varint, length-delimited and fixed-width fields in wire order", () => {
  const buf = message(varint(1, 300), bytes(2, "hi"), fixed32(3, 7), fixed64(4, 9n), varint(2000, 1));
  const got = fields(buf);
  assert.deepEqual(
    got.map((f) => [f.number, f.wireType]),
    [
      [1, 0],
      [2, 2],
      [3, 5],
      [4, 1],
      [2000, 0],
    ],
  );
  assert.equal(got[0].value, 300n);
  assert.equal(Buffer.from(got[1].value as Uint8Array).toString(), "hi");
  assert.equal((got[2].value as Uint8Array).length, 4);
  assert.equal((got[3].value as Uint8Array).length, 8);
});

test("negative int32/int64 arrive as 10-byte sign-extended varints", () => {
  const [a] = fields(varint(1, -1));
  const [b] = fields(varint(1, -5_000_000_000n));
  assert.equal(toInt32(a.value as bigint), -1);
  assert.equal(toInt64(b.value as bigint), -5_000_000_000);
  assert.equal(toInt64(2n ** 40n), 2 ** 40);
});

test("packed varints", () => {
  assert.deepEqual(readPackedVarints(Buffer.from([1, 0xac, 0x02, 0]), "Test"), [1n, 300n, 0n]);
});

test("truncation anywhere is a Truncated error naming the message", () => {
  const buf = message(varint(1, 300), bytes(2, "hello"));
  for (let len = 1; len < buf.length; len++) {
    if (len === 3) continue; // after the first field: a well-formed shorter message
    assert.throws(() => fields(buf.subarray(0, len)), isError("Truncated"), `cut at ${len}`);
  }
  assert.throws(() => fields(fixed64(1, 1n).subarray(0, 5)), /truncated protobuf message: Test/);
});

test("groups, unknown wire types, field 0 and over-long varints are Malformed", () => {
  assert.throws(() => fields(Buffer.from([(1 << 3) | 3])), isError("Malformed"));
  assert.throws(() => fields(Buffer.from([(1 << 3) | 6])), isError("Malformed"));
  assert.throws(() => fields(Buffer.from([0x00, 0x01])), isError("Malformed"));
  assert.throws(() => fields(Buffer.from([0x08, ...Array(10).fill(0xff), 0x01])), isError("Malformed"));
});
