import assert from "node:assert/strict";
import { test } from "node:test";
import { type Attributes, type BindingObject, RbacAuthorizer, type RoleObject } from "./authorizer.ts";

const res = (verb: string, resource: string, o: Partial<Attributes> = {}): Attributes => ({
  resourceRequest: true,
  verb,
  apiGroup: "",
  resource,
  subresource: "",
  namespace: "",
  name: "",
  path: "",
  ...o,
});
const path = (verb: string, p: string): Attributes => ({ ...res(verb, ""), resourceRequest: false, path: p });

const role = (name: string, rules: RoleObject["rules"], namespace?: string): RoleObject => ({
  metadata: { name, namespace },
  rules,
});
const bind = (
  name: string,
  ref: BindingObject["roleRef"],
  subjects: BindingObject["subjects"],
  namespace?: string,
): BindingObject => ({
  metadata: { name, namespace },
  roleRef: ref,
  subjects,
});

function policy(): RbacAuthorizer {
  const a = new RbacAuthorizer();
  a.load(
    [
      role(
        "pod-reader",
        [{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] }],
        "team",
      ),
    ],
    [
      role("lease-one", [
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          resourceNames: ["mine"],
          verbs: ["get", "update"],
        },
      ]),
      role("scaler", [{ apiGroups: ["apps"], resources: ["*/scale"], verbs: ["update"] }]),
      role("status", [{ apiGroups: [""], resources: ["pods/status"], verbs: ["patch"] }]),
      role("health", [{ nonResourceURLs: ["/healthz", "/apis/*"], verbs: ["get"] }]),
    ],
    [
      bind("readers", { kind: "Role", name: "pod-reader" }, [{ kind: "User", name: "alice" }], "team"),
      bind(
        "lease",
        { kind: "ClusterRole", name: "lease-one" },
        [{ kind: "ServiceAccount", name: "ctl" }],
        "kube-system",
      ),
      bind("dangling", { kind: "Role", name: "gone" }, [{ kind: "User", name: "alice" }], "team"),
    ],
    [
      bind("scalers", { kind: "ClusterRole", name: "scaler" }, [{ kind: "Group", name: "ops" }]),
      bind("status", { kind: "ClusterRole", name: "status" }, [
        { kind: "ServiceAccount", name: "kubelet", namespace: "kube-system" },
      ]),
      bind("health", { kind: "ClusterRole", name: "health" }, [
        { kind: "Group", name: "system:authenticated" },
      ]),
    ],
  );
  return a;
}

const alice = { name: "alice", groups: ["system:authenticated"] };
const sa = (ns: string, name: string) => ({
  name: `system:serviceaccount:${ns}:${name}`,
  groups: ["system:serviceaccounts"],
});

test("a RoleBinding grants in its own namespace only", () => {
  const a = policy();
  assert.equal(a.authorize(alice, res("list", "pods", { namespace: "team" })).allowed, true);
  assert.equal(
    a.authorize(alice, res("get", "pods", { namespace: "team", subresource: "log", name: "x" })).allowed,
    true,
  );
  assert.equal(a.authorize(alice, res("list", "pods", { namespace: "other" })).allowed, false);
  assert.equal(a.authorize(alice, res("list", "pods")).allowed, false, "not across namespaces");
  assert.equal(a.authorize(alice, res("delete", "pods", { namespace: "team" })).allowed, false);
  assert.equal(
    a.authorize(alice, res("patch", "pods", { namespace: "team", subresource: "status" })).allowed,
    false,
    "pods does not cover pods/status",
  );
});

test("resourceNames restrict to the named objects; a ServiceAccount subject matches its user name", () => {
  const a = policy();
  const ctl = sa("kube-system", "ctl");
  const lease = (verb: string, name: string) =>
    res(verb, "leases", { apiGroup: "coordination.k8s.io", namespace: "kube-system", name });
  assert.equal(a.authorize(ctl, lease("update", "mine")).allowed, true);
  assert.equal(a.authorize(ctl, lease("update", "other")).allowed, false);
  assert.equal(a.authorize(ctl, lease("create", "")).allowed, false, "a create names no object");
  assert.equal(
    a.authorize(sa("default", "ctl"), lease("update", "mine")).allowed,
    false,
    "another namespace's ctl",
  );
});

test("groups, */subresource and resource/subresource rules, non-resource paths", () => {
  const a = policy();
  const ops = { name: "bob", groups: ["ops"] };
  assert.equal(
    a.authorize(ops, res("update", "deployments", { apiGroup: "apps", namespace: "x", subresource: "scale" }))
      .allowed,
    true,
  );
  assert.equal(
    a.authorize(ops, res("update", "deployments", { apiGroup: "apps", namespace: "x" })).allowed,
    false,
  );
  assert.equal(
    a.authorize(sa("kube-system", "kubelet"), res("patch", "pods", { namespace: "x", subresource: "status" }))
      .allowed,
    true,
  );
  assert.equal(a.authorize(alice, path("get", "/healthz")).allowed, true);
  assert.equal(a.authorize(alice, path("get", "/apis/apps/v1")).allowed, true, "a trailing * is a prefix");
  assert.equal(a.authorize(alice, path("get", "/metrics")).allowed, false);
  assert.equal(a.authorize(alice, path("post", "/healthz")).allowed, false);
});

test("a binding to a missing role is the reason a denial gives", () => {
  const a = policy();
  assert.deepEqual(a.authorize(alice, res("create", "secrets", { namespace: "team" })), {
    allowed: false,
    reason: 'RBAC: role.rbac.authorization.k8s.io "gone" not found',
  });
  assert.deepEqual(a.authorize(alice, res("create", "secrets", { namespace: "x" })), {
    allowed: false,
    reason: "",
  });
});

test("the rules that apply to a user in a namespace", () => {
  const a = policy();
  const rules = a.rulesFor(alice, "team");
  assert.deepEqual(
    rules.map((r) => (r.resources ?? r.nonResourceURLs)?.join(",")),
    ["pods,pods/log", "/healthz,/apis/*"],
  );
  assert.deepEqual(a.rulesFor(alice, "other").length, 1);
});
