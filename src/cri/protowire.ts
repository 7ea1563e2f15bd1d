// Protobuf (proto3) wire format, driven by small schema tables instead of generated code.
// A schema maps each JS field name (the proto's lowerCamelCase JSON name) to its field number
// and type. Encoding skips proto3 defaults; decoding fills them in ("" / 0 / false / [] / {} /
// empty Buffer; absent messages stay undefined) and skips unknown fields, so a newer runtime
// that sends more fields than we know still decodes.
//
// int64/uint64 travel as JS numbers: CRI's only large values are nanosecond timestamps, where
// losing digits below a microsecond does not matter.

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

class Writer {
  private chunks: Buffer[] = [];
  private scratch: number[] = [];

  private flushScratch(): void {
    if (this.scratch.length > 0) {
      this.chunks.push(Buffer.from(this.scratch));
      this.scratch = [];
    }
  }

  byte(b: number): void {
    this.scratch.push(b);
  }

  /** Unsigned varint of a non-negative integer below 2^64 (as number or bigint). */
  varint(v: number | bigint): void {
    if (typeof v === "number" && v >= 0 && v <= 0x7fffffff) {
      while (v > 0x7f) {
        this.scratch.push((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      this.scratch.push(v);
      return;
    }
    let b = BigInt.asUintN(64, BigInt(v));
    while (b > 0x7fn) {
      this.scratch.push(Number(b & 0x7fn) | 0x80);
      b >>= 7n;
    }
    this.scratch.push(Number(b));
  }

  tag(no: number, wireType: number): void {
    this.varint(no * 8 + wireType);
  }

  bytes(buf: Uint8Array): void {
    this.varint(buf.length);
    this.flushScratch();
    this.chunks.push(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  }

  raw(buf: Buffer): void {
    this.flushScratch();
    this.chunks.push(buf);
  }

  finish(): Buffer {
    this.flushScratch();
    return Buffer.concat(this.chunks);
  }
}

function fail(path: string, what: string): never {
  throw new TypeError(`protobuf: ${path}: ${what}`);
}

function checkInteger(path: string, type: ScalarType, v: unknown): number | bigint {
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
  if (type === "bytes") return (v as Uint8Array).length === 0;
  if (type === "bool") return v === false;
  return v === 0 || v === 0n;
}

/** Writes one scalar value (no tag). */
function writeScalar(w: Writer, path: string, type: ScalarType, v: unknown): void {
  switch (type) {
    case "string":
      if (typeof v !== "string") fail(path, `expected a string, got ${typeof v}`);
      w.bytes(Buffer.from(v, "utf8"));
      return;
    case "bytes":
      if (typeof v === "string") w.bytes(Buffer.from(v, "utf8"));
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
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    const field = schema[key];
    const p = `${path}.${key}`;
    if (!field) fail(p, "unknown field");
    if (field.type === "map") {
      if (typeof v !== "object") fail(p, "expected an object of strings");
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== "string") fail(`${p}[${mk}]`, `expected a string, got ${typeof mv}`);
        const entry = new Writer();
        if (mk !== "") {
          entry.tag(1, LEN);
          entry.bytes(Buffer.from(mk, "utf8"));
        }
        if (mv !== "") {
          entry.tag(2, LEN);
          entry.bytes(Buffer.from(mv, "utf8"));
        }
        w.tag(field.no, LEN);
        w.bytes(entry.finish());
      }
      continue;
    }
    if (field.repeated) {
      if (!Array.isArray(v)) fail(p, "expected an array");
      if (field.type === "message") {
        v.forEach((item, i) => {
          w.tag(field.no, LEN);
          w.bytes(encodeMessage(field.schema(), item, `${p}[${i}]`));
        });
      } else if (wireTypeOf(field.type) === LEN) {
        v.forEach((item, i) => {
          w.tag(field.no, LEN);
          writeScalar(w, `${p}[${i}]`, field.type, item);
        });
      } else if (v.length > 0) {
        // proto3 packs repeated numeric fields.
        const packed = new Writer();
        for (const [i, item] of v.entries()) writeScalar(packed, `${p}[${i}]`, field.type, item);
        w.tag(field.no, LEN);
        w.bytes(packed.finish());
      }
      continue;
    }
    if (field.type === "message") {
      if (typeof v !== "object") fail(p, `expected an object, got ${typeof v}`);
      w.tag(field.no, LEN);
      w.bytes(encodeMessage(field.schema(), v, p));
      continue;
    }
    // Validate before the default check so a wrong type never passes silently.
    const probe = new Writer();
    writeScalar(probe, p, field.type, v);
    if (isDefault(field.type, v)) continue;
    w.tag(field.no, wireTypeOf(field.type));
    w.raw(probe.finish());
  }
}

/** Encodes `value` (plain object, JS field names) as a protobuf message of `schema`. */
export function encodeMessage(schema: Schema, value: object, path = "message"): Buffer {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(path, "expected an object");
  const w = new Writer();
  encodeInto(w, schema, value, path);
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

function readScalar(r: Reader, type: ScalarType): unknown {
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
      return Number(BigInt.asIntN(64, r.varintBig()));
    case "uint64":
      return Number(r.varintBig());
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
      return 0;
  }
}

interface FieldIndex {
  byNo: Map<number, [string, Field]>;
}
const indexCache = new WeakMap<Schema, FieldIndex>();

function indexOf(schema: Schema): FieldIndex {
  let idx = indexCache.get(schema);
  if (!idx) {
    idx = { byNo: new Map(Object.entries(schema).map(([k, f]) => [f.no, [k, f]])) };
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
  for (const [k, f] of Object.entries(schema)) {
    const d = defaultOf(f);
    if (d !== undefined) out[k] = d;
  }
  const { byNo } = indexOf(schema);
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
      while (pr.pos < pr.end) (out[key] as unknown[]).push(readScalar(pr, field.type));
      continue;
    }
    if (wt !== expected)
      throw new RangeError(`protobuf: field ${key}: wire type ${wt}, expected ${expected}`);
    const v = readScalar(r, field.type);
    if (field.repeated) (out[key] as unknown[]).push(v);
    else out[key] = v;
  }
  return out as T;
}
