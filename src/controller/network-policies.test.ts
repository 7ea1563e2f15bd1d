import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../kube/objects.ts";
import { ControllerFixture } from "./testing.ts";

const portAnnotation = (ip: string) =>
  JSON.stringify({
    id: `port-${ip}`,
    name: "p",
    network_id: "net",
    mac_address: "fa:16:3e:00:00:01",
    fixed_ips: [{ subnet_id: "sub", ip_address: ip }],
    status: "ACTIVE",
    admin_state_up: true,
    device_id: "d",
    device_owner: "compute:kuryr",
    "binding:host_id": "node-1",
    tenant_id: "t",
  });

function setup() {
  const f = new ControllerFixture();
  f.namespace("x", { labels: { ns: "x" } });
  f.namespace("y", { labels: { ns: "y" } });
  const web = f.pod("web", {
    namespace: "x",
    metadata: { labels: { app: "web" }, annotations: { "raven.io/port": portAnnotation("192.168.0.2") } },
  });
  f.pod("cli", {
    namespace: "y",
    metadata: { labels: { app: "cli" }, annotations: { "raven.io/port": portAnnotation("192.168.1.2") } },
  });
  const np: KubeObject = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "web", namespace: "x", uid: "np-1", resourceVersion: "1" },
    spec: {
      podSelector: { matchLabels: { app: "web" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: "y" } } }] }],
    },
  };
  f.networkPolicies.set(np);
  return { f, web, np };
}

test("a policy is compiled into the backend, written again only when it changes, and removed with the policy", async () => {
  const { f, web } = setup();
  await f.policyReconciler.sync("x/web");
  assert.deepEqual(f.backend.actions, ["ensurePolicy x/web"]);
  assert.deepEqual(f.backend.policyStore.get("x/web"), {
    policy: { namespace: "x", name: "web", uid: "np-1" },
    isolates: { ingress: true, egress: false },
    targets: [{ ip: "192.168.0.2", node: "node-1" }],
    ingress: [{ peers: { pods: ["192.168.1.2"] } }],
    egress: [],
  });
  await f.policyReconciler.sync("x/web");
  assert.equal(f.backend.actions.length, 1, "nothing changed: nothing written");
  // The pod finishes: it holds no address any more.
  f.pods.set({ ...web, status: { phase: "Succeeded" } });
  await f.policyReconciler.sync("x/web");
  assert.deepEqual(f.backend.policyStore.get("x/web")?.targets, []);
  f.networkPolicies.remove("x/web");
  await f.policyReconciler.sync("x/web");
  assert.deepEqual(f.backend.actions.slice(-1), ["deletePolicy x/web"]);
});

test("a pod change touches the policies that select or name it, and a status-only change none", () => {
  const { f, web } = setup();
  const touched = (before: KubeObject | undefined, after: KubeObject | undefined) =>
    f.policyReconciler.policiesTouchedByPod(before, after);
  assert.deepEqual(
    touched(web, { ...web, status: { phase: "Running", conditions: [{ type: "Ready" }] } }),
    [],
  );
  assert.deepEqual(
    touched(web, { ...web, metadata: { ...web.metadata, labels: { app: "other" } } }),
    ["x/web"],
    "leaves the selector",
  );
  const cli = f.pods.get("y/cli")!;
  assert.deepEqual(touched(undefined, cli), ["x/web"], "a peer comes");
  assert.deepEqual(touched(cli, undefined), ["x/web"], "a peer goes");
  const stranger = f.pod("s", { namespace: "x", metadata: { labels: { app: "db" } } });
  assert.deepEqual(touched(undefined, stranger), [], "neither target nor peer");
  assert.deepEqual(f.policyReconciler.policiesReadingNamespaces(), ["x/web"]);
});

test("what Raven cannot enforce is a Warning Event on the policy, once per distinct warning", async () => {
  const { f, np } = setup();
  f.pod("host", {
    namespace: "x",
    metadata: { labels: { app: "web" } },
    spec: { hostNetwork: true },
  });
  await f.policyReconciler.sync("x/web");
  await f.policyReconciler.sync("x/web");
  assert.deepEqual(f.recorder.events, [
    "Warning PolicyNotEnforced x/web: spec.podSelector: selects pod host, which uses the node's network (hostNetwork): Raven does not enforce policies on it",
    "Normal PolicyCompiled x/web: isolates 1 pod on 1 node for ingress (1 rule)",
  ]);
  assert.ok(np);
});

test("a failed write is an error for the work queue to retry", async () => {
  const { f } = setup();
  f.backend.failNext.set("ensurePolicy", new Error("API unavailable"));
  await assert.rejects(f.policyReconciler.sync("x/web"), /API unavailable/);
  await f.policyReconciler.sync("x/web");
  assert.deepEqual(f.backend.actions, ["ensurePolicy x/web"]);
});

test("a backend that enforces no policies says so on each policy, once", async () => {
  const { f } = setup();
  f.backend.policies = undefined;
  await f.policyReconciler.sync("x/web");
  await f.policyReconciler.sync("x/web");
  assert.deepEqual(f.recorder.events, [
    "Warning PolicyNotEnforced x/web: spec: the fake backend does not enforce NetworkPolicy",
  ]);
});
