import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject, OwnerReference } from "../../kube/objects.ts";
import type { ApiResource } from "../../kube/resource.ts";
import { decide, nodeFor, OwnerGraph } from "./owner-graph.ts";

const CM: ApiResource = { group: "", version: "v1", plural: "configmaps", namespaced: true };
const POD: ApiResource = { group: "", version: "v1", plural: "pods", namespaced: true };
const NODE: ApiResource = { group: "", version: "v1", plural: "nodes", namespaced: false };

function obj(
  uid: string,
  opts: { ns?: string; owners?: OwnerReference[]; deleting?: boolean; finalizers?: string[] } = {},
): KubeObject {
  return {
    metadata: {
      name: `n-${uid}`,
      namespace: opts.ns ?? "a",
      uid,
      ownerReferences: opts.owners,
      deletionTimestamp: opts.deleting ? "2026-01-01T00:00:00Z" : undefined,
      finalizers: opts.finalizers,
    },
  };
}

const ref = (uid: string, block = false): OwnerReference => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  name: `n-${uid}`,
  uid,
  blockOwnerDeletion: block,
});

test("a dependent whose owner is known is left alone; one whose owner is unknown is queued", () => {
  const g = new OwnerGraph();
  assert.deepEqual(g.observe(obj("o"), CM), []);
  assert.deepEqual(g.observe(obj("d1", { owners: [ref("o")] }), POD), []);
  assert.deepEqual(g.observe(obj("d2", { owners: [ref("ghost")] }), POD), ["d2"]);
  assert.deepEqual(
    g.dependents("o").map((n) => n.uid),
    ["d1"],
  );
});

test("forgetting an owner queues its dependents, even ones observed before it", () => {
  const g = new OwnerGraph();
  g.observe(obj("d1", { owners: [ref("o")] }), POD);
  g.observe(obj("d2", { owners: [ref("o"), ref("other")] }), POD);
  g.observe(obj("o"), CM);
  assert.deepEqual(g.forget("o").sort(), ["d1", "d2"]);
  assert.equal(g.get("o"), undefined);
  assert.deepEqual(g.forget("o"), []);
});

test("an owner entering foreground deletion is queued; so are its dependents observed later", () => {
  const g = new OwnerGraph();
  g.observe(obj("o"), CM);
  g.observe(obj("d", { owners: [ref("o", true)] }), POD);
  assert.deepEqual(g.observe(obj("o", { deleting: true, finalizers: ["foregroundDeletion"] }), CM), ["o"]);
  assert.equal(g.get("o")!.deletingDependents, true);
  assert.deepEqual(
    g.blockingDependents("o").map((n) => n.uid),
    ["d"],
  );
  // A new dependent of an owner being deleted in the foreground must go too.
  assert.deepEqual(g.observe(obj("d3", { owners: [ref("o")] }), POD), ["d3"]);
  // The same state again is no news.
  assert.deepEqual(g.observe(obj("o", { deleting: true, finalizers: ["foregroundDeletion"] }), CM), []);
});

test("a blocking dependent that goes, or stops blocking, queues its foreground-deleted owner", () => {
  const g = new OwnerGraph();
  g.observe(obj("o", { deleting: true, finalizers: ["foregroundDeletion"] }), CM);
  g.observe(obj("d1", { owners: [ref("o", true)] }), POD);
  g.observe(obj("d2", { owners: [ref("o", true)] }), POD);
  assert.deepEqual(g.forget("d1"), ["o"]);
  // d2 itself is queued too: its owner wants it gone.
  assert.deepEqual(g.observe(obj("d2", { owners: [ref("o", false)] }), POD), ["o", "d2"]);
  assert.deepEqual(g.blockingDependents("o"), []);
  assert.equal(g.dependents("o").length, 1);
  // Dropping the reference altogether unlinks it.
  g.observe(obj("d2"), POD);
  assert.equal(g.dependents("o").length, 0);
});

test("an owner entering orphan deletion is queued", () => {
  const g = new OwnerGraph();
  g.observe(obj("o"), CM);
  assert.deepEqual(g.observe(obj("o", { deleting: true, finalizers: ["orphan"] }), CM), ["o"]);
  assert.equal(g.get("o")!.orphaning, true);
});

test("a namespaced owner only counts in its dependent's namespace", () => {
  const g = new OwnerGraph();
  g.observe(obj("o", { ns: "a" }), CM);
  assert.deepEqual(g.observe(obj("d", { ns: "b", owners: [ref("o")] }), POD), ["d"]);
  assert.equal(g.ownerOf(g.get("d")!, { uid: "o" }), undefined);
  assert.deepEqual(g.dependents("o"), []);
  // A cluster-scoped owner counts everywhere.
  g.observe({ metadata: { name: "node1", uid: "n" } }, NODE);
  assert.deepEqual(
    g.observe(
      obj("d4", { ns: "b", owners: [{ apiVersion: "v1", kind: "Node", name: "node1", uid: "n" }] }),
      POD,
    ),
    [],
  );
  assert.equal(g.get("n")!.namespace, "");
});

test("nodes keep only what ownership needs", () => {
  const n = nodeFor(
    {
      metadata: { name: "p", namespace: "a", uid: "u", labels: { x: "y" } },
      spec: { big: "x".repeat(1000) },
    },
    POD,
  );
  assert.deepEqual(Object.keys(n).sort(), [
    "beingDeleted",
    "deletingDependents",
    "name",
    "namespace",
    "orphaning",
    "owners",
    "resource",
    "uid",
  ]);
});

test("the graph holds 10,000 pods of 100 owners", () => {
  const g = new OwnerGraph();
  for (let i = 0; i < 100; i++) g.observe(obj(`rs${i}`), CM);
  for (let i = 0; i < 10_000; i++) g.observe(obj(`p${i}`, { owners: [ref(`rs${i % 100}`, true)] }), POD);
  assert.equal(g.size, 10_100);
  assert.equal(g.dependents("rs7").length, 100);
  assert.equal(g.forget("rs7").length, 100);
});

test("decide: solid owners keep an object and lose their dangling siblings", () => {
  const item = { finalizers: [], hasDependents: false };
  assert.deepEqual(decide([], item), { action: "keep" });
  assert.deepEqual(decide([{ uid: "a", state: "solid" }], item), { action: "keep" });
  assert.deepEqual(
    decide(
      [
        { uid: "a", state: "solid" },
        { uid: "b", state: "dangling" },
        { uid: "c", state: "waiting" },
      ],
      item,
    ),
    { action: "removeOwnerRefs", uids: ["b", "c"] },
  );
});

test("decide: without a solid owner the object goes, with the right propagation", () => {
  const dangling = [{ uid: "a", state: "dangling" as const }];
  const waiting = [{ uid: "a", state: "waiting" as const }];
  const plain = { finalizers: [], hasDependents: false };
  assert.deepEqual(decide(dangling, plain), { action: "delete", propagationPolicy: "Background" });
  assert.deepEqual(decide(waiting, plain), { action: "delete", propagationPolicy: "Background" });
  assert.deepEqual(decide(waiting, { finalizers: [], hasDependents: true }), {
    action: "delete",
    propagationPolicy: "Foreground",
  });
  assert.deepEqual(decide(dangling, { finalizers: ["orphan"], hasDependents: true }), {
    action: "delete",
    propagationPolicy: "Orphan",
  });
  assert.deepEqual(decide(dangling, { finalizers: ["foregroundDeletion"], hasDependents: false }), {
    action: "delete",
    propagationPolicy: "Foreground",
  });
});
