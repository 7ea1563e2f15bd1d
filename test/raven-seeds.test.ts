// Seeds 000 and 001 replayed on the sandbox with raven-controller and the embedded backend
// (virtual nodes), through the real kubectl and `raven net`.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually, run, type Sandbox, startSandbox } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));

const NGINX_POD =
  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nginx\nspec:\n  containers:\n    - name: nginx\n      image: nginx\n";
const DEMO_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo
spec:
  replicas: 3
  selector:
    matchLabels:
      app: demo
  template:
    metadata:
      labels:
        app: demo
    spec:
      containers:
      - name: nginx
        image: nginx
        resources:
          requests:
            cpu: 100m
            memory: 100Mi
        ports:
        - containerPort: 80
`;
const DEMO_SERVICE =
  "apiVersion: v1\nkind: Service\nmetadata:\n  name: demo\nspec:\n  ports:\n    -\n      port: 80\n  selector:\n    app: demo\n";

let sb: Sandbox;
const net = async (...args: string[]) => {
  const r = await run(RAVEN, ["net", ...args, "--kubeconfig", sb.kubeconfig]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};
const netJson = async (kind: string, ...args: string[]) => JSON.parse(await net(kind, "-o", "json", ...args));
const k = async (args: string[], input?: string) => {
  const r = await sb.kubectl(args, { input });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

before(async () => {
  sb = await startSandbox({ virtualNodes: 2, backend: "embedded" });
});
after(async () => {
  await sb?.stop();
});

test("seed 000: a pod becomes a port named after it, written to its annotations and used as its IP", async () => {
  await k(["create", "-f", "-"], NGINX_POD);
  await eventually(
    async () => (await k(["get", "pod", "nginx", "-o", "jsonpath={.status.phase}"])) === "Running",
    20_000,
    "nginx Running",
  );
  const table = await net(
    "port-list",
    "--name",
    "nginx",
    "-c",
    "name",
    "-c",
    "mac_address",
    "-c",
    "fixed_ips",
  );
  const m =
    /\| nginx \| (fa:16:3e:[0-9a-f:]{8}) \| \{"subnet_id": "([0-9a-f-]{36})", "ip_address": "(192\.168\.0\.\d+)"\} \|/.exec(
      table,
    );
  assert.ok(m, table);
  const [, mac, subnetId, ip] = m;
  const annotations = JSON.parse(await k(["get", "pod", "nginx", "-o", "jsonpath={.metadata.annotations}"]));
  const port = JSON.parse(annotations["raven.io/port"]);
  assert.equal(port.name, "nginx");
  assert.equal(port.mac_address, mac);
  assert.deepEqual(port.fixed_ips, [{ subnet_id: subnetId, ip_address: ip }]);
  // No agent binds ports on virtual nodes (test/agent.test.ts shows ACTIVE on a real one).
  assert.equal(port.status, "DOWN");
  assert.match(port.id, /^[0-9a-f-]{36}$/);
  assert.match(port.network_id, /^[0-9a-f-]{36}$/);
  const subnet = JSON.parse(annotations["raven.io/subnet"]);
  assert.equal(subnet.cidr, "192.168.0.0/24");
  assert.equal(subnet.gateway_ip, "192.168.0.1");
  assert.deepEqual(subnet.allocation_pools, [{ start: "192.168.0.2", end: "192.168.0.254" }]);
  assert.equal(subnet.id, subnetId);
  assert.equal(
    await k(["get", "pod", "nginx", "-o", "template", "--template", "{{.status.podIP}}"]),
    ip,
    "the pod IP is the port's",
  );
  await k(["delete", "pod", "nginx"]);
  await eventually(
    async () => (await net("port-list", "--name", "nginx")) === "",
    20_000,
    "the port is gone with the pod",
  );
});

test("seed 001: the demo Service becomes a load balancer with a member per ready replica, and the floating IP follows externalIPs", async () => {
  await k(["create", "-f", "-"], DEMO_DEPLOYMENT);
  await k(["create", "-f", "-"], DEMO_SERVICE);
  const clusterIP = await k(["get", "svc", "demo", "-o", "jsonpath={.spec.clusterIP}"]);
  const pods = await eventually(
    async () => {
      const ps = JSON.parse(await k(["get", "pods", "-l", "app=demo", "-o", "json"])).items;
      return ps.length === 3 && ps.every((p: any) => p.status.podIP) ? ps : undefined;
    },
    30_000,
    "3 demo pods with IPs",
  );
  const ips = pods!.map((p: any) => p.status.podIP).sort();
  assert.equal(new Set(ips).size, 3, "unique IPs");
  for (const ip of ips) assert.match(ip, /^192\.168\.0\.\d+$/);
  const ports = await netJson("ports");
  for (const p of pods!)
    assert.ok(
      ports.some((port: any) => port.name === p.metadata.name),
      `a port named ${p.metadata.name}`,
    );

  const members = await eventually(
    async () => {
      const ms = await netJson("members");
      return ms.length === 3 ? ms : undefined;
    },
    20_000,
    "3 members",
  );
  assert.deepEqual(members!.map((m: any) => m.address).sort(), ips);
  assert.ok(members!.every((m: any) => m.protocol_port === 80));
  const lbs = await net("lb-vip-list", "-c", "name", "-c", "address", "-c", "protocol", "-c", "status");
  assert.match(
    lbs,
    new RegExp(`\\| demo +\\| ${clusterIP.replace(/\./g, "\\.")} +\\| TCP +\\| ACTIVE \\|`),
    "VIP = ClusterIP",
  );
  assert.match(await net("lb-pool-list", "-c", "name", "-c", "protocol"), /\| demo +\| TCP +\|/);
  const ann = JSON.parse(await k(["get", "svc", "demo", "-o", "jsonpath={.metadata.annotations}"]));
  assert.equal(JSON.parse(ann["raven.io/lb-vip"]).address, clusterIP);
  assert.equal(JSON.parse(ann["raven.io/lb-pool"]).lb_method, "ROUND_ROBIN");
  assert.equal(JSON.parse(ann["raven.io/lb-pool"]).members.length, 3);

  // Readiness drives membership.
  const first = pods![0].metadata.name;
  await k(["annotate", "pod", first, "sandbox.raven.io/ready=false"]);
  await eventually(
    async () => (await netJson("members")).length === 2,
    20_000,
    "the NotReady pod leaves the pool",
  );
  await k(["annotate", "pod", first, "sandbox.raven.io/ready-"]);
  await eventually(async () => (await netJson("members")).length === 3, 20_000, "and comes back when Ready");

  await k(["patch", "service", "demo", "-p", '{"spec":{"externalIPs":["172.16.0.4"]}}']);
  await eventually(
    async () => /\| [0-9a-f-]{36} \| 10\.0\.0\.\d+ +\| 172\.16\.0\.4 +\|/.test(await net("floatingip-list")),
    20_000,
    "FIP 172.16.0.4",
  );
  const fips = await netJson("fips");
  assert.equal(fips.length, 1);
  assert.equal(fips[0].fixed_ip_address, clusterIP);
  await eventually(
    async () =>
      JSON.parse(await k(["get", "svc", "demo", "-o", "jsonpath={.metadata.annotations}"]))[
        "raven.io/floating-ip"
      ]?.includes("172.16.0.4"),
    10_000,
    "floating-ip annotation",
  );

  await k(["patch", "service", "demo", "-p", '{"spec":{"externalIPs":["10.9.9.9"]}}']);
  await eventually(
    async () => (await netJson("fips")).length === 0,
    20_000,
    "no FIP for an IP outside 172.16.0.0/24",
  );
  await eventually(
    async () =>
      /ExternalIPIgnored.*10\.9\.9\.9.*outside the external subnet 172\.16\.0\.0\/24/.test(
        await k([
          "get",
          "events",
          "--field-selector",
          "involvedObject.kind=Service,involvedObject.name=demo",
        ]),
      ),
    10_000,
    "a Warning event says why",
  );

  await k(["patch", "service", "demo", "-p", '{"spec":{"externalIPs":["172.16.0.4"]}}']);
  await eventually(async () => (await netJson("fips")).length === 1, 20_000, "FIP back");
  await k(["delete", "service", "demo"]);
  await eventually(
    async () =>
      // (The kubernetes Service keeps its own load balancer: Raven is the service proxy.)
      !/\bdemo\b/.test(await net("lb-vip-list")) &&
      !/\bdemo\b/.test(await net("lb-pool-list")) &&
      (await net("lb-member-list")) === "" &&
      (await net("floatingip-list")) === "",
    20_000,
    "LB entities gone with the Service",
  );
  assert.equal(
    (await netJson("ports")).filter((p: any) => p.name.startsWith("demo-")).length,
    3,
    "but not the ports",
  );
  assert.equal(
    (await k(["get", "pods", "-l", "app=demo", "--no-headers"])).trim().split("\n").length,
    3,
    "nor the pods",
  );

  await k(["delete", "deployment", "demo"]);
  await eventually(
    async () =>
      (await netJson("ports")).length === 0 && (await k(["get", "pods", "--no-headers"])).trim() === "",
    30_000,
    "pods and ports gone with the Deployment",
  );
});

test("namespaces get their own network, carved from 192.168.0.0/16, removed with the namespace", async () => {
  await k(["create", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n");
  const subnet = await eventually(
    async () => (await netJson("subnets")).find((s: any) => s.name === "team-a-subnet"),
    20_000,
    "team-a subnet",
  );
  assert.match(subnet.cidr, /^192\.168\.\d+\.0\/24$/);
  assert.notEqual(subnet.cidr, "192.168.0.0/24");
  await k(["-n", "team-a", "run", "p", "--image=nginx"]);
  const ip = await eventually(
    async () => (await k(["-n", "team-a", "get", "pod", "p", "-o", "jsonpath={.status.podIP}"])) || undefined,
    20_000,
    "pod IP",
  );
  assert.ok(ip!.startsWith(subnet.cidr.replace(/\.0\/24$/, ".")), `${ip} in ${subnet.cidr}`);
  await k(["delete", "namespace", "team-a", "--timeout=60s"]);
  assert.equal((await netJson("subnets")).filter((s: any) => s.name === "team-a-subnet").length, 0);
  assert.equal((await netJson("ports", "-n", "team-a")).length, 0);
});

test("a static IP is honoured; a taken one is reported on the pod while it waits", async () => {
  await k(
    ["create", "-f", "-"],
    'apiVersion: v1\nkind: Pod\nmetadata: {name: fixed, annotations: {raven.io/ip: "192.168.0.77"}}\nspec: {containers: [{name: c, image: nginx}]}\n',
  );
  await eventually(
    async () => (await k(["get", "pod", "fixed", "-o", "jsonpath={.status.podIP}"])) === "192.168.0.77",
    20_000,
    "static IP",
  );
  await k(
    ["create", "-f", "-"],
    'apiVersion: v1\nkind: Pod\nmetadata: {name: clash, annotations: {raven.io/ip: "192.168.0.77"}}\nspec: {containers: [{name: c, image: nginx}]}\n',
  );
  await eventually(
    async () =>
      /FailedAllocateIP.*192\.168\.0\.77 is already in use/.test(
        await k(["get", "events", "--field-selector", "involvedObject.name=clash"]),
      ),
    20_000,
    "an event on the pod",
  );
  assert.equal(
    await k(["get", "pod", "clash", "-o", "jsonpath={.status.podIP}"]),
    "",
    "no IP while the address is taken",
  );
  await k(["delete", "pod", "fixed"]);
  await eventually(
    async () => (await k(["get", "pod", "clash", "-o", "jsonpath={.status.podIP}"])) === "192.168.0.77",
    60_000,
    "the address is granted once free",
  );
  await k(["delete", "pod", "clash"]);
});

test("type LoadBalancer gets a floating IP from the pool in status.loadBalancer.ingress", async () => {
  await k(
    ["create", "-f", "-"],
    "apiVersion: v1\nkind: Service\nmetadata: {name: lb}\nspec: {type: LoadBalancer, selector: {app: none}, ports: [{port: 443, targetPort: 8443, name: https}]}\n",
  );
  const ip = await eventually(
    async () =>
      (await k(["get", "svc", "lb", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"])) || undefined,
    20_000,
    "ingress IP",
  );
  assert.match(ip!, /^172\.16\.0\.\d+$/);
  assert.match(
    await k(["get", "svc", "lb"]),
    new RegExp(`lb\\s+LoadBalancer\\s+10\\.0\\.0\\.\\d+\\s+${ip!.replace(/\./g, "\\.")}\\s+443:3\\d{4}/TCP`),
  );
  await k(["delete", "svc", "lb"]);
  await eventually(async () => (await netJson("fips")).length === 0, 20_000, "FIP released");
});
