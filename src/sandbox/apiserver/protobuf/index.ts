// Decoding of application/vnd.kubernetes.protobuf request bodies into the JSON objects kubectl 1.27
// would have sent instead. kubectl 1.33's typed clients send them: every `create <kind>` generator,
// `create job --from=cronjob/x`, `create token`, `debug --copy-to` (Pod), drain's pod DELETE without
// eviction (DeleteOptions). Answering 415 makes kubectl fail rather than retry as JSON.
import { decodeMessage } from "./decode-message.ts";
import { readEnvelope } from "./envelope.ts";
import { KubernetesProtobufError } from "./errors.ts";
import { rootMessage } from "./messages.ts";

export type { ProtobufErrorReason } from "./errors.ts";
export { KubernetesProtobufError } from "./errors.ts";
export { supportedKinds } from "./messages.ts";

export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";

/**
 * The JSON object a protobuf body encodes, with `apiVersion` and `kind` from its envelope.
 * Throws KubernetesProtobufError: reason "NotKubernetesProtobuf" (no "k8s\0" prefix), "Truncated",
 * "Malformed" (bad wire data), or "UnsupportedKind" (no table for the kind; `.kind`/`.apiVersion`
 * say which, and the message names it).
 */
export function decodeKubernetesProtobuf(body: Uint8Array): Record<string, any> {
  const { apiVersion, kind, raw } = readEnvelope(body);
  const message = rootMessage(apiVersion, kind);
  if (!message)
    throw new KubernetesProtobufError(
      "UnsupportedKind",
      `cannot decode a protobuf body of kind "${kind}" (apiVersion "${apiVersion}"); send it as application/json`,
      { apiVersion, kind },
    );
  return { apiVersion, kind, ...decodeMessage(raw, message, kind) };
}
