import assert from "node:assert/strict";
import { test } from "node:test";
import { fromLabelSelector } from "../../kube/labels.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { controllerIndex, planClaims } from "./owner-claims.ts";

const owner: KubeObject = { metadata: { name: "rs", namespace: "ns", uid: "me" } };
const ref = (uid: string) => [
  { apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid, controller: true },
];
const obj = (name: string, labels: Record<string, string>, extra: any = {}): KubeObject => ({
  metadata: { name, namespace: "ns", labels, ...extra },
});
const selector = fromLabelSelector({ matchLabels: { app: "web" } });
const names = (list: KubeObject[]) => list.map((o) => o.metadata.name);

test("owned and matching, orphans to adopt, owned but not matching to release", () => {
  const plan = planClaims(owner, selector, [
    obj("mine", { app: "web" }, { ownerReferences: ref("me") }),
    obj("orphan", { app: "web" }),
    obj("strayed", { app: "db" }, { ownerReferences: ref("me") }),
    obj("theirs", { app: "web" }, { ownerReferences: ref("other") }),
    obj("unrelated-orphan", { app: "db" }),
    obj("dying-orphan", { app: "web" }, { deletionTimestamp: "2025-01-01T00:00:00Z" }),
    { metadata: { name: "elsewhere", namespace: "other", labels: { app: "web" } } },
  ]);
  assert.deepEqual(names(plan.owned), ["mine"]);
  assert.deepEqual(names(plan.adopt), ["orphan"]);
  assert.deepEqual(names(plan.release), ["strayed"]);
});

test("an owner being deleted neither adopts nor releases", () => {
  const dying = { metadata: { ...owner.metadata, deletionTimestamp: "2025-01-01T00:00:00Z" } };
  const plan = planClaims(dying, selector, [
    obj("mine", { app: "web" }, { ownerReferences: ref("me") }),
    obj("orphan", { app: "web" }),
    obj("strayed", { app: "db" }, { ownerReferences: ref("me") }),
  ]);
  assert.deepEqual(names(plan.owned), ["mine"]);
  assert.deepEqual(plan.adopt, []);
  assert.deepEqual(plan.release, []);
});

test("the controller index files objects under their controller's UID, orphans per namespace", () => {
  assert.deepEqual(controllerIndex(obj("a", {}, { ownerReferences: ref("u1") })), ["u1"]);
  assert.deepEqual(controllerIndex(obj("b", {})), ["orphan:ns"]);
  const nonController = [{ apiVersion: "v1", kind: "ConfigMap", name: "c", uid: "u2" }];
  assert.deepEqual(controllerIndex(obj("c", {}, { ownerReferences: nonController })), ["orphan:ns"]);
});
