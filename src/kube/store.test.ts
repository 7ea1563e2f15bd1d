import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "./objects.ts";
import { Store } from "./store.ts";

const obj = (name: string, owners: string[]): KubeObject => ({
  metadata: {
    name,
    namespace: "ns",
    ownerReferences: owners.map((uid) => ({ apiVersion: "v1", kind: "X", name: uid, uid })),
  },
});

test("multi-value indexes follow updates and drop values nobody holds any more", () => {
  const store = new Store();
  store.addIndex("owner", (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid));
  store.set(obj("a", ["o1", "o2"]));
  store.set(obj("b", ["o2"]));
  assert.deepEqual(store.indexKeys("owner", "o2").sort(), ["ns/a", "ns/b"]);
  assert.equal(
    store.set(obj("a", ["o3"]))?.metadata.ownerReferences?.length,
    2,
    "answers the previous object",
  );
  assert.deepEqual(store.indexValues("owner").sort(), ["o2", "o3"]);
  assert.deepEqual(store.byIndex("owner", "o1"), []);
  assert.equal(store.delete("ns/b")?.metadata.name, "b");
  assert.deepEqual(store.indexValues("owner"), ["o3"]);
  assert.equal(store.delete("ns/missing"), undefined);
  assert.throws(() => store.byIndex("nope", "x"), /does not exist/);
  assert.throws(() => store.addIndex("owner", () => []), /already exists/);
});
