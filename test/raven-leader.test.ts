// Two raven-controller replicas behind the Lease kube-system/raven-controller: only the leader
// acts; SIGKILL on the leader hands over once the lease has run out (and not before), SIGTERM
// releases the lease so the standby takes over at once. Pods created while nobody leads still
// get their ports. A leader frozen past its lease (SIGSTOP) writes nothing when it wakes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isNotFound } from "../src/kube/errors.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { LEASES, PODS } from "../src/kube/resource.ts";
import { PORTS } from "../src/sdn/embedded/resources.ts";
import { type LogLine, metricSum, type RavenProcess, startRaven, stopAll } from "./support/raven-process.ts";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

const LEASE_S = 6;
const LEASE_MS = LEASE_S * 1000;
/** How late after the lease ran out a standby may notice: two of its polls (≤ 2.2 × lease/7.5 each) and load. */
const TAKEOVER_MARGIN_MS = 5000;
/** A released lease is taken at the standby's next poll: well under the lease duration. */
const GRACEFUL_MAX_MS = LEASE_MS * 0.75;

let sb: Sandbox;
const replicaArgs = (identity: string) => ["--identity", identity, "--lease-duration", String(LEASE_S)];
const startedLeading = (l: LogLine) => l.msg === "started leading";

before(async () => {
  sb = await startSandbox({ virtualNodes: 1, backend: "embedded", ravenController: false, audit: true });
});
after(async () => {
  await stopAll();
  await sb?.stop();
});

async function lease(): Promise<KubeObject> {
  return sb.client.get(LEASES, "kube-system", "raven-controller");
}

async function ready(p: RavenProcess): Promise<void> {
  const address = await p.listen();
  await eventually(
    async () => (await fetch(`http://${address}/readyz`)).status === 200,
    60_000,
    `${p.name} ready (caches synced)`,
  );
}

async function createPod(name: string): Promise<KubeObject> {
  return sb.client.create(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "leader-test" } },
    spec: { containers: [{ name: "c", image: "nginx" }] },
  });
}

/** Waits until the pod runs with the IP of its one Port, as its annotation says; answers the Port. */
async function portOf(name: string, timeoutMs = 30_000): Promise<KubeObject> {
  const port = await eventually(
    async () => {
      const pod = await sb.client.get(PODS, "default", name);
      const ann = pod.metadata.annotations?.["raven.io/port"];
      if (!ann || pod.status?.phase !== "Running") return undefined;
      const ports = (await sb.client.list(PORTS, { namespace: "default" })).items.filter(
        (p) => p.spec.owner.uid === pod.metadata.uid,
      );
      if (ports.length !== 1) return undefined;
      const a = JSON.parse(ann);
      assert.equal(a.id, ports[0].metadata.uid, `${name}: the annotation names its port`);
      assert.equal(a.fixed_ips[0].ip_address, ports[0].spec.ipAddress);
      assert.equal(pod.status.podIP, ports[0].spec.ipAddress, `${name}: the pod IP is its port's`);
      return ports[0];
    },
    timeoutMs,
    `pod ${name} running with its port`,
  );
  return port!;
}

async function deletePod(name: string): Promise<void> {
  try {
    await sb.client.delete(PODS, "default", name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

let leader: RavenProcess;
let standby: RavenProcess;

test("of two replicas, the one the Lease names leads and only it acts", async () => {
  const a = startRaven(sb, "a", replicaArgs("raven-a"));
  const b = startRaven(sb, "b", replicaArgs("raven-b"));
  const holder = await eventually(
    async () => {
      const h = (await lease()).spec?.holderIdentity;
      return h === "raven-a" || h === "raven-b" ? h : undefined;
    },
    60_000,
    "the Lease names raven-a or raven-b",
  );
  [leader, standby] = holder === "raven-a" ? [a, b] : [b, a];
  await leader.waitForLog(startedLeading, 30_000, "the leader's 'started leading'");
  await Promise.all([ready(a), ready(b)]);
  await standby.waitForLog(
    (l) => l.msg === "leader is now" && l.leader === holder,
    30_000,
    "the standby seeing the leader",
  );

  const names = ["one", "two", "three", "four"];
  await Promise.all(names.map(createPod));
  for (const n of names) await portOf(n);

  const l = await leader.metrics();
  const s = await standby.metrics();
  assert.equal(metricSum(l, "raven_leader"), 1, "raven_leader 1 on the leader");
  assert.ok(metricSum(l, "raven_reconcile_total", { kind: "pod" }) >= names.length, l);
  assert.ok(metricSum(l, "raven_backend_operations_total", { op: "createPort" }) >= names.length);
  assert.equal(metricSum(s, "raven_leader"), 0, "raven_leader 0 on the standby");
  assert.equal(metricSum(s, "raven_reconcile_total"), 0, "the standby reconciled nothing");
  assert.equal(metricSum(s, "raven_backend_operations_total"), 0, "the standby wrote nothing to the SDN");
  assert.ok(!standby.lines.some(startedLeading), "the standby never led");
  assert.equal((await lease()).spec.holderIdentity, holder, "the leader still holds the lease");
});

test("SIGKILL on the leader: the standby takes over once the lease has run out, and pods created meanwhile get ports", async () => {
  const killedAt = Date.now();
  await leader.kill("SIGKILL");
  const before = await lease();
  assert.equal(
    before.spec.holderIdentity,
    leader.name === "a" ? "raven-a" : "raven-b",
    "nobody took over yet",
  );
  const lastRenew = Date.parse(before.spec.renewTime);
  const transitions = before.spec.leaseTransitions ?? 0;

  // Pods created while nobody leads.
  const gap = ["gap-1", "gap-2", "gap-3"];
  await Promise.all(gap.map(createPod));

  const took = await standby.waitForLog(
    startedLeading,
    LEASE_MS + TAKEOVER_MARGIN_MS + 20_000,
    "the standby's 'started leading'",
  );
  const handover = took.time - killedAt;
  console.log(
    `leader killed: the standby led after ${handover} ms (lease ${LEASE_MS} ms, last renewal ${killedAt - lastRenew} ms before the kill)`,
  );
  // Not before the lease ran out (as the standby saw it; allow for one request's latency) ...
  assert.ok(
    took.time >= lastRenew + LEASE_MS - 1000,
    `took over ${took.time - lastRenew} ms after the last renewal, before the ${LEASE_MS} ms lease ran out`,
  );
  // ... and within the lease duration plus a small margin.
  assert.ok(
    handover <= LEASE_MS + TAKEOVER_MARGIN_MS,
    `hand-over took ${handover} ms (> ${LEASE_MS + TAKEOVER_MARGIN_MS})`,
  );

  for (const n of gap) {
    const port = await portOf(n);
    // Nobody acted while nobody led: the gap pods' ports were made by the new leader.
    assert.ok(
      Date.parse(port.metadata.creationTimestamp ?? "") >= Math.floor(took.time / 1000) * 1000,
      `${n}'s port was created at ${port.metadata.creationTimestamp}, before the standby led (${new Date(took.time).toISOString()})`,
    );
  }
  const t0 = Date.now();
  await createPod("after-kill");
  await portOf("after-kill");
  console.log(`a pod created after the hand-over got its port in ${Date.now() - t0} ms`);

  const now = await lease();
  assert.equal(now.spec.holderIdentity, standby.name === "a" ? "raven-a" : "raven-b");
  assert.equal(now.spec.leaseTransitions, transitions + 1);
  assert.equal(metricSum(await standby.metrics(), "raven_leader"), 1);
  // Ports of the pods from before the kill are still there, untouched.
  for (const n of ["one", "two", "three", "four"]) await portOf(n, 5_000);
  leader = standby;
});

test("SIGTERM on the leader releases the lease: a new replica takes over at once", async () => {
  const next = startRaven(sb, "c", replicaArgs("raven-c"));
  await ready(next);
  const current = leader.name === "a" ? "raven-a" : "raven-b";
  await next.waitForLog(
    (l) => l.msg === "leader is now" && l.leader === current,
    30_000,
    "the new replica seeing the leader",
  );
  assert.equal(metricSum(await next.metrics(), "raven_leader"), 0);

  const termAt = Date.now();
  await leader.kill("SIGTERM");
  const exit = await leader.exited;
  assert.equal(exit.code, 0, "the old leader exits cleanly");
  assert.ok(
    leader.lines.some((l) => l.msg === "released lease"),
    "the old leader released the lease",
  );
  const took = await next.waitForLog(startedLeading, LEASE_MS + 20_000, "raven-c's 'started leading'");
  const handover = took.time - termAt;
  console.log(`leader stopped with SIGTERM: raven-c led after ${handover} ms (lease ${LEASE_MS} ms)`);
  assert.ok(
    handover < GRACEFUL_MAX_MS,
    `graceful hand-over took ${handover} ms; a released lease should be taken well under the ${LEASE_MS} ms lease`,
  );
  assert.equal((await lease()).spec.holderIdentity, "raven-c");

  await deletePod("one");
  await eventually(
    async () => {
      const ports = await sb.client.list(PORTS, { namespace: "default" });
      return !ports.items.some((p) => p.spec.owner.name === "one");
    },
    30_000,
    "the deleted pod's port released by the new leader",
  );
  await eventually(
    async () => {
      try {
        await sb.client.get(PODS, "default", "one");
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    },
    30_000,
    "the deleted pod gone",
  );
  await createPod("after-term");
  await portOf("after-term");
  assert.equal(metricSum(await next.metrics(), "raven_leader"), 1);
  leader = next;
});

test("a leader frozen (SIGSTOP) past its lease writes nothing when it wakes: it drops its work and exits; no pod gets two ports", async () => {
  const frozenId = `raven-${leader.name}`;
  const next = startRaven(sb, "d", replicaArgs("raven-d"));
  await ready(next);
  await next.waitForLog(
    (l) => l.msg === "leader is now" && l.leader === frozenId,
    30_000,
    "d seeing the leader",
  );
  // A burst of work; the leader freezes in the middle of it (what it has not seen yet waits in
  // its watch connections, and reaches it when it wakes).
  const burst = Array.from({ length: 30 }, (_, i) => `burst-${i}`);
  const creating = burst.map(createPod);
  await Promise.all(creating.slice(0, 5));
  process.kill(leader.pid, "SIGSTOP");
  await Promise.all(creating);
  const frozenAt = Date.now();
  let wokeAt = 0;
  try {
    await next.waitForLog(startedLeading, LEASE_MS + TAKEOVER_MARGIN_MS + 20_000, "d's 'started leading'");
    for (const n of burst) await portOf(n);
  } finally {
    wokeAt = Date.now();
    process.kill(leader.pid, "SIGCONT");
  }
  console.log(`leader frozen for ${wokeAt - frozenAt} ms (lease ${LEASE_MS} ms)`);
  // It notices it lost the lease, drops what it had queued, and exits.
  await leader.waitForLog((l) => l.msg === "stopped leading", 30_000, "the woken leader stepping down");
  const exit = await leader.exited;
  assert.notEqual(exit.code, 0, "it exits (to restart clean)");
  const ended = leader.lines.find((l) => l.msg.startsWith("leadership ended"));
  const refused = leader.lines.filter((l) => JSON.stringify(l).includes("not writing")).length;
  console.log(
    `the woken leader dropped ${ended?.dropped} queued keys; ${refused} log lines show writes it refused`,
  );
  const woken = ["woken-1", "woken-2"];
  await Promise.all(woken.map(createPod));
  for (const n of [...burst, ...woken]) await portOf(n);

  const writes = readFileSync(join(sb.dir, "logs", "audit.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter(
      (e) =>
        e.userAgent === `raven-controller/${frozenId}` &&
        !["get", "list", "watch"].includes(e.verb) &&
        e.resource !== "leases",
    );
  assert.ok(
    writes.some((e) => Date.parse(e.ts) < frozenAt),
    "the audit log shows the leader's writes from before it froze",
  );
  assert.deepEqual(
    writes.filter((e) => Date.parse(e.ts) >= wokeAt),
    [],
    "nothing but the lease was written by the woken leader",
  );
  assert.equal(metricSum(await next.metrics(), "raven_leader"), 1);
});
