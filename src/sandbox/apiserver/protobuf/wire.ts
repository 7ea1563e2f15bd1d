// The protobuf wire format, read-only: a message is a sequence of (tag, value) pairs, the tag being
// varint(fieldNumber << 3 | wireType). Only what Kubernetes' gogo-generated messages use is decoded;
// fixed-width values are returned raw so callers can skip them.
import { KubernetesProtobufError } from "./errors.ts";

export const VARINT = 0;
export const FIXED64 = 1;
export const LENGTH_DELIMITED = 2;
export const FIXED32 = 5;

export type WireField =
  | { number: number; wireType: typeof VARINT; value: bigint }
  | {
      number: number;
      wireType: typeof FIXED64 | typeof LENGTH_DELIMITED | typeof FIXED32;
      value: Uint8Array;
    };

/** Yields the fields of one message in wire order. `where` names the message in error messages. */
export function* readFields(buf: Uint8Array, where: string): Generator<WireField> {
  const reader = { buf, pos: 0, where };
  while (reader.pos < buf.length) {
    const tag = readVarint(reader);
    const number = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (number === 0) throw malformed(reader, "field number 0");
    switch (wireType) {
      case VARINT:
        yield { number, wireType, value: readVarint(reader) };
        break;
      case LENGTH_DELIMITED: {
        const length = readVarint(reader);
        if (length > BigInt(buf.length - reader.pos)) throw truncated(reader);
        yield { number, wireType, value: take(reader, Number(length)) };
        break;
      }
      case FIXED64:
        yield { number, wireType, value: take(reader, 8) };
        break;
      case FIXED32:
        yield { number, wireType, value: take(reader, 4) };
        break;
      default:
        // 3 and 4 are proto2 groups, which no Kubernetes message uses; 6 and 7 do not exist.
        throw malformed(reader, `unsupported wire type ${wireType} for field ${number}`);
    }
  }
}

/** Packed repeated varints (proto3 style); gogo's proto2 output sends them unpacked, but accept both. */
export function readPackedVarints(buf: Uint8Array, where: string): bigint[] {
  const reader = { buf, pos: 0, where };
  const out: bigint[] = [];
  while (reader.pos < buf.length) out.push(readVarint(reader));
  return out;
}

export const toInt32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
/** int64 as a JSON number: exact up to 2^53, which covers every Kubernetes int64 in practice. */
export const toInt64 = (v: bigint): number => Number(BigInt.asIntN(64, v));
export const toBool = (v: bigint): boolean => v !== 0n;

const utf8 = new TextDecoder("utf-8");
export const toUtf8 = (bytes: Uint8Array): string => utf8.decode(bytes);

interface Reader {
  buf: Uint8Array;
  pos: number;
  where: string;
}

function readVarint(r: Reader): bigint {
  let result = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (r.pos >= r.buf.length) throw truncated(r);
    const byte = r.buf[r.pos++];
    result |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return BigInt.asUintN(64, result);
  }
  throw malformed(r, "varint longer than 10 bytes");
}

function take(r: Reader, n: number): Uint8Array {
  if (r.pos + n > r.buf.length) throw truncated(r);
  const out = r.buf.subarray(r.pos, r.pos + n);
  r.pos += n;
  return out;
}

const truncated = (r: Reader) =>
  new KubernetesProtobufError("Truncated", `truncated protobuf message: ${r.where} ends inside a field`);

const malformed = (r: Reader, what: string) =>
  new KubernetesProtobufError("Malformed", `malformed protobuf message: ${what} in ${r.where}`);
