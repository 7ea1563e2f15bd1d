// The review resources: a POST is answered from the policy and nothing is stored.
// SelfSubjectAccessReview (`kubectl auth can-i`), SubjectAccessReview, LocalSubjectAccessReview,
// SelfSubjectRulesReview (`kubectl auth can-i --list`) and SelfSubjectReview (`kubectl auth
// whoami`), as authorization.k8s.io/v1 and authentication.k8s.io/v1 define them.
import type { KubeObject } from "../../../kube/objects.ts";
import { errBadRequest, errInvalid, invalid, required } from "../errors.ts";
import { allows } from "../rbac/access.ts";
import type { Attributes, PolicyRule, User } from "../rbac/authorizer.ts";
import type { ResourceDef } from "../types.ts";

export interface ReviewPolicy {
  authorize(user: User, a: Attributes): { allowed: boolean; reason: string };
  rulesFor(user: User, namespace: string): PolicyRule[];
}

/** The attributes a review asks about (spec.resourceAttributes or spec.nonResourceAttributes). */
function attributesOf(def: ResourceDef, spec: any): Attributes {
  const r = spec?.resourceAttributes;
  const n = spec?.nonResourceAttributes;
  if (r && n)
    throw errInvalid(def.kind, def.group, "", [
      invalid("spec.nonResourceAttributes", n, "cannot be specified in combination with resourceAttributes"),
    ]);
  if (n)
    return {
      resourceRequest: false,
      verb: n.verb ?? "",
      path: n.path ?? "",
      apiGroup: "",
      resource: "",
      subresource: "",
      namespace: "",
      name: "",
    };
  if (r)
    return {
      resourceRequest: true,
      verb: r.verb ?? "",
      apiGroup: r.group ?? "",
      apiVersion: r.version,
      resource: r.resource ?? "",
      subresource: r.subresource ?? "",
      namespace: r.namespace ?? "",
      name: r.name ?? "",
      path: "",
    };
  throw errInvalid(def.kind, def.group, "", [
    required(
      "spec.resourceAttributes",
      "exactly one of nonResourceAttributes or resourceAttributes must be specified",
    ),
  ]);
}

function decide(policy: ReviewPolicy, user: User, a: Attributes) {
  const d = allows(policy, user, a);
  return d.allowed ? { allowed: true } : { allowed: false, ...(d.reason ? { reason: d.reason } : {}) };
}

/** Answers a review POSTed by `requester` (the effective user, after impersonation). */
export function answerReview(
  def: ResourceDef,
  namespace: string,
  body: KubeObject,
  requester: User,
  policy: ReviewPolicy,
): KubeObject {
  const spec: any = (body as any).spec ?? {};
  const out: any = {
    kind: def.kind,
    apiVersion: `${def.group}/${def.version}`,
    metadata: { ...(body.metadata ?? {}), creationTimestamp: null },
    spec,
  };
  switch (def.plural) {
    case "selfsubjectaccessreviews":
      out.status = decide(policy, requester, attributesOf(def, spec));
      return out;
    case "subjectaccessreviews":
    case "localsubjectaccessreviews": {
      if (!spec.user && !(spec.groups ?? []).length)
        throw errInvalid(def.kind, def.group, "", [
          required("spec.user", "at least one of user or group must be specified"),
        ]);
      const a = attributesOf(def, spec);
      if (def.plural === "localsubjectaccessreviews" && a.namespace !== namespace)
        throw errInvalid(def.kind, def.group, "", [
          invalid(
            "spec.resourceAttributes.namespace",
            a.namespace,
            `must match metadata.namespace "${namespace}"`,
          ),
        ]);
      out.status = decide(policy, { name: spec.user ?? "", uid: spec.uid, groups: spec.groups ?? [] }, a);
      return out;
    }
    case "selfsubjectrulesreviews": {
      if (!spec.namespace) throw errBadRequest("no namespace on request");
      const rules = policy.rulesFor(requester, spec.namespace);
      out.status = {
        resourceRules: rules
          .filter((r) => !r.nonResourceURLs?.length)
          .map((r) => ({
            verbs: r.verbs,
            apiGroups: r.apiGroups ?? [],
            resources: r.resources ?? [],
            ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
          })),
        nonResourceRules: rules
          .filter((r) => r.nonResourceURLs?.length)
          .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
        incomplete: false,
      };
      return out;
    }
    case "selfsubjectreviews":
      delete out.spec;
      out.status = {
        userInfo: {
          username: requester.name,
          ...(requester.uid ? { uid: requester.uid } : {}),
          groups: requester.groups,
        },
      };
      return out;
    default:
      throw errBadRequest(`${def.plural} is not a review`);
  }
}
