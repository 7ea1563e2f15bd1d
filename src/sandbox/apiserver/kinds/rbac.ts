// rbac.authorization.k8s.io/v1 strategies, with upstream's rules (pkg/apis/rbac/validation):
// names are path segments, rules need verbs and (for resources) API groups, bindings need a
// roleRef to a Role or ClusterRole that never changes, and subjects of known kinds.
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, invalid, notSupported, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { pathSegmentName } from "./names.ts";

const RBAC_GROUP = "rbac.authorization.k8s.io";

function validateRules(rules: unknown, allowNonResource: boolean): FieldError[] {
  const errs: FieldError[] = [];
  (Array.isArray(rules) ? rules : []).forEach((r: any, i: number) => {
    const path = `rules[${i}]`;
    if (!r?.verbs?.length) errs.push(required(`${path}.verbs`, "verbs must contain at least one value"));
    if (r?.nonResourceURLs?.length) {
      if (!allowNonResource)
        errs.push(
          invalid(
            `${path}.nonResourceURLs`,
            r.nonResourceURLs,
            "namespaced rules cannot apply to non-resource URLs",
          ),
        );
      if (r.apiGroups?.length || r.resources?.length || r.resourceNames?.length)
        errs.push(
          invalid(
            `${path}.nonResourceURLs`,
            r.nonResourceURLs,
            "rules cannot apply to both regular resources and non-resource URLs",
          ),
        );
      return;
    }
    if (!r?.apiGroups?.length)
      errs.push(required(`${path}.apiGroups`, "resource rules must supply at least one api group"));
    if (!r?.resources?.length)
      errs.push(required(`${path}.resources`, "resource rules must supply at least one resource"));
  });
  return errs;
}

function validateBinding(b: KubeObject, namespaced: boolean): FieldError[] {
  const errs = validateObjectMeta(b.metadata, { namespaced, nameValidator: pathSegmentName });
  const ref = (b as any).roleRef;
  const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!ref) errs.push(required("roleRef", ""));
  else {
    if (ref.apiGroup !== RBAC_GROUP)
      errs.push(notSupported("roleRef.apiGroup", ref.apiGroup ?? "", [RBAC_GROUP]));
    if (!kinds.includes(ref.kind)) errs.push(notSupported("roleRef.kind", ref.kind ?? "", kinds));
    if (!ref.name) errs.push(required("roleRef.name", ""));
    else for (const m of pathSegmentName(ref.name)) errs.push(invalid("roleRef.name", ref.name, m));
  }
  ((b as any).subjects ?? []).forEach((s: any, i: number) => {
    const path = `subjects[${i}]`;
    if (!s?.name) errs.push(required(`${path}.name`, ""));
    switch (s?.kind) {
      case "ServiceAccount":
        if (s.apiGroup) errs.push(notSupported(`${path}.apiGroup`, s.apiGroup, [""]));
        if (!namespaced && !s.namespace) errs.push(required(`${path}.namespace`, ""));
        break;
      case "User":
      case "Group":
        if (s.apiGroup !== RBAC_GROUP)
          errs.push(notSupported(`${path}.apiGroup`, s.apiGroup ?? "", [RBAC_GROUP]));
        break;
      default:
        errs.push(notSupported(`${path}.kind`, s?.kind ?? "", ["ServiceAccount", "User", "Group"]));
    }
  });
  return errs;
}

/** roleRef cannot change: a binding to another role is a new binding. */
function validateBindingUpdate(b: KubeObject, old: KubeObject): FieldError[] {
  const errs = validateObjectMetaUpdate(b.metadata, old.metadata);
  const ref = (b as any).roleRef ?? {};
  const before = (old as any).roleRef ?? {};
  if (ref.apiGroup !== before.apiGroup || ref.kind !== before.kind || ref.name !== before.name)
    errs.push(
      invalid(
        "roleRef",
        `rbac.RoleRef{APIGroup:"${ref.apiGroup ?? ""}", Kind:"${ref.kind ?? ""}", Name:"${ref.name ?? ""}"}`,
        "cannot change roleRef",
      ),
    );
  return errs;
}

/** Fills the apiGroup kubectl may leave out of User and Group subjects and of roleRef. */
function defaultBinding(b: KubeObject): void {
  const any = b as any;
  for (const s of any.subjects ?? [])
    if ((s.kind === "User" || s.kind === "Group") && s.apiGroup === undefined) s.apiGroup = RBAC_GROUP;
}

const roleStrategy = (namespaced: boolean): Strategy => ({
  hasStatus: false,
  tracksGeneration: false,
  validate: (r) => [
    ...validateObjectMeta(r.metadata, { namespaced, nameValidator: pathSegmentName }),
    ...validateRules((r as any).rules, !namespaced),
  ],
  validateUpdate: (r, old) => validateObjectMetaUpdate(r.metadata, old.metadata),
});

const bindingStrategy = (namespaced: boolean): Strategy => ({
  hasStatus: false,
  tracksGeneration: false,
  defaults: defaultBinding,
  validate: (b) => validateBinding(b, namespaced),
  validateUpdate: validateBindingUpdate,
});

export const roleStrategyNamespaced = roleStrategy(true);
export const clusterRoleStrategy = roleStrategy(false);
export const roleBindingStrategy = bindingStrategy(true);
export const clusterRoleBindingStrategy = bindingStrategy(false);
