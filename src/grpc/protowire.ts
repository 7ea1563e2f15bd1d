// Protobuf (proto3) wire format, driven by small schema tables instead of generated code.
// A schema maps each JS field name (the proto's lowerCamelCase JSON name) to its field number
// and type. Encoding skips proto3 defaults; decoding fills them in ("" / 0 / false / [] / {} /
// empty Buffer; absent messages stay undefined) and skips unknown fields, so a newer runtime
// that sends more fields than we know still decodes.
//
// int64/uint64 travel as JS numbers by default: CRI's only large values are nanosecond
// timestamps, where losing digits below a microsecond does not matter. A field marked
// `asString` decodes to an exact decimal string instead (etcd lease IDs use all 64 bits).
// Encoding accepts a number, a bigint or a decimal string for any 64-bit integer field.

export type ScalarType =
  | "string"
  | "bytes"
  | "bool"
  | "int32"
  | "int64"
  | "uint32"
  | "uint64"
  | "enum"
  | "double"
  | "float"
  | "fixed32"
  | "fixed64";

export interface ScalarField {
  no: number;
  type: ScalarType;
  repeated?: boolean;
  /** int64/uint64 only: decode to an exact decimal string rather than a number. */
  asString?: boolean;
  /** A member of a oneof: encoded even when it holds the default value, since presence matters. */
  oneof?: boolean;
}

export interface MessageField {
  no: number;
  type: "message";
  /** A thunk, so schemas can refer to each other in any order. */
  schema: () => Schema;
  repeated?: boolean;
}

/** map<string, string>: on the wire, repeated entries {key = 1, value = 2}. */
export interface MapField {
  no: number;
  type: "map";
}

export type Field = ScalarField | MessageField | MapField;
export type Schema = Readonly<Record<string, Field>>;

// Wire types.
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

function wireTypeOf(type: ScalarType): number {
  switch (type) {
    case "string":
    case "bytes":
      return LEN;
    case "double":
    case "fixed64":
      return I64;
    case "float":
    case "fixed32":
      return I32;
    default:
      return VARINT;
  }
}

// ---------------------------------------------------------------- encoding

/** Appends to one growable buffer; nested messages are written in place (see `message`). */
class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned varint of a non-negative integer below 2^64 (as number or bigint). */
  varint(v: number | bigint): void {
    this.ensure(10);
    if (typeof v === "number" && v >= 0 && v <= 0x7fffffff) {
      while (v > 0x7f) {
        this.buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[this.pos++] = v;
      return;
    }
    let b = BigInt.asUintN(64, BigInt(v));
    while (b > 0x7fn) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }

  tag(no: number, wireType: number): void {
    this.varint(no * 8 + wireType);
  }

  /** A length-delimited byte string. */
  bytes(data: Uint8Array): void {
    this.varint(data.length);
    this.raw(data);
  }

  /** A length-delimited UTF-8 string, encoded straight into the buffer. */
  string(s: string): void {
    const n = Buffer.byteLength(s, "utf8");
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, "utf8");
  }

  raw(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /**
   * A length-delimited nested message written by `body` in place: one byte is reserved for
   * the length (enough below 128 bytes); longer messages are shifted to make room.
   */
  message(body: () => void): void {
    this.ensure(1);
    const start = this.pos++;
    body();
    const len = this.pos - start - 1;
    if (len < 0x80) {
      this.buf[start] = len;
      return;
    }
    let size = 1;
    for (let v = len; v > 0x7f; v >>>= 7) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(start + size, start + 1, this.pos);
    this.pos = start;
    this.varint(len);
    this.pos += len;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function fail(path: string, what: string): never {
  throw new TypeError(`protobuf: ${path}: ${what}`);
}

const is64Bit = (type: ScalarType) => type === "int64" || type === "uint64" || type === "fixed64";

function checkInteger(path: string, type: ScalarType, v: unknown): number | bigint {
  if (typeof v === "string" && is64Bit(type)) {
    if (!/^-?\d+$/.test(v))
      fail(path, `expected a decimal integer string (${type}), got ${JSON.stringify(v)}`);
    const b = BigInt(v);
    if (b < (type === "int64" ? -(2n ** 63n) : 0n) || b >= (type === "int64" ? 2n ** 63n : 2n ** 64n))
      fail(path, `${v} does not fit ${type}`);
    return b;
  }
  if (typeof v === "bigint") return v;
  if (typeof v !== "number" || !Number.isInteger(v))
    fail(path, `expected an integer (${type}), got ${JSON.stringify(v)}`);
  if ((type === "uint32" || type === "uint64" || type === "fixed32" || type === "fixed64") && v < 0) {
    fail(path, `expected a non-negative integer (${type}), got ${v}`);
  }
  if ((type === "uint32" || type === "fixed32") && v > 0xffffffff) fail(path, `${v} does not fit ${type}`);
  if ((type === "int32" || type === "enum") && (v < -0x80000000 || v > 0x7fffffff))
    fail(path, `${v} does not fit ${type}`);
  return v;
}

function isDefault(type: ScalarType, v: unknown): boolean {
  if (type === "string") return v === "";
  if (type === "bytes") return (typeof v === "string" || v instanceof Uint8Array) && v.length === 0;
  if (type === "bool") return v === false;
  return v === 0 || v === 0n || v === "0" || v === "-0";
}

/** Writes one scalar value (no tag). */
function writeScalar(w: Writer, path: string, type: ScalarType, v: unknown): void {
  switch (type) {
    case "string":
      if (typeof v !== "string") fail(path, `expected a string, got ${typeof v}`);
      w.string(v);
      return;
    case "bytes":
      if (typeof v === "string") w.string(v);
      else if (v instanceof Uint8Array) w.bytes(v);
      else fail(path, `expected a Buffer, got ${typeof v}`);
      return;
    case "bool":
      if (typeof v !== "boolean") fail(path, `expected a boolean, got ${typeof v}`);
      w.byte(v ? 1 : 0);
      return;
    case "double":
    case "float": {
      if (typeof v !== "number") fail(path, `expected a number, got ${typeof v}`);
      const b = Buffer.alloc(type === "double" ? 8 : 4);
      if (type === "double") b.writeDoubleLE(v);
      else b.writeFloatLE(v);
      w.raw(b);
      return;
    }
    case "fixed32": {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(Number(checkInteger(path, type, v)));
      w.raw(b);
      return;
    }
    case "fixed64": {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(checkInteger(path, type, v)));
      w.raw(b);
      return;
    }
    default:
      // int32/enum negatives are sign-extended to 64 bits (10 bytes), as protobuf does.
      w.varint(checkInteger(path, type, v));
  }
}

function encodeInto(w: Writer, schema: Schema, value: object, path: string): void {
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    const field = schema[key];
    if (!field) fail(`${path}.${key}`, "unknown field");
    if (field.type === "map") {
      if (typeof v !== "object") fail(`${path}.${key}`, "expected an object of strings");
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== "string") fail(`${path}.${key}[${mk}]`, `expected a string, got ${typeof mv}`);
        w.tag(field.no, LEN);
        w.message(() => {
          if (mk !== "") {
            w.tag(1, LEN);
            w.string(mk);
          }
          if (mv !== "") {
            w.tag(2, LEN);
            w.string(mv);
          }
        });
      }
      continue;
    }
    if (field.repeated) {
      if (!Array.isArray(v)) fail(`${path}.${key}`, "expected an array");
      if (field.type === "message") {
        const schemaOf = field.schema();
        for (let i = 0; i < v.length; i++) {
          w.tag(field.no, LEN);
          w.message(() => encodeNested(w, schemaOf, v[i], `${path}.${key}[${i}]`));
        }
      } else if (wireTypeOf(field.type) === LEN) {
        for (let i = 0; i < v.length; i++) {
          w.tag(field.no, LEN);
          writeScalar(w, `${path}.${key}[${i}]`, field.type, v[i]);
        }
      } else if (v.length > 0) {
        // proto3 packs repeated numeric fields.
        w.tag(field.no, LEN);
        w.message(() => {
          for (let i = 0; i < v.length; i++) writeScalar(w, `${path}.${key}[${i}]`, field.type, v[i]);
        });
      }
      continue;
    }
    if (field.type === "message") {
      w.tag(field.no, LEN);
      w.message(() => encodeNested(w, field.schema(), v, `${path}.${key}`));
      continue;
    }
    // isDefault only holds for values of the right type, so a wrong type never passes silently.
    if (!field.oneof && isDefault(field.type, v)) continue;
    w.tag(field.no, wireTypeOf(field.type));
    writeScalar(w, `${path}.${key}`, field.type, v);
  }
}

function encodeNested(w: Writer, schema: Schema, value: unknown, path: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(path, "expected an object");
  encodeInto(w, schema, value, path);
}

/** Encodes `value` (plain object, JS field names) as a protobuf message of `schema`. */
export function encodeMessage(schema: Schema, value: object, path = "message"): Buffer {
  const w = new Writer();
  encodeNested(w, schema, value, path);
  return w.finish();
}

// ---------------------------------------------------------------- decoding

class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError("protobuf: truncated message");
  }

  /** Unsigned varint as bigint (up to 64 bits). */
  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new RangeError("protobuf: varint longer than 10 bytes");
  }

  /** Unsigned varint as number; fast path for values below 2^28. */
  varint(): number {
    let result = 0;
    for (let i = 0; i < 4; i++) {
      this.need(1);
      const b = this.buf[this.pos];
      if (b < 0x80) {
        this.pos++;
        return result + b * 2 ** (7 * i);
      }
      result += (b & 0x7f) * 2 ** (7 * i);
      this.pos++;
    }
    this.pos -= 4;
    return Number(this.varintBig());
  }

  /**
   * A 64-bit varint as a number: exact below 2^49 without BigInt (revisions, counts), which is
   * the hot path for etcd; larger or negative values go through BigInt.
   */
  varint64(signed: boolean): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 7 && this.pos + i < this.end; i++) {
      const b = this.buf[this.pos + i];
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos += i + 1;
        return result;
      }
      mul *= 128;
    }
    const big = this.varintBig();
    return Number(signed ? BigInt.asIntN(64, big) : big);
  }

  slice(n: number): Buffer {
    this.need(n);
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  lengthDelimited(): Buffer {
    return this.slice(this.varint());
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varintBig();
        return;
      case I64:
        this.slice(8);
        return;
      case LEN:
        this.lengthDelimited();
        return;
      case I32:
        this.slice(4);
        return;
      default:
        throw new RangeError(`protobuf: unsupported wire type ${wireType}`);
    }
  }
}

function readScalar(r: Reader, type: ScalarType, asString = false): unknown {
  if (asString) {
    if (type === "int64") return BigInt.asIntN(64, r.varintBig()).toString();
    if (type === "uint64") return r.varintBig().toString();
    if (type === "fixed64") return r.slice(8).readBigUInt64LE(0).toString();
  }
  switch (type) {
    case "string":
      return r.lengthDelimited().toString("utf8");
    case "bytes":
      return Buffer.from(r.lengthDelimited());
    case "bool":
      return r.varintBig() !== 0n;
    case "int32":
    case "enum":
      return Number(BigInt.asIntN(32, r.varintBig()));
    case "uint32":
      return Number(BigInt.asUintN(32, r.varintBig()));
    case "int64":
      return r.varint64(true);
    case "uint64":
      return r.varint64(false);
    case "double":
      return r.slice(8).readDoubleLE(0);
    case "float":
      return r.slice(4).readFloatLE(0);
    case "fixed32":
      return r.slice(4).readUInt32LE(0);
    case "fixed64":
      return Number(r.slice(8).readBigUInt64LE(0));
  }
}

function defaultOf(field: Field): unknown {
  if (field.type === "map") return {};
  if (field.repeated) return [];
  switch (field.type) {
    case "message":
      return undefined;
    case "string":
      return "";
    case "bytes":
      return Buffer.alloc(0);
    case "bool":
      return false;
    default:
      return field.asString ? "0" : 0;
  }
}

interface FieldIndex {
  byNo: Map<number, [string, Field]>;
  fields: [string, Field][];
}
const indexCache = new WeakMap<Schema, FieldIndex>();

function indexOf(schema: Schema): FieldIndex {
  let idx = indexCache.get(schema);
  if (!idx) {
    const fields = Object.entries(schema);
    idx = { byNo: new Map(fields.map(([k, f]) => [f.no, [k, f]])), fields };
    indexCache.set(schema, idx);
  }
  return idx;
}

function decodeMapEntry(buf: Buffer): [string, string] {
  const r = new Reader(buf);
  let key = "";
  let value = "";
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = Math.floor(tag / 8);
    const wt = tag & 7;
    if (no === 1 && wt === LEN) key = r.lengthDelimited().toString("utf8");
    else if (no === 2 && wt === LEN) value = r.lengthDelimited().toString("utf8");
    else r.skip(wt);
  }
  return [key, value];
}

/** Decodes a protobuf message of `schema` into a plain object with proto3 defaults filled in. */
export function decodeMessage<T = Record<string, unknown>>(schema: Schema, buf: Buffer): T {
  const out: Record<string, unknown> = {};
  const { byNo, fields } = indexOf(schema);
  for (const [k, f] of fields) {
    const d = defaultOf(f);
    if (d !== undefined) out[k] = d;
  }
  const r = new Reader(buf);
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = Math.floor(tag / 8);
    const wt = tag & 7;
    if (no === 0) throw new RangeError("protobuf: invalid field number 0");
    const hit = byNo.get(no);
    if (!hit) {
      r.skip(wt);
      continue;
    }
    const [key, field] = hit;
    if (field.type === "map") {
      if (wt !== LEN) throw new RangeError(`protobuf: field ${key}: wire type ${wt} for a map`);
      const [mk, mv] = decodeMapEntry(r.lengthDelimited());
      (out[key] as Record<string, string>)[mk] = mv;
      continue;
    }
    if (field.type === "message") {
      if (wt !== LEN) throw new RangeError(`protobuf: field ${key}: wire type ${wt} for a message`);
      const m = decodeMessage(field.schema(), r.lengthDelimited());
      if (field.repeated) (out[key] as unknown[]).push(m);
      else out[key] = m;
      continue;
    }
    const expected = wireTypeOf(field.type);
    if (field.repeated && wt === LEN && expected !== LEN) {
      // Packed encoding: a run of scalars inside one length-delimited record.
      const packed = r.lengthDelimited();
      const pr = new Reader(packed);
      while (pr.pos < pr.end) (out[key] as unknown[]).push(readScalar(pr, field.type, field.asString));
      continue;
    }
    if (wt !== expected)
      throw new RangeError(`protobuf: field ${key}: wire type ${wt}, expected ${expected}`);
    const v = readScalar(r, field.type, field.asString);
    if (field.repeated) (out[key] as unknown[]).push(v);
    else out[key] = v;
  }
  return out as T;
}
