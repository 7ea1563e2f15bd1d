// The shape of the message tables: for each protobuf message, field number → how to turn the field
// into JSON. The tables are data (messages-*.ts); decode-message.ts walks them.
//
// Field numbers, names and types in the tables come from k8s.io/api's generated.proto files as
// compiled into kubectl 1.33.1. The `pointer` and `required` flags were checked against kubectl
// itself: for the whole Job → PodSpec tree, a Job with every field set to its zero value decodes to
// exactly the JSON kubectl prints for it (`create job --from=cronjob/x --dry-run=client -o json`);
// the other kinds were checked against the generators' --dry-run output and k8s.io/api's types.go.

/** Wire-level scalar types used by the Kubernetes messages. */
export type ScalarType = "string" | "int32" | "int64" | "bool" | "bytes";

/** Messages with a JSON form of their own (see special-types.ts), not a plain object. */
export type SpecialType = "Time" | "IntOrString" | "Quantity" | "FieldsV1";

export interface FieldSpec {
  /** JSON name ("" for an embedded message, whose fields land in the parent object). */
  readonly name: string;
  /** A ScalarType, a SpecialType, or the name of another message in the tables. */
  readonly type: string;
  /** `repeated`: a JSON array. */
  readonly repeated?: boolean;
  /** `map<string, type>`: a JSON object; on the wire, repeated entries {1 key, 2 value}. */
  readonly map?: boolean;
  /**
   * A Go pointer field (`*int32`, `*bool`, ...). Go encodes non-pointer fields even when zero, so a
   * zero there means "unset"; a pointer field is on the wire only when set, so its zero is meaningful.
   */
  readonly pointer?: boolean;
  /**
   * A non-pointer field whose Go JSON tag has no `omitempty` (mostly API-required fields such as
   * containerPort or PriorityClass.value): Go's JSON prints its zero value, so the decoder does too.
   */
  readonly required?: boolean;
  /** A Go embedded struct (e.g. Volume's VolumeSource): JSON has its fields inline. */
  readonly embedded?: boolean;
}

export type MessageSchema = Readonly<Record<number, FieldSpec>>;
export type MessageTable = Readonly<Record<string, MessageSchema>>;

export const field = (name: string, type: string): FieldSpec => ({ name, type });
export const pointer = (name: string, type: string): FieldSpec => ({ name, type, pointer: true });
export const required = (name: string, type: string): FieldSpec => ({ name, type, required: true });
export const list = (name: string, type: string): FieldSpec => ({ name, type, repeated: true });
export const map = (name: string, valueType: string): FieldSpec => ({ name, type: valueType, map: true });
export const embedded = (type: string): FieldSpec => ({ name: "", type, embedded: true });

const SCALARS: ReadonlySet<string> = new Set(["string", "int32", "int64", "bool", "bytes"]);
const SPECIALS: ReadonlySet<string> = new Set(["Time", "IntOrString", "Quantity", "FieldsV1"]);

export function isScalar(type: string): type is ScalarType {
  return SCALARS.has(type);
}

export function isSpecial(type: string): type is SpecialType {
  return SPECIALS.has(type);
}
