import assert from "node:assert/strict";
import { test } from "node:test";
import { type Frontend, planServices } from "./nft-services.ts";

const fe = (address: string, port: number, members: string[], external = false): Frontend => ({
  address,
  protocol: "tcp",
  port,
  members: members.map((a) => ({ address: a, port: 8080 })),
  external,
});

const rules = (script: string) =>
  script
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^(jump|ip |ct |meta |dnat)/.test(l));

test("one transaction: the table is created if missing, deleted and written anew", () => {
  const s = planServices({
    table: "raven",
    frontends: [fe("10.0.0.2", 80, ["192.168.0.2"])],
    nodeIp: "10.254.0.11",
  });
  const lines = s.split("\n");
  assert.deepEqual(lines.slice(0, 3), ["table ip raven", "delete table ip raven", "table ip raven {"]);
  assert.match(s, /10\.0\.0\.2 \. tcp \. 80 : goto lb-1/);
  assert.match(s, /10\.0\.0\.2 \. tcp \. 80 \. 0 : 192\.168\.0\.2 \. 8080/);
  assert.match(s, /snat ip to 10\.254\.0\.11/);
});

test("the rule count does not grow with Services or members, only with distinct member counts", () => {
  const many = Array.from({ length: 1000 }, (_, i) =>
    fe(`10.0.${i >> 8}.${i & 255}`, 80, ["192.168.0.2", "192.168.0.3", "192.168.0.4"]),
  );
  const one = planServices({ table: "raven", frontends: many.slice(0, 1), nodeIp: "10.254.0.11" });
  const thousand = planServices({ table: "raven", frontends: many, nodeIp: "10.254.0.11" });
  assert.equal(rules(thousand).length, rules(one).length);
  const mixed = planServices({
    table: "raven",
    frontends: [...many, fe("10.0.9.1", 80, ["192.168.0.9"])],
    nodeIp: "10.254.0.11",
  });
  assert.equal(rules(mixed).length, rules(one).length + 1, "one more chain for one more member count");
});

test("a frontend without members has no dispatch element but is rejected; floating IPs are SNATed", () => {
  const s = planServices({
    table: "raven",
    frontends: [fe("10.0.0.5", 80, []), fe("172.16.0.4", 80, ["192.168.0.2"], true)],
    nodeIp: "10.254.0.11",
  });
  assert.doesNotMatch(s, /10\.0\.0\.5 \. tcp/);
  assert.match(s, /set frontend-ips \{[^}]*10\.0\.0\.5/s);
  assert.match(s, /set external-ips \{[^}]*172\.16\.0\.4/s);
  assert.match(s, /ip daddr @frontend-ips reject/);
  assert.match(s, /set hairpin \{[^}]*192\.168\.0\.2 \. 192\.168\.0\.2/s);
});
