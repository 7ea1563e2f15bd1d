import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cidrContains,
  defaultLayout,
  firstFreeIp,
  firstFreeSubnet,
  isAssignable,
  macForIp,
  parseCidr,
  poolCapacity,
} from "./ipam.ts";

test("Neutron's default layout skips network, gateway and broadcast", () => {
  const l = defaultLayout("192.168.0.0/24");
  assert.deepEqual(l, { gateway: "192.168.0.1", pools: [{ start: "192.168.0.2", end: "192.168.0.254" }] });
  assert.equal(poolCapacity(l.pools, l.gateway), 253);
  assert.equal(isAssignable("192.168.0.255", l.pools, l.gateway), false);
  assert.equal(isAssignable("192.168.0.1", l.pools, l.gateway), false);
  assert.equal(isAssignable("192.168.0.2", l.pools, l.gateway), true);
  assert.throws(() => defaultLayout("10.0.0.0/31"), /too small/);
});

test("the lowest free address is handed out; exhaustion is undefined", () => {
  const pools = [{ start: "10.1.0.2", end: "10.1.0.4" }];
  assert.equal(firstFreeIp(pools, new Set()), "10.1.0.2");
  assert.equal(firstFreeIp(pools, new Set(["10.1.0.2"])), "10.1.0.3");
  assert.equal(firstFreeIp(pools, new Set(["10.1.0.2", "10.1.0.3", "10.1.0.4"])), undefined);
  assert.equal(firstFreeIp(pools, new Set(), "10.1.0.2"), "10.1.0.3", "never the gateway");
});

test("subnets are carved without overlap", () => {
  assert.equal(firstFreeSubnet("192.168.0.0/16", 24, ["192.168.0.0/24"]), "192.168.1.0/24");
  assert.equal(firstFreeSubnet("192.168.0.0/16", 24, ["192.168.0.0/23"]), "192.168.2.0/24");
  assert.equal(firstFreeSubnet("192.168.0.0/30", 31, ["192.168.0.0/31", "192.168.0.2/31"]), undefined);
  assert.equal(cidrContains(parseCidr("172.16.0.0/24")!, "172.16.0.4"), true);
  assert.equal(cidrContains(parseCidr("172.16.0.0/24")!, "172.17.0.4"), false);
});

test("MACs derive from the address with Neutron's prefix", () => {
  assert.equal(macForIp("192.168.0.2"), "fa:16:3e:a8:00:02");
  assert.notEqual(macForIp("192.168.1.2"), macForIp("192.168.0.2"));
});
