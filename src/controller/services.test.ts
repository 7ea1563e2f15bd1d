// The Service reconciler, one scenario per test: objects in, one sync, the recorded actions out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SdnError } from "../sdn/backend.ts";
import { CLUSTER_OWNER } from "./context.ts";
import { ControllerFixture } from "./testing.ts";

function annotations(f: ControllerFixture, name: string): Record<string, string> {
  return f.services.get(`default/${name}`)!.metadata.annotations ?? {};
}

async function fixture(): Promise<ControllerFixture> {
  const f = new ControllerFixture();
  await f.clusterNetworks();
  return f;
}

test("a Service gets a load balancer at its ClusterIP, its annotations, and no finalizer", async () => {
  const f = await fixture();
  f.service("demo", { clusterIP: "10.0.0.5" });
  await f.serviceReconciler.sync("default/demo");
  const { backend, api, events } = f.take();
  assert.deepEqual(backend, ["ensureLoadBalancer default/demo 10.0.0.5 80:[]"]);
  assert.equal(api.length, 1);
  assert.doesNotMatch(api[0], /finalizers/);
  assert.deepEqual(Object.keys(annotations(f, "demo")).sort(), ["raven.io/lb-pool", "raven.io/lb-vip"]);
  assert.deepEqual(events, []);
});

test("an external IP another Service holds is an Event on this one; its VIP, members and annotations are still written", async () => {
  const f = await fixture();
  f.service("first", { clusterIP: "10.0.0.5", externalIPs: ["172.16.0.9"] });
  await f.serviceReconciler.sync("default/first");
  f.take();
  f.service("second", { clusterIP: "10.0.0.6", externalIPs: ["172.16.0.9"], type: "LoadBalancer" });
  await assert.rejects(
    f.serviceReconciler.sync("default/second"),
    (e: unknown) => e instanceof SdnError && e.reason === "IpInUse",
    "the sync fails, so the missing part is retried",
  );
  const { backend, api, events } = f.take();
  assert.deepEqual(backend, [
    "ensureLoadBalancer default/second 10.0.0.6 80:[]",
    "ensureFloatingIp default/second load-balancer 172.16.0.2",
  ]);
  assert.deepEqual(events, [
    "Warning ExternalIPInUse default/second: external IP 172.16.0.9 is already a floating IP of another Service; will retry",
  ]);
  assert.ok(annotations(f, "second")["raven.io/lb-vip"], "the VIP annotation is written");
  assert.equal(
    annotations(f, "second")["raven.io/floating-ip"],
    undefined,
    "no floating IP it does not have",
  );
  assert.ok(
    api.some((a) => a.startsWith("patch services/status default/second")),
    "the ingress is written",
  );
  assert.deepEqual(f.services.get("default/second")!.status?.loadBalancer?.ingress, [
    { ip: "172.16.0.2", ipMode: "VIP" },
  ]);
});

test("an empty floating IP pool is an Event; everything else is still written", async () => {
  const f = new ControllerFixture({ config: { externalCidr: "172.16.0.0/30" } });
  await f.clusterNetworks();
  f.service("a", { clusterIP: "10.0.0.5", type: "LoadBalancer" });
  await f.serviceReconciler.sync("default/a");
  f.service("b", { clusterIP: "10.0.0.6", type: "LoadBalancer" });
  f.take();
  await assert.rejects(
    f.serviceReconciler.sync("default/b"),
    (e: unknown) => e instanceof SdnError && e.reason === "PoolExhausted",
  );
  const { events } = f.take();
  assert.deepEqual(events, [
    "Warning FloatingIPPoolExhausted default/b: no free address left in 172.16.0.0/30; will retry",
  ]);
  assert.ok(annotations(f, "b")["raven.io/lb-vip"]);
});

test("the LoadBalancer pool never hands out an address another Service lists in externalIPs", async () => {
  const f = await fixture();
  // "named" asks for .2 by name but has not been synced yet (or its claim failed).
  f.service("named", { clusterIP: "10.0.0.5", externalIPs: ["172.16.0.2"] });
  f.service("lb", { clusterIP: "10.0.0.6", type: "LoadBalancer" });
  await f.serviceReconciler.sync("default/lb");
  await f.serviceReconciler.sync("default/named");
  const { backend, events } = f.take();
  assert.deepEqual(backend, [
    "ensureLoadBalancer default/lb 10.0.0.6 80:[]",
    "ensureFloatingIp default/lb load-balancer 172.16.0.3",
    "ensureLoadBalancer default/named 10.0.0.5 80:[]",
    "ensureFloatingIp default/named external-ip 172.16.0.2",
  ]);
  assert.deepEqual(events, []);
});

test("non-canonical external IPs are ignored with a Warning naming the field; a canonicalizable one is used", async () => {
  const f = await fixture();
  f.service("demo", { clusterIP: "10.0.0.5", externalIPs: ["172.16.0.009", " 172.16.0.7", "10.1.1.1"] });
  await f.serviceReconciler.sync("default/demo");
  const { backend, events } = f.take();
  assert.deepEqual(backend.at(-1), "ensureFloatingIp default/demo external-ip 172.16.0.7");
  assert.deepEqual(events, [
    'Warning ExternalIPIgnored default/demo: spec.externalIPs[0] 172.16.0.009 ignored: "172.16.0.009" has leading zeros, which tools read differently (octal or decimal); write 172.16.0.9',
    "Warning ExternalIPIgnored default/demo: spec.externalIPs[2] 10.1.1.1 ignored: it is outside the external subnet 172.16.0.0/24",
  ]);
});

test("a Service's legacy finalizer is removed", async () => {
  const f = await fixture();
  f.service("old", { clusterIP: "10.0.0.5" }, { finalizers: ["raven.io/lb-cleanup"] });
  await f.serviceReconciler.sync("default/old");
  assert.deepEqual(f.services.get("default/old")!.metadata.finalizers, []);
});

test("a Service without a selector is load-balanced to the endpoints someone else writes (the kubernetes Service)", async () => {
  const f = await fixture();
  f.service("kubernetes", {
    clusterIP: "10.0.0.1",
    selector: undefined,
    ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }],
  });
  f.endpointSlices.set({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "kubernetes",
      namespace: "default",
      labels: { "kubernetes.io/service-name": "kubernetes" },
    },
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.254.7.1"], conditions: { ready: true } }],
    ports: [{ name: "https", port: 41443, protocol: "TCP" }],
  } as never);
  await f.serviceReconciler.sync("default/kubernetes");
  assert.deepEqual(f.take().backend, ["ensureLoadBalancer default/kubernetes 10.0.0.1 443:[10.254.7.1]"]);
  const [member] = f.backend.findLoadBalancer(f.services.get("default/kubernetes")!.metadata.uid!)!.pools[0]
    .members;
  assert.equal(member.protocol_port, 41443, "the port the endpoint listens on");
  assert.equal(member.subnet_id, null, "the API server is on no pod network");
});

test("an external IP held by a Service that no longer wants it (gone, or listing another) goes to the Service that does", async () => {
  const f = await fixture();
  f.service("old", { clusterIP: "10.0.0.5", externalIPs: ["172.16.0.9"] });
  await f.serviceReconciler.sync("default/old");
  // old changes its mind; before its own sync releases the address, new asks for it.
  f.update(f.services, "default/old", (s) => {
    s.spec.externalIPs = ["172.16.0.10"];
  });
  f.service("new", { clusterIP: "10.0.0.6", externalIPs: ["172.16.0.9"] });
  f.take();
  await f.serviceReconciler.sync("default/new");
  const { backend, events } = f.take();
  assert.deepEqual(events, []);
  assert.ok(backend.includes("deleteFloatingIp 172.16.0.9"), backend.join(" | "));
  assert.equal(JSON.parse(annotations(f, "new")["raven.io/floating-ip"]).floating_ip_address, "172.16.0.9");
  // And one whose Service left the cache entirely.
  f.services.remove("default/new");
  f.service("third", { clusterIP: "10.0.0.7", externalIPs: ["172.16.0.9"] });
  await f.serviceReconciler.sync("default/third");
  assert.equal(JSON.parse(annotations(f, "third")["raven.io/floating-ip"]).floating_ip_address, "172.16.0.9");
});

test("an external IP listed by name wins over another Service's LoadBalancer pool pick; the holder picks again", async () => {
  const f = await fixture();
  f.service("lb", { clusterIP: "10.0.0.6", type: "LoadBalancer" });
  await f.serviceReconciler.sync("default/lb");
  assert.deepEqual(f.services.get("default/lb")!.status?.loadBalancer?.ingress, [
    { ip: "172.16.0.2", ipMode: "VIP" },
  ]);
  // Someone then asks for exactly that address by name.
  f.service("named", { clusterIP: "10.0.0.5", externalIPs: ["172.16.0.2"] });
  f.take();
  await f.serviceReconciler.sync("default/named");
  const { backend, events } = f.take();
  assert.deepEqual(events, []);
  assert.ok(backend.includes("deleteFloatingIp 172.16.0.2"), backend.join(" | "));
  assert.equal(JSON.parse(annotations(f, "named")["raven.io/floating-ip"]).floating_ip_address, "172.16.0.2");
  assert.deepEqual(f.requeued, ["default/lb"], "the holder is queued to pick another address");
  await f.serviceReconciler.sync("default/lb");
  const ingress = f.services.get("default/lb")!.status?.loadBalancer?.ingress;
  assert.equal(ingress?.length, 1);
  assert.notEqual(ingress[0].ip, "172.16.0.2");
  assert.equal(f.backend.findFloatingIps(f.services.get("default/lb")!.metadata.uid!).length, 1);
});

test("an external IP another live Service lists by name is not taken from it", async () => {
  const f = await fixture();
  f.service("first", { clusterIP: "10.0.0.5", externalIPs: ["172.16.0.9"] });
  await f.serviceReconciler.sync("default/first");
  f.service("second", { clusterIP: "10.0.0.6", externalIPs: ["172.16.0.9"] });
  await assert.rejects(f.serviceReconciler.sync("default/second"));
  assert.deepEqual(f.requeued, []);
  assert.equal(JSON.parse(annotations(f, "first")["raven.io/floating-ip"]).floating_ip_address, "172.16.0.9");
});

test("where one floating IP fits on a VIP (Neutron), a LoadBalancer Service's external IP is its ingress, either way round", async () => {
  const f = new ControllerFixture({ oneFloatingIpPerFixedIp: true });
  await f.clusterNetworks();
  // type LoadBalancer first: a pool pick is the ingress.
  f.service("demo", { clusterIP: "10.0.0.5", type: "LoadBalancer" });
  await f.serviceReconciler.sync("default/demo");
  assert.deepEqual(f.services.get("default/demo")!.status?.loadBalancer?.ingress, [
    { ip: "172.16.0.2", ipMode: "VIP" },
  ]);
  f.take();
  // Then an external IP: it takes the pick's place, on the VIP and as the ingress.
  f.update(f.services, "default/demo", (svc) => {
    svc.spec.externalIPs = ["172.16.0.9"];
  });
  await f.serviceReconciler.sync("default/demo");
  const { backend, events } = f.take();
  assert.deepEqual(backend, [
    "ensureLoadBalancer default/demo 10.0.0.5 80:[]",
    "deleteFloatingIp 172.16.0.2",
    "ensureFloatingIp default/demo external-ip 172.16.0.9",
  ]);
  assert.deepEqual(f.services.get("default/demo")!.status?.loadBalancer?.ingress, [
    { ip: "172.16.0.9", ipMode: "VIP" },
  ]);
  assert.deepEqual(events, [
    "Normal IngressIsExternalIP default/demo: fake allows one floating IP per fixed IP: the external IP 172.16.0.9 is the load balancer's ingress",
  ]);
  // Without the external IP, a pool pick again.
  f.update(f.services, "default/demo", (svc) => {
    svc.spec.externalIPs = [];
  });
  await f.serviceReconciler.sync("default/demo");
  assert.deepEqual(f.take().backend, [
    "ensureLoadBalancer default/demo 10.0.0.5 80:[]",
    "deleteFloatingIp 172.16.0.9",
    "ensureFloatingIp default/demo load-balancer 172.16.0.2",
  ]);
  assert.deepEqual(f.services.get("default/demo")!.status?.loadBalancer?.ingress, [
    { ip: "172.16.0.2", ipMode: "VIP" },
  ]);
});

test("a deleted Service's own ports (a VIP port whose load balancer was never made) go with it", async () => {
  const f = await fixture();
  const svc = f.service("half", { clusterIP: "10.0.0.5" });
  const net = f.backend.findNetwork(CLUSTER_OWNER.uid, "services")!;
  await f.backend.createPort({
    owner: { kind: "Service", namespace: "default", name: "half", uid: svc.metadata.uid! },
    name: "half",
    networkId: net.network.id,
    subnetId: net.subnet.id,
    ipAddress: "10.0.0.5",
  });
  f.services.remove("default/half");
  f.serviceReconciler.forget("default/half", svc.metadata.uid!);
  f.take();
  await f.serviceReconciler.sync("default/half");
  assert.deepEqual(f.take().backend, ["deletePort default/half 10.0.0.5"]);
});
