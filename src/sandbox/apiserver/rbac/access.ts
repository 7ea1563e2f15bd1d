// Who a request acts as, and whether it may: the bearer token's user, then impersonation
// (`kubectl --as`, Impersonate-* headers, each allowed by an `impersonate` grant), then RBAC
// on the request's attributes. system:masters is allowed everything, as upstream's
// privileged-group short cut. Denials are 403s in Kubernetes' own words.
import type { IncomingMessage } from "node:http";
import { type ApiError, errBadRequest, errForbidden } from "../errors.ts";
import type { Attributes, Decision, User } from "./authorizer.ts";
import { PRIVILEGED_GROUP } from "./bootstrap-policy.ts";

export interface Authorizer {
  authorize(user: User, a: Attributes): Decision;
}

const SA_PREFIX = "system:serviceaccount:";

export function allows(authz: Authorizer, user: User, a: Attributes): Decision {
  if (user.groups.includes(PRIVILEGED_GROUP)) return { allowed: true, reason: "" };
  return authz.authorize(user, a);
}

/** Upstream's forbiddenMessage + NewForbidden: `pods "x" is forbidden: User "u" cannot get resource ...`. */
export function forbiddenError(user: User, a: Attributes, reason = ""): ApiError {
  let what: string;
  if (!a.resourceRequest) what = `User "${user.name}" cannot ${a.verb} path "${a.path}"`;
  else {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const where = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
    what = `User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${where}`;
  }
  const why = reason ? `${what}: ${reason}` : what;
  if (!a.resourceRequest) return errForbidden(`forbidden: ${why}`, {});
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const message = a.name
    ? `${qualified} "${a.name}" is forbidden: ${why}`
    : `${qualified} is forbidden: ${why}`;
  return errForbidden(message, { group: a.apiGroup, kind: a.resource, ...(a.name ? { name: a.name } : {}) });
}

/** Throws the 403 unless `user` may do `a`. */
export function authorizeOrThrow(authz: Authorizer, user: User, a: Attributes): void {
  const d = allows(authz, user, a);
  if (!d.allowed) throw forbiddenError(user, a, d.reason);
}

const header = (req: IncomingMessage, name: string): string[] => {
  const v = req.headers[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v])
    .flatMap((x) => x.split(","))
    .map((x) => x.trim())
    .filter(Boolean);
};

/**
 * The user a request acts as: `authenticated`, or whom it impersonates if the headers say so
 * and `authenticated` may (upstream's impersonation filter: users, groups, service accounts,
 * uids and extras each need their own `impersonate` grant).
 */
export function effectiveUser(req: IncomingMessage, authenticated: User, authz: Authorizer): User {
  const [asUser] = header(req, "impersonate-user");
  const asGroups = header(req, "impersonate-group");
  const [asUid] = header(req, "impersonate-uid");
  const extras = Object.keys(req.headers).filter((h) => h.startsWith("impersonate-extra-"));
  if (!asUser) {
    if (asGroups.length || asUid || extras.length)
      throw errBadRequest("requested impersonation of groups, uid or extras without impersonating a user");
    return authenticated;
  }
  const check = (a: Omit<Attributes, "resourceRequest" | "verb" | "subresource" | "path">) =>
    authorizeOrThrow(authz, authenticated, {
      ...a,
      resourceRequest: true,
      verb: "impersonate",
      subresource: "",
      path: "",
    });
  const groups = [...asGroups];
  if (asUser.startsWith(SA_PREFIX)) {
    const [namespace, name] = asUser.slice(SA_PREFIX.length).split(":");
    check({ apiGroup: "", resource: "serviceaccounts", namespace, name });
    groups.push("system:serviceaccounts", `system:serviceaccounts:${namespace}`);
  } else check({ apiGroup: "", resource: "users", namespace: "", name: asUser });
  for (const g of asGroups) check({ apiGroup: "", resource: "groups", namespace: "", name: g });
  if (asUid) check({ apiGroup: "authentication.k8s.io", resource: "uids", namespace: "", name: asUid });
  for (const h of extras)
    check({
      apiGroup: "authentication.k8s.io",
      resource: "userextras",
      namespace: "",
      name: decodeURIComponent(h.slice("impersonate-extra-".length)),
    });
  // As upstream: an impersonated user is authenticated (unless it is the anonymous user).
  groups.push(asUser === "system:anonymous" ? "system:unauthenticated" : "system:authenticated");
  return { name: asUser, uid: asUid, groups: [...new Set(groups)] };
}

/** The user each admitted request acts as (for the handlers that need it: reviews, audit). */
export const requestUsers = new WeakMap<IncomingMessage, User>();
