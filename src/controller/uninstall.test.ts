import assert from "node:assert/strict";
import { test } from "node:test";
import { ControllerFixture } from "./testing.ts";
import { uninstall } from "./uninstall.ts";

test("uninstall releases every backend object and takes Raven's annotations, ingress and legacy finalizers off", async () => {
  const f = new ControllerFixture();
  await f.backend.ensureNetwork({
    owner: { kind: "Cluster", namespace: "", name: "cluster", uid: "cluster" },
    name: "raven-service",
    purpose: "services",
    cidr: "10.0.0.0/24",
  });
  await f.backend.ensureNetwork({
    owner: { kind: "Cluster", namespace: "", name: "cluster", uid: "cluster" },
    name: "raven-external",
    purpose: "external",
    cidr: "172.16.0.0/24",
  });
  f.namespace("default", { finalizers: ["raven.io/network-cleanup", "kubernetes"] });
  f.pod("web", { metadata: { finalizers: ["raven.io/port-cleanup"] } });
  f.service("web", { clusterIP: "10.0.0.9", type: "LoadBalancer", externalIPs: ["172.16.0.50"] });
  await f.podReconciler.sync("default/web");
  await f.serviceReconciler.sync("default/web");
  f.update(f.services, "default/web", (s) => {
    s.metadata.finalizers = ["raven.io/lb-cleanup"];
    s.status!.loadBalancer.ingress.push({ hostname: "kept.example" });
  });
  f.take();

  const report = await uninstall(f.deps);
  assert.deepEqual(report, { floatingIps: 2, loadBalancers: 1, ports: 1, networks: 3, objectsCleaned: 3 });
  const inv = f.backend.inventory();
  assert.deepEqual(
    [inv.networks, inv.ports, inv.loadBalancers, inv.floatingIps].map((x) => x.length),
    [0, 0, 0, 0],
  );
  const pod = f.pods.get("default/web")!;
  assert.deepEqual(pod.metadata.annotations, {});
  assert.deepEqual(pod.metadata.finalizers, []);
  const svc = f.services.get("default/web")!;
  assert.deepEqual(svc.metadata.annotations, {});
  assert.deepEqual(svc.metadata.finalizers, []);
  assert.deepEqual(
    svc.status!.loadBalancer.ingress,
    [{ hostname: "kept.example" }],
    "only Raven's ingress goes",
  );
  assert.deepEqual(f.namespaces.get("default")!.metadata.finalizers, ["kubernetes"]);
  // A second run finds nothing left to do.
  f.take();
  assert.deepEqual(await uninstall(f.deps), {
    floatingIps: 0,
    loadBalancers: 0,
    ports: 0,
    networks: 0,
    objectsCleaned: 0,
  });
  assert.deepEqual(f.take().api, []);
});
