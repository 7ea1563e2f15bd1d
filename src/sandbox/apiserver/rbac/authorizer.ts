// RBAC as upstream's authorizer evaluates it (k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac):
// a request is allowed when a rule of a role bound to the user, one of its groups, or (for a
// service account) its ServiceAccount allows it; ClusterRoleBindings apply everywhere,
// RoleBindings only in their namespace. Nothing is ever denied explicitly. The bindings are
// indexed by subject when they change, so a request costs a few map lookups, not a scan.

/** The attributes of a request, as upstream's authorizer.Attributes (RequestInfo + user). */
export interface Attributes {
  /** A resource request (get pods, create services/status, ...) or a non-resource path. */
  resourceRequest: boolean;
  verb: string;
  apiGroup: string;
  apiVersion?: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** For non-resource requests. */
  path: string;
}

export interface User {
  name: string;
  uid?: string;
  groups: string[];
}

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup?: string;
  kind: string;
  name: string;
}

interface RbacObject {
  metadata: { name?: string; namespace?: string; deletionTimestamp?: string };
}
export interface RoleObject extends RbacObject {
  rules?: PolicyRule[] | null;
}
export interface BindingObject extends RbacObject {
  roleRef: RoleRef;
  subjects?: Subject[] | null;
}

export interface Decision {
  allowed: boolean;
  /** Why not, when an error (a binding to a missing role) may have cost a grant; else "". */
  reason: string;
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes("*") || list.includes(v));

/** Upstream's ResourceMatches: "*", the exact resource, "pods/status", or "*\/status". */
function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === "*") return true;
    if (!subresource) {
      if (r === resource) return true;
      continue;
    }
    if (r === `${resource}/${subresource}`) return true;
    if (r === `*/${subresource}`) return true;
  }
  return false;
}

/** Upstream's NonResourceURLMatches: exact, or a prefix ending in "*". */
function pathMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === "*" || u === path) return true;
    if (u.endsWith("*") && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return pathMatches(rule, a.path);
  if (!has(rule.apiGroups, a.apiGroup) || !resourceMatches(rule, a.resource, a.subresource)) return false;
  // resourceNames restrict requests that name an object; an empty list allows any.
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(a.name);
}

/** A binding after resolution: where it applies ("" = cluster-wide) and its role's rules. */
interface Grant {
  namespace: string;
  /** The rules of the bound role; undefined when the role does not exist. */
  rules: PolicyRule[] | undefined;
  /** Upstream's error for a missing role, e.g. `clusterrole.rbac.authorization.k8s.io "x" not found`. */
  missing: string;
}

export class RbacAuthorizer {
  /** Subject key ("user:alice", "group:system:masters") -> grants. */
  private bySubject = new Map<string, Grant[]>();
  private roles = new Map<string, RoleObject>();
  private clusterRoles = new Map<string, RoleObject>();

  /** Rebuilds the index from the four kinds' current objects (call on every change). */
  load(
    roles: RoleObject[],
    clusterRoles: RoleObject[],
    roleBindings: BindingObject[],
    clusterRoleBindings: BindingObject[],
  ): void {
    this.roles = new Map(roles.map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r]));
    this.clusterRoles = new Map(clusterRoles.map((r) => [r.metadata.name!, r]));
    const index = new Map<string, Grant[]>();
    const add = (b: BindingObject, namespace: string) => {
      const grant: Grant = {
        namespace,
        rules: this.rulesOf(b.roleRef, namespace),
        missing: `${b.roleRef.kind.toLowerCase()}.rbac.authorization.k8s.io "${b.roleRef.name}" not found`,
      };
      for (const s of b.subjects ?? []) {
        const key = subjectKey(s, b.metadata.namespace);
        if (!key) continue;
        const list = index.get(key) ?? [];
        list.push(grant);
        index.set(key, list);
      }
    };
    for (const b of clusterRoleBindings) if (b.roleRef?.kind === "ClusterRole") add(b, "");
    for (const b of roleBindings) add(b, b.metadata.namespace ?? "");
    this.bySubject = index;
  }

  private rulesOf(ref: RoleRef, namespace: string): PolicyRule[] | undefined {
    const role =
      ref.kind === "Role" ? this.roles.get(`${namespace}/${ref.name}`) : this.clusterRoles.get(ref.name);
    return role ? (role.rules ?? []) : undefined;
  }

  /** The grants that apply to `user` (cluster-wide ones, and RoleBindings of any namespace). */
  private grantsOf(user: User): Grant[] {
    const out: Grant[] = [...(this.bySubject.get(`user:${user.name}`) ?? [])];
    for (const g of user.groups) out.push(...(this.bySubject.get(`group:${g}`) ?? []));
    return out;
  }

  authorize(user: User, a: Attributes): Decision {
    const errors: string[] = [];
    for (const g of this.grantsOf(user)) {
      // RoleBindings grant inside their namespace only (and never non-resource URLs).
      if (g.namespace && (!a.resourceRequest || g.namespace !== a.namespace)) continue;
      if (!g.rules) {
        errors.push(g.missing);
        continue;
      }
      if (g.rules.some((r) => ruleAllows(r, a))) return { allowed: true, reason: "" };
    }
    const unique = [...new Set(errors)];
    return {
      allowed: false,
      reason:
        unique.length === 0
          ? ""
          : unique.length === 1
            ? `RBAC: ${unique[0]}`
            : `RBAC: [${unique.join(", ")}]`,
    };
  }

  /** Every rule that applies to `user` in `namespace` (for SelfSubjectRulesReview). */
  rulesFor(user: User, namespace: string): PolicyRule[] {
    const out: PolicyRule[] = [];
    for (const g of this.grantsOf(user)) {
      if (g.namespace && g.namespace !== namespace) continue;
      out.push(...(g.rules ?? []));
    }
    return out;
  }
}

/** How a subject is looked up: users and service accounts by user name, groups by group. */
function subjectKey(s: Subject, bindingNamespace: string | undefined): string | undefined {
  switch (s.kind) {
    case "User":
      return `user:${s.name}`;
    case "Group":
      return `group:${s.name}`;
    case "ServiceAccount": {
      const ns = s.namespace || bindingNamespace;
      return ns ? `user:system:serviceaccount:${ns}:${s.name}` : undefined;
    }
    default:
      return undefined;
  }
}
