// The namespace reconciler, one scenario per test.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SdnError } from "../sdn/backend.ts";
import { ControllerFixture } from "./testing.ts";

test("a namespace gets a network (the default one the configured CIDR, others carved), and no finalizer", async () => {
  const f = new ControllerFixture();
  f.namespace("default");
  f.namespace("team-a");
  await f.namespaceReconciler.sync("default");
  await f.namespaceReconciler.sync("team-a");
  const { backend, api } = f.take();
  assert.deepEqual(backend, [
    "ensureNetwork default-net 192.168.0.0/24",
    "ensureNetwork team-a-net 192.168.1.0/24",
  ]);
  assert.deepEqual(api, []);
});

test("a terminating namespace's network goes once its last port is released; a legacy finalizer goes at once", async () => {
  const f = new ControllerFixture();
  f.pod("p", { namespace: "team" });
  await f.podReconciler.sync("team/p");
  f.take();
  f.update(f.namespaces, "team", (n) => {
    n.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    n.metadata.finalizers = ["raven.io/network-cleanup"];
  });
  const subnetId = f.backend.findNetwork("ns-team", "pods")!.subnet.id;
  await assert.rejects(
    f.namespaceReconciler.sync("team"),
    (e: unknown) => e instanceof SdnError && e.reason === "InUse",
  );
  assert.deepEqual(f.namespaces.get("team")!.metadata.finalizers, [], "the legacy finalizer is gone");
  assert.equal(f.namespaceReconciler.drainedBy(subnetId), "team", "due again when the subnet frees up");
  f.deletePod("team/p");
  await f.podReconciler.sync("team/p");
  await f.namespaceReconciler.sync("team");
  assert.deepEqual(f.take().backend, ["deletePort team/p 192.168.0.2", "deleteNetwork team-net"]);
  assert.equal(f.namespaceReconciler.drainedBy(subnetId), undefined);
});
