import assert from "node:assert/strict";
import { test } from "node:test";
import { cidrContains, heldKeys, parseCidr, ServiceAllocator } from "./allocators.ts";

test("CIDR arithmetic", () => {
  const c = parseCidr("10.0.0.0/24");
  assert.equal(cidrContains(c, "10.0.0.255"), true);
  assert.equal(cidrContains(c, "10.0.1.0"), false);
  assert.equal(cidrContains(c, "not-an-ip"), false);
  assert.equal(parseCidr("10.0.0.77/24").base, parseCidr("10.0.0.0/24").base);
});

test("ClusterIPs skip the network address and the kubernetes Service's .1 and never repeat", () => {
  const a = new ServiceAllocator("10.0.0.0/29");
  const used = new Set<string>();
  const got: string[] = [];
  for (;;) {
    const ip = a.pickIp(used);
    if (!ip) break;
    used.add(ip);
    got.push(ip);
  }
  assert.deepEqual(got, ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
  assert.ok(a.checkRequestedIp("10.0.1.9"));
  assert.equal(a.checkRequestedIp("10.0.0.6"), undefined);
});

test("node ports stay in range and a Service's held keys cover its IP and node ports", () => {
  const a = new ServiceAllocator("10.0.0.0/24", [30000, 30001]);
  const used = new Set<number>([30000]);
  assert.equal(a.pickNodePort(used), 30001);
  used.add(30001);
  assert.equal(a.pickNodePort(used), undefined);
  assert.deepEqual(heldKeys({ spec: { clusterIPs: ["10.0.0.9"], ports: [{ nodePort: 30001 }] } }), [
    "/registry/ranges/serviceips/10.0.0.9",
    "/registry/ranges/servicenodeports/30001",
  ]);
  assert.deepEqual(heldKeys({ spec: { clusterIP: "None", clusterIPs: ["None"] } }), []);
});
