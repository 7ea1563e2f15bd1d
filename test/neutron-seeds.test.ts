// Seeds 000 and 001 on `raven sandbox up --backend neutron --nodes 1`: real neutron-server and
// Octavia, the real kubectl and the real openstack CLI, real containers. What a user checks:
// the Neutron port named after the pod is the address and MAC inside it; the Service is an
// Octavia load balancer at the ClusterIP with a member per replica, and HTTP through the VIP
// reaches every replica; the external IP is a floating IP that answers from the external host;
// deleting the Service removes its load balancer and floating IP but no pod's port; deleting
// the Deployment removes its pods' ports.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { instanceIdFor } from "../src/sandbox/config.ts";
import { eventually, run, type Sandbox, startSandbox } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));
let sb: Sandbox;

before(async () => {
  sb = await startSandbox({ nodes: 1, backend: "neutron" });
});
after(async () => {
  await sb?.stop();
});

const k = async (args: string[]) => {
  const r = await sb.kubectl(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

/** The real openstack CLI on the sandbox's clouds.yaml, JSON out. */
const osc = async (...args: string[]): Promise<any> => {
  const r = await run("openstack", ["--os-cloud", "raven-sandbox", ...args, "-f", "json"], {
    env: {
      PATH: "/usr/bin:/bin",
      HOME: sb.dir,
      OS_CLIENT_CONFIG_FILE: join(sb.dir, "openstack", "clouds.yaml"),
    },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, `openstack ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

const inHost = (host: string, argv: string[]) =>
  run(RAVEN, ["sandbox", "exec", "--dir", sb.dir, host, "--", ...argv], { timeoutMs: 60_000 });

test("seed 000: the pod's Neutron port is the address and MAC inside it", async () => {
  await k(["run", "nginx", "--image=nginx"]);
  await k(["wait", "--for=condition=Ready", "pod/nginx", "--timeout=120s"]);
  const ports = await osc("port", "list", "--name", "nginx", "--long");
  assert.equal(ports.length, 1);
  const port = ports[0];
  const ip = port["Fixed IP Addresses"][0].ip_address;
  assert.equal((await k(["get", "pod", "nginx", "-o", "jsonpath={.status.podIP}"])).trim(), ip);
  const inet = (await k(["exec", "nginx", "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0"])).trim();
  assert.match(inet, new RegExp(`inet ${ip.replaceAll(".", "\\.")}/24 `));
  const link = await k(["exec", "nginx", "--", "ip", "link", "show", "eth0"]);
  assert.match(link, new RegExp(`link/ether ${port["MAC Address"]} `));
  assert.equal(port["Device Owner"], "compute:raven");
  // raven net prints it from Neutron as it does from the embedded backend.
  const instanceId = instanceIdFor(sb.dir);
  const net = await run(
    RAVEN,
    [
      "net",
      "port-list",
      "--backend",
      "neutron",
      "--os-cloud",
      "raven-sandbox",
      "--cluster-id",
      instanceId,
      "--name",
      "nginx",
      "-o",
      "json",
    ],
    {
      env: {
        ...process.env,
        KUBECONFIG: sb.kubeconfig,
        OS_CLIENT_CONFIG_FILE: join(sb.dir, "openstack", "clouds.yaml"),
      },
      timeoutMs: 60_000,
    },
  );
  assert.equal(net.code, 0, net.stderr);
  const rows = JSON.parse(net.stdout);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].id, port.ID);
  assert.equal(rows[0].mac_address, port["MAC Address"]);
  assert.equal(rows[0].fixed_ips[0].ip_address, ip);
});

test("seed 001: the Service is an Octavia load balancer at its ClusterIP; the VIP and the floating IP carry traffic", async () => {
  await k(["create", "deployment", "demo", "--image=gcr.io/google-samples/hello-app:1.0", "--replicas=3"]);
  await k(["expose", "deployment", "demo", "--port=80", "--target-port=8080"]);
  await k(["rollout", "status", "deployment/demo", "--timeout=120s"]);
  const clusterIp = (await k(["get", "service", "demo", "-o", "jsonpath={.spec.clusterIP}"])).trim();
  const podIps = (await k(["get", "pods", "-l", "app=demo", "-o", "jsonpath={.items[*].status.podIP}"]))
    .trim()
    .split(/\s+/)
    .sort();
  assert.equal(podIps.length, 3);
  const lb = await eventually(
    async () => (await osc("loadbalancer", "list", "--name", "demo"))[0],
    60_000,
    "the load balancer",
  );
  assert.equal(lb.vip_address, clusterIp);
  const pools = await osc("loadbalancer", "pool", "list", "--loadbalancer", lb.id);
  assert.equal(pools.length, 1);
  await eventually(
    async () => {
      const members = (await osc("loadbalancer", "member", "list", pools[0].id))
        .map((m: any) => m.address)
        .sort();
      return JSON.stringify(members) === JSON.stringify(podIps);
    },
    60_000,
    "a member per replica",
  );
  // Through the VIP from the node, every replica answers.
  const names = (await k(["get", "pods", "-l", "app=demo", "-o", "jsonpath={.items[*].metadata.name}"]))
    .trim()
    .split(/\s+/);
  const seen = new Set<string>();
  await eventually(
    async () => {
      const r = await inHost("node-1", ["wget", "-qO-", "-T", "3", `http://${clusterIp}/`]);
      const host = /Hostname: (\S+)/.exec(r.stdout)?.[1];
      if (host) seen.add(host);
      return names.every((n) => seen.has(n));
    },
    60_000,
    "every replica through the VIP",
  );

  // spec.externalIPs -> a floating IP on the VIP, reachable from the external host.
  await k(["patch", "service", "demo", "-p", '{"spec":{"externalIPs":["172.16.0.4"]}}']);
  const fip = await eventually(
    async () => (await osc("floating", "ip", "list", "--floating-ip-address", "172.16.0.4"))[0],
    60_000,
    "the floating IP",
  );
  assert.equal(fip["Fixed IP Address"], clusterIp);
  await eventually(
    async () =>
      /Hostname: demo-/.test(
        (await inHost("external", ["wget", "-qO-", "-T", "3", "http://172.16.0.4/"])).stdout,
      ),
    60_000,
    "the floating IP answers from the external host",
  );
  // An address outside the external subnet gets no floating IP (and the old one goes).
  await k(["patch", "service", "demo", "-p", '{"spec":{"externalIPs":["10.99.0.5"]}}']);
  await eventually(async () => (await osc("floating", "ip", "list")).length === 0, 60_000, "no floating IP");
  const events = await k([
    "get",
    "events",
    "--field-selector",
    "involvedObject.name=demo,reason=ExternalIPIgnored",
    "-o",
    "name",
  ]);
  assert.ok(events.trim(), "a Warning says why");

  // Deleting the Service removes its load balancer (listeners, pool, members) but no port.
  await k(["delete", "service", "demo"]);
  await eventually(
    async () => (await osc("loadbalancer", "list", "--name", "demo")).length === 0,
    60_000,
    "the load balancer gone",
  );
  assert.deepEqual(await osc("loadbalancer", "pool", "list", "--loadbalancer", lb.id).catch(() => []), []);
  const podPorts = async () =>
    (await osc("port", "list", "--device-owner", "compute:raven")).map(
      (p: any) => p["Fixed IP Addresses"][0].ip_address,
    );
  const left = await podPorts();
  for (const ip of podIps) assert.ok(left.includes(ip), `the port of ${ip} stays`);
  // Deleting the Deployment removes its pods' ports; nginx keeps its own.
  await k(["delete", "deployment", "demo"]);
  await eventually(
    async () => (await podPorts()).every((ip: string) => !podIps.includes(ip)),
    120_000,
    "the replicas' ports gone",
  );
  assert.equal((await osc("port", "list", "--name", "nginx")).length, 1);
});
