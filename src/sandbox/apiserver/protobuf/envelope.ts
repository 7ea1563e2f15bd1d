// The frame around every application/vnd.kubernetes.protobuf body: the magic "k8s\0", then a
// runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType}
// (k8s.io/apimachinery pkg/runtime/generated.proto), where raw is the object's own message.
import { KubernetesProtobufError } from "./errors.ts";
import { LENGTH_DELIMITED, readFields, toUtf8 } from "./wire.ts";

export const PROTOBUF_MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

export interface Envelope {
  apiVersion: string;
  kind: string;
  /** The object's message, to decode with the table for `kind`. */
  raw: Uint8Array;
}

export function readEnvelope(body: Uint8Array): Envelope {
  if (body.length < PROTOBUF_MAGIC.length || PROTOBUF_MAGIC.some((b, i) => body[i] !== b))
    throw new KubernetesProtobufError(
      "NotKubernetesProtobuf",
      'not a Kubernetes protobuf body: it does not start with the magic bytes 6b 38 73 00 ("k8s\\0")',
    );
  const env: Envelope = { apiVersion: "", kind: "", raw: new Uint8Array(0) };
  let contentEncoding = "";
  for (const f of readFields(body.subarray(PROTOBUF_MAGIC.length), "runtime.Unknown")) {
    if (f.wireType !== LENGTH_DELIMITED) continue;
    if (f.number === 1) readTypeMeta(f.value, env);
    else if (f.number === 2) env.raw = f.value;
    else if (f.number === 3) contentEncoding = toUtf8(f.value);
  }
  // No client compresses the inner object; refuse rather than decode compressed bytes as a message.
  if (contentEncoding)
    throw new KubernetesProtobufError(
      "Malformed",
      `malformed protobuf message: unsupported contentEncoding "${contentEncoding}" in runtime.Unknown`,
    );
  return env;
}

function readTypeMeta(bytes: Uint8Array, env: Envelope): void {
  for (const f of readFields(bytes, "runtime.Unknown.typeMeta")) {
    if (f.wireType !== LENGTH_DELIMITED) continue;
    if (f.number === 1) env.apiVersion = toUtf8(f.value);
    else if (f.number === 2) env.kind = toUtf8(f.value);
  }
}
