// Raven's OpenStack client against the real services: neutron-server and Octavia (octavia-api,
// octavia-worker) from Debian's packages, started for this test on 127.0.0.1 by the sandbox's
// launcher, with PostgreSQL and RabbitMQ. Also checks that the clouds.yaml it writes works with
// the real `openstack` CLI.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { StaticAuth } from "../src/sdn/neutron/auth.ts";
import { OpenStackClient } from "../src/sdn/neutron/client.ts";
import { loadCloud, processSources } from "../src/sdn/neutron/clouds.ts";
import { JsonHttp, OpenStackError } from "../src/sdn/neutron/http.ts";
import type { NeutronApi } from "../src/sdn/neutron/neutron-api.ts";
import type { OctaviaApi } from "../src/sdn/neutron/octavia-api.ts";
import { startOpenStack, type TestOpenStack } from "./support/openstack.ts";

const run = promisify(execFile);
const PROJECT = "raven-test";
let os: TestOpenStack | undefined;
let neutron: NeutronApi;
let octavia: OctaviaApi;

before(async () => {
  os = await startOpenStack();
  ({ neutron, octavia } = os);
});

after(async () => {
  await os?.stop();
});

async function podNetwork(name: string, cidr: string) {
  const network = await neutron.createNetwork({ name, project_id: PROJECT });
  const subnet = await neutron.createSubnet({
    name: `${name}-subnet`,
    network_id: network.id,
    ip_version: 4,
    cidr,
    enable_dhcp: false,
    project_id: PROJECT,
  });
  return { network, subnet };
}

test("ports: bulk create with Raven's device_owner and binding, tags after the create, filters, paging, conflicts", async () => {
  const { network, subnet } = await podNetwork("ns-default", "192.168.0.0/24");
  const ports = await neutron.createPorts(
    ["nginx", "web-0", "web-1", "web-2", "web-3"].map((name) => ({
      name,
      network_id: network.id,
      fixed_ips: [{ subnet_id: subnet.id }],
      device_owner: "compute:kuryr",
      device_id: `uid-${name}`,
      "binding:host_id": "node-1",
      project_id: PROJECT,
    })),
  );
  assert.equal(ports.length, 5);
  for (const p of ports) {
    assert.match(p.mac_address, /^fa:16:3e(:[0-9a-f]{2}){3}$/);
    assert.equal(p.fixed_ips[0].subnet_id, subnet.id);
    assert.equal(p["binding:host_id"], "node-1");
  }
  assert.equal(new Set(ports.map((p) => p.fixed_ips[0].ip_address)).size, 5, "five distinct addresses");
  // Zed refuses tags in a POST: they follow.
  await neutron.addTag("ports", ports[0].id, "raven-cluster=test");
  assert.deepEqual(await neutron.setTags("ports", ports[1].id, ["raven-cluster=test", "raven-pool"]), [
    "raven-cluster=test",
    "raven-pool",
  ]);
  const tagged = await neutron.listPorts({ tags: "raven-cluster=test" });
  assert.deepEqual(tagged.map((p) => p.name).sort(), ["nginx", "web-0"]);
  assert.deepEqual(
    (await neutron.listPorts({ name: "nginx" })).map((p) => p.id),
    [ports[0].id],
  );
  // Pages of two still give every port, once.
  const http = new JsonHttp();
  const client = new OpenStackClient(
    new StaticAuth(
      loadCloud(
        processSources({ OS_CLIENT_CONFIG_FILE: os!.services.endpoints.cloudsYaml }),
        "raven-sandbox",
      ),
    ),
    http,
  );
  const paged = await client
    .list<{ id: string }>("network", "/ports", "ports", { network_id: network.id }, 2)
    .finally(() => http.close());
  assert.deepEqual(paged.map((p) => p.id).sort(), ports.map((p) => p.id).sort());
  // An address already taken is Neutron's IpAddressAlreadyAllocated, kept as the error's type.
  await assert.rejects(
    neutron.createPort({
      name: "thief",
      network_id: network.id,
      fixed_ips: [{ subnet_id: subnet.id, ip_address: ports[0].fixed_ips[0].ip_address }],
      project_id: PROJECT,
    }),
    (e: unknown) => e instanceof OpenStackError && e.status === 409 && e.type === "IpAddressAlreadyAllocated",
  );
  // Update (a pooled port handed to a pod), then delete; deleting again is not an error.
  const taken = await neutron.updatePort(ports[4].id, { name: "pod-x", device_id: "uid-x" });
  assert.equal(taken.name, "pod-x");
  for (const p of ports) await neutron.deletePort(p.id);
  await neutron.deletePort(ports[0].id);
  assert.equal(await neutron.getPort(ports[0].id), undefined);
  assert.deepEqual(await neutron.listPorts({ network_id: network.id }), []);
});

test("floating IPs: an external network, a router to it, a floating IP on a port, moved and released", async () => {
  const ext = await neutron.createNetwork({
    name: "raven-external",
    "router:external": true,
    project_id: PROJECT,
  });
  const extSubnet = await neutron.createSubnet({
    name: "raven-external-subnet",
    network_id: ext.id,
    ip_version: 4,
    cidr: "172.16.0.0/24",
    enable_dhcp: false,
    project_id: PROJECT,
  });
  const { network, subnet } = await podNetwork("ns-fip", "10.0.0.0/24");
  // The gateway's address pinned, as the backend does: Neutron's IPAM picks addresses at random,
  // and could hand the router the floating IP this test asks for.
  const router = await neutron.createRouter({
    name: "raven",
    external_gateway_info: {
      network_id: ext.id,
      external_fixed_ips: [{ subnet_id: extSubnet.id, ip_address: "172.16.0.254" }],
    },
    project_id: PROJECT,
  });
  await neutron.addRouterInterface(router.id, subnet.id);
  const vip = await neutron.createPort({
    name: "vip",
    network_id: network.id,
    fixed_ips: [{ subnet_id: subnet.id }],
    project_id: PROJECT,
  });
  const fip = await neutron.createFloatingIp({
    floating_network_id: ext.id,
    floating_ip_address: "172.16.0.4",
    port_id: vip.id,
    fixed_ip_address: vip.fixed_ips[0].ip_address,
    project_id: PROJECT,
  });
  assert.equal(fip.floating_ip_address, "172.16.0.4");
  assert.equal(fip.port_id, vip.id);
  const listed = await neutron.listFloatingIps({ floating_ip_address: "172.16.0.4" });
  assert.deepEqual(
    listed.map((f) => f.id),
    [fip.id],
  );
  const freed = await neutron.updateFloatingIp(fip.id, { port_id: null });
  assert.equal(freed.port_id, null);
  await neutron.deleteFloatingIp(fip.id);
  await neutron.deletePort(vip.id);
  await neutron.removeRouterInterface(router.id, subnet.id);
  await neutron.deleteRouter(router.id);
  await neutron.deleteSubnet(extSubnet.id);
  await neutron.deleteNetwork(ext.id);
  await neutron.deleteNetwork(network.id);
  assert.deepEqual(await neutron.listFloatingIps({ floating_ip_address: "172.16.0.4" }), []);
});

test("Octavia: a load balancer at a given VIP, a listener and pool, members set in batches (also two at once), cascade delete", async () => {
  const { subnet } = await podNetwork("services", "10.96.0.0/24");
  const lb = await octavia.createLoadBalancer({
    name: "demo",
    vip_subnet_id: subnet.id,
    vip_address: "10.96.0.10",
    project_id: PROJECT,
    tags: ["raven-cluster=test"],
  });
  assert.equal(lb.vip_address, "10.96.0.10");
  const active = await octavia.waitActive(lb.id);
  assert.equal(active.provisioning_status, "ACTIVE");
  const listener = await octavia.createListener(lb.id, {
    name: "demo",
    protocol: "TCP",
    protocol_port: 80,
    project_id: PROJECT,
  });
  const pool = await octavia.createPool(lb.id, {
    name: "demo",
    protocol: "TCP",
    listener_id: listener.id,
    project_id: PROJECT,
  });
  const members = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      name: `demo-${i}`,
      address: `192.168.0.${10 + i}`,
      protocol_port: 8080,
    }));
  await octavia.setMembers(lb.id, pool.id, members(3));
  assert.deepEqual((await octavia.listMembers(pool.id)).map((m) => m.address).sort(), [
    "192.168.0.10",
    "192.168.0.11",
    "192.168.0.12",
  ]);
  // Two changes at once: the second meets the first's PENDING_UPDATE (409) and is made after it.
  await Promise.all([
    octavia.setMembers(lb.id, pool.id, members(2)),
    octavia.setMembers(lb.id, pool.id, members(1)),
  ]);
  const left = (await octavia.listMembers(pool.id)).map((m) => m.address);
  assert.ok(left.length === 1 || left.length === 2, `members: ${left}`);
  assert.deepEqual(
    (await octavia.listLoadBalancers({ tags: "raven-cluster=test" })).map((l) => l.id),
    [lb.id],
  );
  await octavia.deleteLoadBalancer(lb.id);
  assert.equal(await octavia.getLoadBalancer(lb.id), undefined);
});

test("the real openstack CLI reads the sandbox's clouds.yaml", async () => {
  const { network, subnet } = await podNetwork("ns-cli", "192.168.7.0/24");
  const port = await neutron.createPort({
    name: "cli-nginx",
    network_id: network.id,
    fixed_ips: [{ subnet_id: subnet.id }],
    project_id: PROJECT,
  });
  const env = {
    PATH: "/usr/bin:/bin",
    HOME: os!.dir,
    OS_CLIENT_CONFIG_FILE: os!.services.endpoints.cloudsYaml,
  };
  const { stdout } = await run(
    "openstack",
    ["--os-cloud", "raven-sandbox", "port", "list", "--name", "cli-nginx", "-f", "json"],
    { env },
  );
  const rows = JSON.parse(stdout);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]["MAC Address"], port.mac_address);
  assert.equal(rows[0]["Fixed IP Addresses"][0].ip_address, port.fixed_ips[0].ip_address);
  const lbs = await run("openstack", ["--os-cloud", "raven-sandbox", "loadbalancer", "list", "-f", "json"], {
    env,
  });
  assert.ok(Array.isArray(JSON.parse(lbs.stdout)));
});
