import assert from "node:assert/strict";
import { test } from "node:test";
import type { LoadBalancerRequest } from "../backend.ts";
import type { Owner } from "../model.ts";
import { desiredLoadBalancerSpec, sameLoadBalancerSpec } from "./lb-spec.ts";

const owner: Owner = { kind: "Service", namespace: "default", name: "demo", uid: "svc-uid" };

function ids() {
  let n = 0;
  return () => `id-${++n}`;
}

const req = (listeners: [string, number, string[]][]): LoadBalancerRequest => ({
  owner,
  name: "demo",
  vipAddress: "10.0.0.228",
  vipSubnetId: "svc-sub",
  listeners: listeners.map(([name, port, members]) => ({
    name,
    protocol: "TCP",
    port,
    members: members.map((address) => ({ name: `pod-${address}`, address, port: 8080, subnetId: "sub" })),
  })),
});

test("a new load balancer: sorted listeners and members, one pool per listener, fresh ids", () => {
  const spec = desiredLoadBalancerSpec(
    req([
      ["https", 443, ["192.168.0.10", "192.168.0.9"]],
      ["", 80, ["192.168.0.9"]],
    ]),
    undefined,
    ids(),
  );
  assert.equal(spec.vipPortId, "id-8", "generated last");
  assert.deepEqual(
    spec.listeners.map((l) => [l.name, l.protocolPort, l.id, l.defaultPoolId]),
    [
      ["TCP-80", 80, "id-1", "id-2"],
      ["https", 443, "id-4", "id-5"],
    ],
  );
  assert.deepEqual(
    spec.pools[1].members.map((m) => m.address),
    ["192.168.0.9", "192.168.0.10"],
    "numeric address order",
  );
  assert.equal(spec.pools[1].listenerId, "id-4");
  assert.equal(new Set([spec.vipPortId, ...spec.pools.flatMap((p) => p.members.map((m) => m.id))]).size, 4);
  assert.equal(spec.pools[1].lbAlgorithm, "ROUND_ROBIN");
});

test("ids survive while protocol+port (listeners) and address+port (members) stay", () => {
  const next = ids();
  const first = desiredLoadBalancerSpec(req([["", 80, ["192.168.0.3", "192.168.0.5"]]]), undefined, next);
  const same = desiredLoadBalancerSpec(
    req([["", 80, ["192.168.0.5", "192.168.0.3", "192.168.0.3"]]]),
    first,
    next,
  );
  assert.ok(sameLoadBalancerSpec(first, same), "order and duplicate endpoints do not count");

  const changed = desiredLoadBalancerSpec(
    req([
      ["", 80, ["192.168.0.5", "192.168.0.7"]],
      ["", 81, ["192.168.0.5"]],
    ]),
    first,
    next,
  );
  assert.ok(!sameLoadBalancerSpec(first, changed));
  assert.equal(changed.vipPortId, first.vipPortId);
  assert.equal(changed.listeners[0].id, first.listeners[0].id);
  assert.equal(changed.pools[0].id, first.pools[0].id);
  const kept = first.pools[0].members.find((m) => m.address === "192.168.0.5")!.id;
  assert.deepEqual(
    changed.pools[0].members.map((m) => [m.address, m.id === kept]),
    [
      ["192.168.0.5", true],
      ["192.168.0.7", false],
    ],
  );
  assert.notEqual(changed.pools[1].members[0].id, kept, "another listener's member is another member");

  // A member's display name or subnet change is a change, but keeps its id.
  const renamed = desiredLoadBalancerSpec(req([["", 80, ["192.168.0.3", "192.168.0.5"]]]), first, next);
  renamed.pools[0].members[0].name = "renamed";
  assert.ok(!sameLoadBalancerSpec(first, renamed));
});

test("spec equality ignores key order and undefined fields", () => {
  const a = desiredLoadBalancerSpec(req([["", 80, []]]), undefined, ids());
  // Keys in reverse order, plus a field that is present but undefined.
  const reversed = Object.fromEntries(Object.entries(a).reverse());
  const b = { ...reversed, extra: undefined } as unknown as typeof a;
  assert.deepEqual(Object.keys(b).slice(0, 2), ["pools", "listeners"]);
  assert.ok(sameLoadBalancerSpec(a, b));
});
