// A small RBAC evaluator over the project's manifests (ClusterRoles/Roles bound to one
// ServiceAccount), to check recorded API requests against what the manifests grant.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  /** Set for rules from a namespaced Role. */
  namespace?: string;
}

export interface Request {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

/** The rules granted to `namespace/serviceAccount` by the manifests in `file`. */
export function rulesFor(file: string, namespace: string, serviceAccount: string): Rule[] {
  const docs = parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJSON())
    .filter(Boolean);
  const roles = new Map<string, any>();
  for (const d of docs)
    if (d.kind === "ClusterRole" || d.kind === "Role")
      roles.set(`${d.kind}/${d.metadata.namespace ?? ""}/${d.metadata.name}`, d);
  const rules: Rule[] = [];
  for (const b of docs) {
    if (b.kind !== "ClusterRoleBinding" && b.kind !== "RoleBinding") continue;
    const bound = (b.subjects ?? []).some(
      (s: any) => s.kind === "ServiceAccount" && s.name === serviceAccount && s.namespace === namespace,
    );
    if (!bound) continue;
    const roleNs = b.roleRef.kind === "Role" ? b.metadata.namespace : "";
    const role = roles.get(`${b.roleRef.kind}/${roleNs}/${b.roleRef.name}`);
    if (!role)
      throw new Error(`${b.kind} ${b.metadata.name} refers to a missing ${b.roleRef.kind} ${b.roleRef.name}`);
    for (const r of role.rules ?? [])
      rules.push({ ...r, namespace: b.kind === "RoleBinding" ? b.metadata.namespace : undefined });
  }
  return rules;
}

const has = (list: string[] | undefined, v: string) => (list ?? []).includes("*") || (list ?? []).includes(v);

export function ruleAllows(r: Rule, q: Request): boolean {
  if (r.namespace !== undefined && r.namespace !== q.namespace) return false;
  const resource = q.subresource ? `${q.resource}/${q.subresource}` : q.resource;
  if (!has(r.apiGroups, q.apiGroup) || !has(r.resources, resource) || !has(r.verbs, q.verb)) return false;
  // resourceNames cannot restrict list, watch or create (the request names no object).
  if (r.resourceNames?.length) return Boolean(q.name) && r.resourceNames.includes(q.name);
  return true;
}

export const allowed = (rules: Rule[], q: Request) => rules.some((r) => ruleAllows(r, q));
