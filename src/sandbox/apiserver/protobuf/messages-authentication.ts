// protobuf field numbers from k8s.io/api authentication/v1/generated.proto (k8s 1.33, as compiled into kubectl 1.33.1).
// TokenRequest (`create token`: POST serviceaccounts/<name>/token). `status` is left out.
// `pointer`: a Go pointer field (a zero on the wire is a value); `required`: no omitempty (JSON prints zero).
import type { MessageTable } from "./schema.ts";
import { field, list, pointer } from "./schema.ts";

export const AUTHENTICATION_MESSAGES: MessageTable = {
  BoundObjectReference: {
    1: field("kind", "string"),
    2: field("apiVersion", "string"),
    3: field("name", "string"),
    4: field("uid", "string"), // named uID in the .proto; the JSON name is uid
  },
  // `auth whoami`: an empty review; the answer is in status.
  SelfSubjectReview: {
    1: field("metadata", "ObjectMeta"),
  },
  TokenRequest: {
    1: field("metadata", "ObjectMeta"),
    2: field("spec", "TokenRequestSpec"),
  },
  TokenRequestSpec: {
    1: list("audiences", "string"),
    4: pointer("expirationSeconds", "int64"),
    3: field("boundObjectRef", "BoundObjectReference"),
  },
};
