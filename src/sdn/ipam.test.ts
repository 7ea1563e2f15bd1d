import assert from "node:assert/strict";
import { test } from "node:test";
import {
  canonicalIpv4,
  chooseFreeIp,
  cidrContains,
  defaultLayout,
  externalSubnetLayout,
  firstFreeIp,
  firstFreeSubnet,
  isAssignable,
  macForIp,
  parseCidr,
  parseIpv4,
  poolCapacity,
  serviceSubnetLayout,
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

test("addresses are canonical: leading zeros, blanks and other forms never parse as an address", () => {
  assert.equal(parseIpv4("192.168.0.2"), ((192 << 24) >>> 0) + (168 << 16) + 2);
  for (const bad of [
    "192.168.0.002",
    "192.168.00.2",
    "01.2.3.4",
    " 1.2.3.4",
    "1.2.3.4 ",
    "::ffff:1.2.3.4",
    "256.1.1.1",
    "1.2.3",
  ])
    assert.equal(parseIpv4(bad), undefined, bad);
  assert.equal(parseCidr("192.168.0.0/024"), undefined);
  assert.equal(parseCidr("192.168.000.0/24"), undefined);
  assert.deepEqual(canonicalIpv4(" 192.168.0.7 "), { ip: "192.168.0.7" });
  assert.deepEqual(canonicalIpv4("::FFFF:192.168.0.7"), { ip: "192.168.0.7" });
  const zeros = canonicalIpv4("192.168.0.002");
  assert.ok(
    "error" in zeros && /leading zeros.*write 192\.168\.0\.2/.test(zeros.error),
    JSON.stringify(zeros),
  );
  assert.ok("error" in canonicalIpv4("fe80::1"));
  assert.ok("error" in canonicalIpv4("nginx"));
});

test("never-released addresses go first (lowest), then the least recently released", () => {
  const pools = [{ start: "10.1.0.2", end: "10.1.0.6" }];
  const released = new Map([
    ["10.1.0.4", { at: 100 }], // released first
    ["10.1.0.2", { at: 200 }],
  ]);
  assert.deepEqual(chooseFreeIp(pools, new Set(["10.1.0.3"]), "10.1.0.1", released), { ip: "10.1.0.5" });
  assert.deepEqual(chooseFreeIp(pools, new Set(["10.1.0.3", "10.1.0.5", "10.1.0.6"]), null, released), {
    ip: "10.1.0.4",
    releasedAt: 100,
  });
  const all = new Set(["10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"]);
  assert.deepEqual(chooseFreeIp(pools, all, null, released), { ip: "10.1.0.2", releasedAt: 200 });
  assert.equal(chooseFreeIp(pools, new Set([...all, "10.1.0.2"]), null, released), undefined);
  // A released address outside the pools (the pools shrank) is never handed out.
  assert.equal(
    chooseFreeIp([{ start: "10.1.0.5", end: "10.1.0.5" }], new Set(["10.1.0.5"]), null, released),
    undefined,
  );
});

test("a service CIDR's Neutron subnet is twice its size; the router and Neutron's own picks stay in the other half", () => {
  assert.deepEqual(serviceSubnetLayout("10.0.0.0/24"), {
    cidr: "10.0.0.0/23",
    gateway: "10.0.1.254",
    pools: [{ start: "10.0.1.0", end: "10.0.1.253" }],
  });
  assert.deepEqual(serviceSubnetLayout("10.0.1.0/24"), {
    cidr: "10.0.0.0/23",
    gateway: "10.0.0.254",
    pools: [{ start: "10.0.0.1", end: "10.0.0.253" }],
  });
  assert.throws(() => serviceSubnetLayout("10.0.0.0/31"));
});

test("Raven's own external subnet keeps its last address for the router, out of the floating IP pool", () => {
  assert.deepEqual(externalSubnetLayout("172.16.0.0/24"), {
    cidr: "172.16.0.0/24",
    gateway: null,
    pools: [{ start: "172.16.0.2", end: "172.16.0.253" }],
    router: "172.16.0.254",
  });
});
