// Turns one protobuf message into the JSON object Go's encoding/json would produce for the same Go
// value, following a message table. Go puts non-pointer scalars on the wire even when zero; JSON
// drops those zeros (omitempty) except for `required` fields, and keeps zeros of `pointer` fields.
// Present messages are kept (as {} when empty), `bytes` become base64, maps objects, embedded
// structs are inlined, unknown fields skipped. Where Go prints null (nil lists and pointers, the zero
// Time) the field is left out.
import { KubernetesProtobufError } from "./errors.ts";
import { MESSAGES } from "./messages.ts";
import { type FieldSpec, isScalar, isSpecial } from "./schema.ts";
import { decodeSpecial } from "./special-types.ts";
import {
  LENGTH_DELIMITED,
  readFields,
  readPackedVarints,
  toBool,
  toInt32,
  toInt64,
  toUtf8,
  VARINT,
  type WireField,
} from "./wire.ts";

type Json = Record<string, unknown>;

/** Decodes `bytes` as message `type`; `path` (e.g. "Deployment.spec") names it in errors. */
export function decodeMessage(bytes: Uint8Array, type: string, path: string): Json {
  const schema = MESSAGES[type];
  if (!schema) throw new Error(`protobuf: no table for message ${type}`);
  const out: Json = {};
  // A singular message field may occur more than once; protobuf merges the occurrences, which is
  // the same as decoding their concatenation.
  const chunks = new Map<number, Uint8Array[]>();

  for (const f of readFields(bytes, path)) {
    const spec = schema[f.number];
    if (!spec) continue;
    const where = `${path}.${spec.name || spec.type}`;

    if (spec.map) {
      const [key, value] = decodeMapEntry(f, spec, where);
      out[spec.name] ??= {};
      (out[spec.name] as Json)[key] = value;
    } else if (spec.repeated) {
      const items = (out[spec.name] as unknown[] | undefined) ?? [];
      if (f.wireType === LENGTH_DELIMITED && isPackable(spec.type)) {
        for (const v of readPackedVarints(f.value, where)) items.push(fromVarint(spec.type, v));
      } else {
        items.push(decodeValue(f, spec, `${where}[${items.length}]`, true));
      }
      if (items.length > 0) out[spec.name] = items;
    } else {
      let field = f;
      if (!isScalar(spec.type) && f.wireType === LENGTH_DELIMITED) {
        const seen = chunks.get(f.number) ?? [];
        seen.push(f.value);
        chunks.set(f.number, seen);
        if (seen.length > 1) field = { ...f, value: Buffer.concat(seen) };
      }
      const value = decodeValue(field, spec, where, spec.pointer === true || spec.required === true);
      if (spec.embedded) Object.assign(out, value);
      else if (value === undefined) delete out[spec.name];
      else out[spec.name] = value;
    }
  }
  return out;
}

/** One value. Unless `keepZero` (pointer/required fields, list and map items), a zero scalar yields undefined. */
function decodeValue(f: WireField, spec: FieldSpec, where: string, keepZero: boolean): unknown {
  const type = spec.type;
  if (f.wireType === VARINT) {
    if (!isPackable(type)) throw wrongWireType(f, type, where);
    const v = fromVarint(type, f.value);
    return v || keepZero ? v : undefined;
  }
  if (f.wireType !== LENGTH_DELIMITED) throw wrongWireType(f, type, where);
  if (type === "string") {
    const s = toUtf8(f.value);
    return s || keepZero ? s : undefined;
  }
  if (type === "bytes")
    return f.value.length || keepZero ? Buffer.from(f.value).toString("base64") : undefined;
  if (isScalar(type)) throw wrongWireType(f, type, where);
  if (isSpecial(type)) return decodeSpecial(type, f.value, where);
  return decodeMessage(f.value, type, where);
}

// map<string, V> entries are messages {1 key, 2 value}; either may be missing and then is the zero value.
function decodeMapEntry(f: WireField, spec: FieldSpec, where: string): [string, unknown] {
  if (f.wireType !== LENGTH_DELIMITED) throw wrongWireType(f, "map entry", where);
  let key = "";
  let value: unknown;
  for (const e of readFields(f.value, where)) {
    if (e.number === 1) {
      if (e.wireType !== LENGTH_DELIMITED) throw wrongWireType(e, "string", `${where} key`);
      key = toUtf8(e.value);
    } else if (e.number === 2) {
      value = decodeValue(e, spec, `${where}[${JSON.stringify(key)}]`, true);
    }
  }
  return [key, value ?? zeroValue(spec.type, `${where}[${JSON.stringify(key)}]`)];
}

function zeroValue(type: string, where: string): unknown {
  if (type === "string" || type === "bytes") return "";
  if (type === "bool") return false;
  if (isPackable(type)) return 0;
  if (type === "Quantity") return "0";
  return isSpecial(type) ? null : decodeMessage(new Uint8Array(0), type, where);
}

function isPackable(type: string): boolean {
  return type === "int32" || type === "int64" || type === "bool";
}

function fromVarint(type: string, v: bigint): number | boolean {
  if (type === "bool") return toBool(v);
  return type === "int32" ? toInt32(v) : toInt64(v);
}

function wrongWireType(f: WireField, type: string, where: string): KubernetesProtobufError {
  return new KubernetesProtobufError(
    "Malformed",
    `malformed protobuf message: ${where} (field ${f.number}) has wire type ${f.wireType}, not one for ${type}`,
  );
}
