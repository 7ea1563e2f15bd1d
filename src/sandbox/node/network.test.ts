import assert from "node:assert/strict";
import { test } from "node:test";
import { nodeLayout } from "./layout.ts";
import {
  gatewayAddress,
  gatewayIp,
  pickNodeCidr,
  planDeleteNodeNetwork,
  planExternalHost,
  planNodeNetwork,
  planUnderlay,
  staleRoutes,
} from "./network.ts";

const plan = { instanceId: "rvabc123", nodeCidr: "10.254.7.0/24", nodePodCidr: "10.244.0.0/16" };
const nodes = [1, 2, 3].map((i) => nodeLayout("/tmp/sb", plan, i));
const ranges = { serviceCidr: "10.0.0.0/24", externalCidr: "172.16.0.0/24", podCidr: "192.168.0.0/16" };
const fresh = { netnsExists: false, hostVethExists: false, peerInNetns: false };
const complete = { netnsExists: true, hostVethExists: true, peerInNetns: true };

test("the underlay bridge is created once and always gets the gateway address", () => {
  assert.equal(gatewayAddress("10.254.7.0/24"), "10.254.7.1/24");
  assert.equal(gatewayIp("10.254.7.0/24"), "10.254.7.1");
  assert.throws(() => gatewayAddress("10.254.0.0/16"), /must be a \/24/);
  assert.deepEqual(planUnderlay("rvabc123", "10.254.7.0/24", false), [
    ["ip", "link", "add", "rvabc123-br", "type", "bridge"],
    ["ip", "addr", "replace", "10.254.7.1/24", "dev", "rvabc123-br"],
    ["sysctl", "-q", "-w", "net.ipv4.conf.rvabc123-br.rp_filter=1"],
    ["ip", "link", "set", "rvabc123-br", "up"],
  ]);
  assert.deepEqual(
    planUnderlay("rvabc123", "10.254.7.0/24", true).map((c) => c.slice(0, 3)),
    [
      ["ip", "addr", "replace"],
      ["sysctl", "-q", "-w"],
      ["ip", "link", "set"],
    ],
  );
  // The only host sysctl is the bridge's own (it goes away with the bridge).
  for (const c of planUnderlay("rvabc123", "10.254.7.0/24", false).filter((c) => c[0] === "sysctl"))
    assert.match(c[3], /^net\.ipv4\.conf\.rvabc123-br\./);
});

test("a fresh node gets a netns, a veth into it, its address, peer routes, its pod range unreachable, the service and external ranges on a portless sink bridge, no default route", () => {
  const cmds = planNodeNetwork(nodes[1], nodes, ranges, fresh, "rvabc123-br");
  const text = cmds.map((c) => c.join(" "));
  assert.deepEqual(text.slice(0, 2), [
    "ip netns add rvabc123-node2",
    "ip link add rvabc123n2 type veth peer name eth0 netns rvabc123-node2",
  ]);
  for (const want of [
    "ip link set rvabc123n2 master rvabc123-br",
    "ip -n rvabc123-node2 addr replace 10.254.7.12/24 dev eth0",
    "ip -n rvabc123-node2 link set lo up",
    "ip -n rvabc123-node2 route replace 10.244.1.0/24 via 10.254.7.11 dev eth0",
    "ip -n rvabc123-node2 route replace 10.244.3.0/24 via 10.254.7.13 dev eth0",
    "ip -n rvabc123-node2 route replace unreachable 192.168.0.0/16",
    "ip -n rvabc123-node2 link add name rvsink type bridge",
    "ip -n rvabc123-node2 route replace 10.0.0.0/24 dev rvsink src 10.254.7.12",
    "ip -n rvabc123-node2 route replace 172.16.0.0/24 dev rvsink src 10.254.7.12",
    // The external host (the external subnet's gateway) is reached over the underlay.
    "ip -n rvabc123-node2 route replace 172.16.0.1/32 via 10.254.7.250 dev eth0",
    "nsenter --net=/run/netns/rvabc123-node2 sysctl -q -w net.ipv4.ip_forward=1",
    "nsenter --net=/run/netns/rvabc123-node2 sysctl -q -w net.bridge.bridge-nf-call-iptables=1",
  ])
    assert.ok(text.includes(want), `missing: ${want}`);
  assert.ok(!text.some((t) => t.includes("10.244.2.0/24")), "no route to its own pod range");
  assert.ok(!text.some((t) => /default|0\.0\.0\.0\/0/.test(t)), "no default route");
  assert.ok(
    !text.some((t) => t.startsWith("sysctl") || t.includes("ip netns exec")),
    "host sysctls untouched",
  );
  // Every command that configures the netns addresses it by name (never the host's namespace).
  for (const c of cmds.filter((c) => c.includes("eth0") && c[1] !== "link" && c[2] !== "add"))
    assert.deepEqual(c.slice(0, 3), ["ip", "-n", "rvabc123-node2"], c.join(" "));
});

test("re-running on a complete node only re-asserts state; a veth whose peer is gone is recreated", () => {
  const again = planNodeNetwork(nodes[0], nodes, ranges, complete, "br").map((c) => c.join(" "));
  assert.ok(
    !again.some((t) => t.startsWith("ip netns add") || t.includes("type veth") || t.includes(" del ")),
  );
  const orphan = planNodeNetwork(
    nodes[0],
    nodes,
    ranges,
    { netnsExists: true, hostVethExists: true, peerInNetns: false },
    "br",
  ).map((c) => c.join(" "));
  assert.deepEqual(orphan.slice(0, 2), [
    "ip link del rvabc123n1",
    "ip link add rvabc123n1 type veth peer name eth0 netns rvabc123-node1",
  ]);
  const noNetns = planNodeNetwork(
    nodes[0],
    nodes,
    ranges,
    { netnsExists: false, hostVethExists: true, peerInNetns: false },
    "br",
  ).map((c) => c.join(" "));
  assert.deepEqual(noNetns.slice(0, 3), [
    "ip netns add rvabc123-node1",
    "ip link del rvabc123n1",
    "ip link add rvabc123n1 type veth peer name eth0 netns rvabc123-node1",
  ]);
});

test("stale routes (removed nodes, a default route) are deleted; wanted ones and connected ones stay", () => {
  const two = nodes.slice(0, 2);
  const del = staleRoutes(
    [
      { dst: "default", gateway: "10.254.7.1" },
      { dst: "10.244.2.0/24", gateway: "10.254.7.12" },
      { dst: "10.244.3.0/24", gateway: "10.254.7.13" },
      { dst: "10.254.7.0/24" },
      { dst: "10.244.1.0/24" },
      { dst: "10.0.0.0/24", type: "unreachable" },
      { dst: "10.9.0.0/24", type: "unreachable" },
      { dst: "192.168.0.0/16", type: "unreachable" },
      { dst: "172.16.0.1", gateway: "10.254.7.250" },
      { dst: "10.0.0.0/24", dev: "rvsink" } as { dst: string },
    ],
    nodes[0],
    two,
    ranges,
  ).map((c) => c.join(" "));
  assert.deepEqual(del, [
    "ip -n rvabc123-node1 route del default",
    "ip -n rvabc123-node1 route del 10.244.3.0/24",
    "ip -n rvabc123-node1 route del unreachable 10.0.0.0/24",
    "ip -n rvabc123-node1 route del unreachable 10.9.0.0/24",
  ]);
});

test("the external host holds the external subnet's gateway and routes the external range through every node", () => {
  const cmds = planExternalHost(
    "rvabc123",
    "10.254.7.0/24",
    "172.16.0.0/24",
    ["10.254.7.11", "10.254.7.12"],
    {
      netnsExists: false,
      vethOk: false,
      hostVethExists: false,
    },
  ).map((c) => c.join(" "));
  assert.deepEqual(cmds, [
    "ip netns add rvabc123-external",
    "ip link add rvabc123-ext type veth peer name eth0 netns rvabc123-external",
    "ip link set rvabc123-ext master rvabc123-br",
    "ip link set rvabc123-ext up",
    "ip -n rvabc123-external link set lo up",
    "ip -n rvabc123-external addr replace 10.254.7.250/24 dev eth0",
    "ip -n rvabc123-external addr replace 172.16.0.1/32 dev eth0",
    "ip -n rvabc123-external link set eth0 up",
    "ip -n rvabc123-external route replace 172.16.0.0/24 src 172.16.0.1 nexthop via 10.254.7.11 dev eth0 nexthop via 10.254.7.12 dev eth0",
  ]);
});

test("deleting a node removes its netns and host veth, only when they exist", () => {
  assert.deepEqual(planDeleteNodeNetwork(nodes[2], { netnsExists: true, hostVethExists: true }), [
    ["ip", "netns", "del", "rvabc123-node3"],
    ["ip", "link", "del", "rvabc123n3"],
  ]);
  assert.deepEqual(planDeleteNodeNetwork(nodes[2], { netnsExists: false, hostVethExists: false }), []);
});

test("the node CIDR is a stable /24 of 10.254.0.0/16 that skips routed ranges", () => {
  const first = pickNodeCidr("rvabc123", []);
  assert.match(first, /^10\.254\.\d+\.0\/24$/);
  assert.equal(pickNodeCidr("rvabc123", ["192.0.2.0/24", "127.0.0.1/32"]), first, "stable");
  assert.notEqual(pickNodeCidr("rvabc123", [first]), first, "skips a routed /24");
  const third = Number(first.split(".")[2]);
  const next = `10.254.${(third + 1) % 256}.0/24`;
  assert.equal(pickNodeCidr("rvabc123", [first]), next, "the next slot");
  const nextThird = (third + 2) % 256;
  assert.equal(
    pickNodeCidr("rvabc123", [first, `10.254.${(third + 1) % 256}.77/32`]),
    `10.254.${nextThird}.0/24`,
    "a host route inside a /24 makes it taken",
  );
  assert.throws(() => pickNodeCidr("rvabc123", ["10.0.0.0/8"]), /no free \/24/);
  const ids = new Set(["rv000001", "rv000002", "rv000003", "rvffffff"].map((id) => pickNodeCidr(id, [])));
  assert.ok(ids.size > 1, "different sandboxes start at different slots");
});
