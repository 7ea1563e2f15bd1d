// One error type for every way a protobuf body can fail to decode, so the server can map `reason`
// to a status: "UnsupportedKind" is a 415 (we cannot read that kind), the others a 400 (bad body).

export type ProtobufErrorReason = "NotKubernetesProtobuf" | "Truncated" | "Malformed" | "UnsupportedKind";

export class KubernetesProtobufError extends Error {
  readonly reason: ProtobufErrorReason;
  /** For "UnsupportedKind": the envelope's apiVersion and kind. */
  readonly apiVersion?: string;
  readonly kind?: string;

  constructor(reason: ProtobufErrorReason, message: string, gvk?: { apiVersion: string; kind: string }) {
    super(message);
    this.name = "KubernetesProtobufError";
    this.reason = reason;
    if (gvk) {
      this.apiVersion = gvk.apiVersion;
      this.kind = gvk.kind;
    }
  }
}
