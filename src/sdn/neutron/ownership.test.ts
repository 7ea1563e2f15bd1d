import assert from "node:assert/strict";
import { test } from "node:test";
import { describe, ownershipOf } from "./ownership.ts";

const pod = {
  kind: "Pod" as const,
  namespace: "default",
  name: "nginx",
  uid: "0b9e6f4c-3f1e-4a59-9d3c-7f1a2b3c4d5e",
};

test("an owner written into a description reads back, with its marks", () => {
  const d = describe("c1", pod);
  assert.equal(d, "raven cluster=c1 kind=Pod uid=0b9e6f4c-3f1e-4a59-9d3c-7f1a2b3c4d5e ns=default");
  assert.deepEqual(ownershipOf(d, "nginx"), { clusterId: "c1", owner: pod });
  const svc = { kind: "Service" as const, namespace: "default", name: "demo", uid: "u2" };
  assert.deepEqual(ownershipOf(describe("c1", svc, { role: "load-balancer", name: "demo" }), ""), {
    clusterId: "c1",
    owner: svc,
    role: "load-balancer",
  });
  const cluster = { kind: "Cluster" as const, namespace: "", name: "cluster", uid: "cluster" };
  assert.deepEqual(ownershipOf(describe("c1", cluster, { purpose: "external" }), "raven-external"), {
    clusterId: "c1",
    owner: { ...cluster, name: "raven-external" },
    purpose: "external",
  });
  const np = { kind: "NetworkPolicy" as const, namespace: "x", name: "deny", uid: "u3" };
  const g = describe("c1", np, { name: "deny", isolates: ["ingress", "egress"] });
  assert.match(g, / isolates=ingress\/egress$/);
  assert.deepEqual(ownershipOf(g, "raven-np-x-deny"), {
    clusterId: "c1",
    owner: np,
    isolates: ["ingress", "egress"],
  });
});

test("descriptions that are not Raven's own are nobody's", () => {
  for (const d of [
    undefined,
    "",
    "created by hand",
    "raven",
    "raven cluster=c1 kind=Pod",
    "raven cluster=c1 kind=Vm uid=x",
  ])
    assert.equal(ownershipOf(d, "x"), undefined, String(d));
});

test("a value that would break the format is refused rather than written", () => {
  assert.throws(() => describe("c 1", pod), /characters/);
  assert.throws(() => describe("c1", { ...pod, namespace: "a=b c" }), /characters/);
});
