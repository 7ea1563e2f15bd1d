// apimachinery types that are messages on the wire but scalars (or raw JSON) in JSON.
// Field numbers from k8s.io/apimachinery: pkg/apis/meta/v1 (Time {1 seconds, 2 nanos}, FieldsV1
// {1 Raw}), pkg/util/intstr (IntOrString {1 type, 2 intVal, 3 strVal}), pkg/api/resource (Quantity {1 string}).
import { KubernetesProtobufError } from "./errors.ts";
import type { SpecialType } from "./schema.ts";
import { LENGTH_DELIMITED, readFields, toInt32, toInt64, toUtf8, VARINT } from "./wire.ts";

/** Decodes a special message; `undefined` (only for the zero Time) keeps the field out of the JSON. */
export function decodeSpecial(type: SpecialType, bytes: Uint8Array, where: string): unknown {
  switch (type) {
    case "Time":
      return decodeTime(bytes, where);
    case "IntOrString":
      return decodeIntOrString(bytes, where);
    case "Quantity":
      return decodeQuantity(bytes, where);
    case "FieldsV1":
      return decodeFieldsV1(bytes, where);
  }
}

// metav1.Time marshals the zero time as an empty message (JSON null, e.g. kubectl's
// creationTimestamp: left out here); anything else is RFC 3339 at second precision, as in JSON.
function decodeTime(bytes: Uint8Array, where: string): string | undefined {
  if (bytes.length === 0) return undefined;
  let seconds = 0;
  for (const f of readFields(bytes, where))
    if (f.number === 1 && f.wireType === VARINT) seconds = toInt64(f.value);
  return new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
}

// Go's JSON prints an IntOrString even when zero (omitempty never applies to a struct), so 0 stays 0.
function decodeIntOrString(bytes: Uint8Array, where: string): number | string {
  let type = 0;
  let intVal = 0;
  let strVal = "";
  for (const f of readFields(bytes, where)) {
    if (f.number === 1 && f.wireType === VARINT) type = toInt64(f.value);
    else if (f.number === 2 && f.wireType === VARINT) intVal = toInt32(f.value);
    else if (f.number === 3 && f.wireType === LENGTH_DELIMITED) strVal = toUtf8(f.value);
  }
  return type === 1 ? strVal : intVal;
}

function decodeQuantity(bytes: Uint8Array, where: string): string {
  let value = "0";
  for (const f of readFields(bytes, where))
    if (f.number === 1 && f.wireType === LENGTH_DELIMITED) value = toUtf8(f.value);
  return value;
}

// managedFields[].fieldsV1 carries the field set as raw JSON bytes.
function decodeFieldsV1(bytes: Uint8Array, where: string): unknown {
  let raw: Uint8Array | undefined;
  for (const f of readFields(bytes, where))
    if (f.number === 1 && f.wireType === LENGTH_DELIMITED) raw = f.value;
  if (!raw || raw.length === 0) return undefined;
  try {
    return JSON.parse(toUtf8(raw));
  } catch {
    throw new KubernetesProtobufError("Malformed", `malformed protobuf message: ${where} is not JSON`);
  }
}
