import assert from "node:assert/strict";
import { test } from "node:test";
import { emptyOverlayState, type NetworkOnNode, planOverlay, vniOf, vxlanName } from "./overlay.ts";

const o = { localIp: "10.254.0.11", mtu: 1450 };
const net: NetworkOnNode = {
  networkId: "net-1",
  bridge: "rvbr00000001",
  gatewayCidr: "192.168.0.1/24",
  vni: vniOf("192.168.0.0/24", "net-1"),
  remote: [{ ip: "192.168.0.5", mac: "fa:16:3e:a8:00:05", nodeIp: "10.254.0.12" }],
};
const text = (cmds: ReturnType<typeof planOverlay>) =>
  cmds.map((c) => `${c.tool ?? "ip"} ${c.args.join(" ")}`);

test("VNIs of /24-or-larger subnets are their network address without the last octet, so distinct", () => {
  assert.equal(vniOf("192.168.0.0/24", "x"), (192 << 16) | (168 << 8));
  assert.notEqual(vniOf("192.168.1.0/24", "x"), vniOf("192.168.2.0/24", "x"));
  assert.ok(vniOf("10.0.0.128/25", "x") > 0, "smaller subnets hash their network id");
});

test("a fresh node gets the bridge, a non-learning proxying VXLAN device on it, and the remote port's entries", () => {
  const vx = vxlanName("net-1");
  assert.deepEqual(text(planOverlay([net], emptyOverlayState(), o)), [
    "ip link add name rvbr00000001 type bridge",
    "ip addr replace 192.168.0.1/24 dev rvbr00000001",
    "ip link set rvbr00000001 up",
    `ip link add ${vx} mtu 1450 type vxlan id ${net.vni} local 10.254.0.11 dstport 4789 nolearning proxy`,
    `ip link set ${vx} master rvbr00000001`,
    `ip link set ${vx} up`,
    `bridge fdb replace fa:16:3e:a8:00:05 dev ${vx} dst 10.254.0.12 self permanent`,
    `ip neigh replace 192.168.0.5 lladdr fa:16:3e:a8:00:05 dev ${vx} nud permanent`,
  ]);
});

test("only differences are planned: a moved port is re-pointed, a gone one removed, a gone network's devices deleted unless pods use its bridge", () => {
  const vx = vxlanName("net-1");
  const have = emptyOverlayState();
  have.bridges.set("rvbr00000001", { cidrs: new Set(["192.168.0.1/24"]), up: true });
  have.bridges.set("rvbrdeadbeef", { cidrs: new Set(), up: true });
  have.bridges.set("rvbrcafecafe", { cidrs: new Set(), up: true });
  have.vxlans.set(vx, { vni: net.vni, master: "rvbr00000001", up: true });
  have.vxlans.set("rvvxdeadbeef", { vni: 7, master: "rvbrdeadbeef", up: true });
  have.fdb.set(
    vx,
    new Map([
      ["fa:16:3e:a8:00:05", "10.254.0.13"],
      ["fa:16:3e:a8:00:09", "10.254.0.12"],
    ]),
  );
  have.neighbours.set(
    vx,
    new Map([
      ["192.168.0.9", "fa:16:3e:a8:00:09"],
      ["192.168.0.5", "fa:16:3e:a8:00:05"],
    ]),
  );
  assert.deepEqual(text(planOverlay([net], have, { ...o, keepBridges: new Set(["rvbrcafecafe"]) })), [
    `bridge fdb del fa:16:3e:a8:00:05 dev ${vx} dst 10.254.0.13 self`,
    `bridge fdb del fa:16:3e:a8:00:09 dev ${vx} dst 10.254.0.12 self`,
    `ip neigh del 192.168.0.9 dev ${vx}`,
    `bridge fdb replace fa:16:3e:a8:00:05 dev ${vx} dst 10.254.0.12 self permanent`,
    "ip link del rvvxdeadbeef",
    "ip link del rvbrdeadbeef",
  ]);
});
