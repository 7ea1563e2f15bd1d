// protobuf field numbers from k8s.io/api authorization/v1/generated.proto (k8s 1.33, as compiled into kubectl 1.33.1).
// The access reviews (`auth can-i`: SelfSubjectAccessReview; `auth can-i --list`: SelfSubjectRulesReview)
// and the subject reviews. `status` is left out: a client never sends it.
// The field selector and label selector attributes (8, 9) are left out too: kubectl sends none.
import type { MessageTable } from "./schema.ts";
import { field, list } from "./schema.ts";

const review = (spec: string) => ({ 1: field("metadata", "ObjectMeta"), 2: field("spec", spec) });

export const AUTHORIZATION_MESSAGES: MessageTable = {
  ResourceAttributes: {
    1: field("namespace", "string"),
    2: field("verb", "string"),
    3: field("group", "string"),
    4: field("version", "string"),
    5: field("resource", "string"),
    6: field("subresource", "string"),
    7: field("name", "string"),
  },
  NonResourceAttributes: {
    1: field("path", "string"),
    2: field("verb", "string"),
  },
  SelfSubjectAccessReview: review("SelfSubjectAccessReviewSpec"),
  SelfSubjectAccessReviewSpec: {
    1: field("resourceAttributes", "ResourceAttributes"),
    2: field("nonResourceAttributes", "NonResourceAttributes"),
  },
  SelfSubjectRulesReview: review("SelfSubjectRulesReviewSpec"),
  SelfSubjectRulesReviewSpec: {
    1: field("namespace", "string"),
  },
  SubjectAccessReview: review("SubjectAccessReviewSpec"),
  LocalSubjectAccessReview: review("SubjectAccessReviewSpec"),
  SubjectAccessReviewSpec: {
    1: field("resourceAttributes", "ResourceAttributes"),
    2: field("nonResourceAttributes", "NonResourceAttributes"),
    3: field("user", "string"),
    4: list("groups", "string"),
    // 5: extra, map<string, ExtraValue>: ExtraValue is a bare string list in JSON; no client here sends it.
    6: field("uid", "string"),
  },
};
