// The policy table's incremental updates against the real kernel: a random walk of policy
// models (policies coming and going, pods and peers changing, rules changing shape), each step
// applied as a difference in one network namespace and as a whole table in another; the kernel
// must hold the same table in both after every step. Also that the kernel takes every kind of
// element the planner writes (ranges, concatenations, SCTP).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { nftTool } from "../src/dataplane/nft.ts";
import {
  type PlannedPolicy,
  type PlannedRule,
  type PolicyModel,
  planPolicyTable,
  planPolicyUpdate,
  policyShape,
} from "../src/dataplane/nft-policy.ts";

const PREFIX = `rvnp${randomBytes(3).toString("hex")}`;
const [INCREMENTAL, WHOLE] = [`${PREFIX}-inc`, `${PREFIX}-whole`];
const TABLE = "raven-policy";

before(() => {
  for (const ns of [INCREMENTAL, WHOLE]) execFileSync("ip", ["netns", "add", ns]);
});
after(() => {
  for (const ns of [INCREMENTAL, WHOLE]) {
    try {
      execFileSync("ip", ["netns", "del", ns]);
    } catch {
      // not made
    }
  }
});

/** A deterministic generator (mulberry32), so a failure can be replayed from its seed. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The table as the kernel lists it, without handles, set elements in a stable order. */
function normalized(ns: string): unknown {
  const out = JSON.parse(
    execFileSync("nsenter", [`--net=/run/netns/${ns}`, "nft", "-j", "list", "table", "ip", TABLE]).toString(),
  );
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === "object")
      return Object.fromEntries(
        Object.entries(v)
          .filter(([k]) => k !== "handle")
          .map(([k, x]) => [
            k,
            k === "elem" && Array.isArray(x) ? x.map((e) => JSON.stringify(strip(e))).sort() : strip(x),
          ]),
      );
    return v;
  };
  const items = (out.nftables as Record<string, unknown>[]).filter((i) => !i.metainfo).map(strip);
  return items.map((i) => JSON.stringify(i)).sort();
}

test("a random walk of 60 policy changes: the differences leave the kernel with the same table as writing it whole", async () => {
  const seed = Number(process.env.RAVEN_NFT_SEED ?? 20261207);
  const rand = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const some = <T>(xs: T[], p = 0.3) => xs.filter(() => rand() < p);
  const pods = Array.from({ length: 24 }, (_, i) => `192.168.${i % 3}.${10 + i}`);
  const rule = (): PlannedRule => {
    const r: PlannedRule = {};
    if (rand() < 0.7)
      r.peers = {
        pods: some(pods),
        ranges:
          rand() < 0.4 ? pick([["10.0.0.0-10.0.255.255"], ["172.16.0.1", "172.16.1.0-172.16.1.255"]]) : [],
      };
    if (rand() < 0.7) {
      r.ports = some(
        [
          { protocol: "TCP" as const, from: 80, to: 80 },
          { protocol: "TCP" as const, from: 81, to: 90 },
          { protocol: "UDP" as const, from: 0, to: 65535 },
          { protocol: "SCTP" as const, from: 5000, to: 5000 },
        ],
        0.5,
      );
      if (rand() < 0.5)
        r.named = some(pods).map((ip) => ({
          ip,
          protocol: pick(["TCP", "UDP"] as const),
          port: 8000 + Math.floor(rand() * 10),
        }));
    }
    return r;
  };
  const policy = (id: number): PlannedPolicy => ({
    id,
    targets: [...new Set([pick(pods), ...some(pods, 0.2)])].sort(),
    ...(rand() < 0.8 ? { ingress: Array.from({ length: Math.floor(rand() * 3) }, rule) } : {}),
    ...(rand() < 0.5 ? { egress: Array.from({ length: Math.floor(rand() * 3) }, rule) } : {}),
  });
  let nextId = 1;
  let model: PolicyModel = { table: TABLE, policies: [policy(nextId++), policy(nextId++)] };
  const inc = nftTool(INCREMENTAL);
  const whole = nftTool(WHOLE);
  await inc.apply(planPolicyTable(model));
  let incrementalSteps = 0;
  for (let step = 0; step < 60; step++) {
    const policies = model.policies.map((p) => ({ ...p }));
    const what = rand();
    if (what < 0.2 || !policies.length) policies.push(policy(nextId++));
    else if (what < 0.35) policies.splice(Math.floor(rand() * policies.length), 1);
    else {
      // Same shape, other elements: new targets, peers, named ports.
      const i = Math.floor(rand() * policies.length);
      const p = policies[i];
      const changed: PlannedPolicy = {
        ...p,
        targets: [...new Set([pick(pods), ...some(pods, 0.2)])].sort(),
        ...(p.ingress
          ? {
              ingress: p.ingress.map((r) => ({
                ...r,
                ...(r.peers ? { peers: { ...r.peers, pods: some(pods) } } : {}),
              })),
            }
          : {}),
        ...(p.egress
          ? {
              egress: p.egress.map((r) => ({
                ...r,
                ...(r.named
                  ? { named: some(pods).map((ip) => ({ ip, protocol: "TCP" as const, port: 8080 })) }
                  : {}),
              })),
            }
          : {}),
      };
      // A reshaped policy (sometimes) takes a new id, as the agent gives it.
      const reshaped = rand() < 0.25 ? { ...policy(0), id: nextId++ } : changed;
      assert.ok(reshaped.id !== p.id || policyShape(reshaped) === policyShape(p));
      policies[i] = reshaped;
    }
    const next: PolicyModel = { table: TABLE, policies };
    const script = planPolicyUpdate(model, next);
    if (script) {
      incrementalSteps++;
      await inc.apply(script).catch((err) => {
        throw new Error(
          `step ${step} (seed ${seed}): the kernel refused the difference: ${err.message}\n${script}`,
        );
      });
    }
    await whole.apply(planPolicyTable(next));
    assert.deepEqual(normalized(INCREMENTAL), normalized(WHOLE), `step ${step} (seed ${seed})`);
    model = next;
  }
  assert.ok(incrementalSteps > 40, `${incrementalSteps} steps changed something`);
});
