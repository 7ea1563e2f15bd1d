import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { test } from "node:test";
import { ApiError } from "../errors.ts";
import { effectiveUser, forbiddenError } from "./access.ts";
import { type Attributes, RbacAuthorizer } from "./authorizer.ts";

const attrs = (o: Partial<Attributes>): Attributes => ({
  resourceRequest: true,
  verb: "get",
  apiGroup: "",
  resource: "pods",
  subresource: "",
  namespace: "",
  name: "",
  path: "",
  ...o,
});
const user = { name: "system:serviceaccount:kube-system:raven-controller", groups: [] };

test("403 messages are upstream's, word for word", () => {
  const m = (a: Partial<Attributes>, reason?: string) => forbiddenError(user, attrs(a), reason).message;
  assert.equal(
    m({ verb: "list", namespace: "default" }),
    'pods is forbidden: User "system:serviceaccount:kube-system:raven-controller" cannot list resource "pods" in API group "" in the namespace "default"',
  );
  assert.equal(
    m({ verb: "delete", resource: "namespaces", name: "kube-system", namespace: "kube-system" }),
    'namespaces "kube-system" is forbidden: User "system:serviceaccount:kube-system:raven-controller" cannot delete resource "namespaces" in API group "" in the namespace "kube-system"',
  );
  assert.equal(
    m({ verb: "create", apiGroup: "raven.io", resource: "ports", subresource: "status", name: "p" }),
    'ports.raven.io "p" is forbidden: User "system:serviceaccount:kube-system:raven-controller" cannot create resource "ports/status" in API group "raven.io" at the cluster scope',
  );
  assert.equal(
    forbiddenError(user, { ...attrs({}), resourceRequest: false, path: "/metrics" }).message,
    'forbidden: User "system:serviceaccount:kube-system:raven-controller" cannot get path "/metrics"',
  );
  assert.match(
    m({ verb: "list" }, 'RBAC: clusterrole.rbac.authorization.k8s.io "x" not found'),
    /at the cluster scope: RBAC: clusterrole/,
  );
  const e = forbiddenError(user, attrs({ verb: "get", name: "x", namespace: "d" }));
  assert.equal(e.code, 403);
  assert.deepEqual(e.toStatus().details, { group: "", kind: "pods", name: "x" });
  assert.equal(e.toStatus().reason, "Forbidden");
});

function request(headers: Record<string, string | string[]>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

function policy(): RbacAuthorizer {
  const a = new RbacAuthorizer();
  a.load(
    [],
    [
      {
        metadata: { name: "impersonator" },
        rules: [
          { apiGroups: [""], resources: ["users"], resourceNames: ["alice"], verbs: ["impersonate"] },
          { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] },
          { apiGroups: [""], resources: ["groups"], resourceNames: ["devs"], verbs: ["impersonate"] },
        ],
      },
    ],
    [],
    [
      {
        metadata: { name: "imp" },
        roleRef: { kind: "ClusterRole", name: "impersonator" },
        subjects: [{ kind: "User", name: "bob" }],
      },
    ],
  );
  return a;
}

const bob = { name: "bob", groups: ["system:authenticated"] };

test("impersonation: allowed users, groups and service accounts; everything else 403 in upstream's words", () => {
  const p = policy();
  assert.deepEqual(effectiveUser(request({}), bob, p), bob, "no headers: the user itself");
  assert.deepEqual(
    effectiveUser(request({ "impersonate-user": "alice", "impersonate-group": "devs" }), bob, p),
    {
      name: "alice",
      uid: undefined,
      groups: ["devs", "system:authenticated"],
    },
  );
  assert.deepEqual(
    effectiveUser(
      request({ "impersonate-user": "system:serviceaccount:kube-system:raven-controller" }),
      bob,
      p,
    ).groups,
    ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
  );
  assert.throws(
    () => effectiveUser(request({ "impersonate-user": "carol" }), bob, p),
    (e: unknown) =>
      e instanceof ApiError &&
      e.code === 403 &&
      e.message ===
        'users "carol" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope',
  );
  assert.throws(
    () =>
      effectiveUser(request({ "impersonate-user": "alice", "impersonate-group": "system:masters" }), bob, p),
    /groups "system:masters" is forbidden/,
  );
  assert.throws(
    () => effectiveUser(request({ "impersonate-group": "devs" }), bob, p),
    (e: unknown) => e instanceof ApiError && e.code === 400,
  );
  const masters = { name: "admin", groups: ["system:masters"] };
  assert.equal(effectiveUser(request({ "impersonate-user": "anyone" }), masters, p).name, "anyone");
});
