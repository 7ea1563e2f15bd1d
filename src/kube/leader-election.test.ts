import assert from "node:assert/strict";
import { test } from "node:test";
import { KubeApiError } from "./errors.ts";
import { FakeClock, flush } from "./fake-clock.ts";
import { type LeaderElectionConfig, LeaderElector, type Lease, type LeaseClient } from "./leader-election.ts";
import { silentLogger } from "./log.ts";

/** An in-memory Lease store with the API server's optimistic concurrency. */
class FakeLeases implements LeaseClient {
  lease: Lease | undefined;
  private rv = 0;
  conflicts = 0;
  updates = 0;
  /** When set, every call fails as if the API server were unreachable. */
  down = false;

  private check(): void {
    if (this.down) throw new KubeApiError("GET", "/leases", { code: 503, message: "unavailable" });
  }

  async get(): Promise<Lease | undefined> {
    await Promise.resolve();
    this.check();
    return this.lease && structuredClone(this.lease);
  }

  async create(lease: Lease): Promise<Lease> {
    await Promise.resolve();
    this.check();
    if (this.lease)
      throw new KubeApiError("POST", "/leases", { code: 409, reason: "AlreadyExists", message: "exists" });
    this.lease = {
      ...structuredClone(lease),
      metadata: { ...lease.metadata, resourceVersion: String(++this.rv) },
    };
    return structuredClone(this.lease);
  }

  async update(lease: Lease): Promise<Lease> {
    await Promise.resolve();
    this.check();
    if (!this.lease)
      throw new KubeApiError("PUT", "/leases", { code: 404, reason: "NotFound", message: "gone" });
    if (lease.metadata.resourceVersion !== this.lease.metadata.resourceVersion) {
      this.conflicts++;
      throw new KubeApiError("PUT", "/leases", { code: 409, reason: "Conflict", message: "modified" });
    }
    this.updates++;
    this.lease = {
      ...structuredClone(lease),
      metadata: { ...lease.metadata, resourceVersion: String(++this.rv) },
    };
    return structuredClone(this.lease);
  }
}

interface Candidate {
  elector: LeaderElector;
  events: string[];
  ctl: AbortController;
  done: Promise<void>;
  leadSignal?: AbortSignal;
}

function candidate(
  identity: string,
  leases: LeaseClient,
  clock: FakeClock,
  extra: Partial<LeaderElectionConfig> = {},
): Candidate {
  const events: string[] = [];
  const c = { events, ctl: new AbortController() } as Candidate;
  c.elector = new LeaderElector({
    leases,
    namespace: "kube-system",
    name: "raven-controller",
    identity,
    clock,
    random: () => 0,
    logger: silentLogger,
    onStartedLeading: (signal) => {
      c.leadSignal = signal;
      events.push("started");
    },
    onStoppedLeading: () => events.push("stopped"),
    onNewLeader: (id) => events.push(`leader ${id}`),
    ...extra,
  });
  c.done = c.elector.run(c.ctl.signal);
  return c;
}

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

test("a lone candidate creates the lease and leads", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  const a = candidate("a", leases, clock);
  await flush();
  assert.equal(a.elector.isLeader(), true);
  assert.deepEqual(a.events, ["leader a", "started"]);
  const spec = leases.lease!.spec!;
  assert.equal(spec.holderIdentity, "a");
  assert.equal(spec.leaseDurationSeconds, 15);
  assert.equal(spec.leaseTransitions, 0);
  assert.match(spec.acquireTime!, MICRO);
  assert.match(spec.renewTime!, MICRO);
  a.ctl.abort();
  await a.done;
});

test("two candidates racing for a free lease: exactly one wins, the other loses on 409", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  // A released lease, as a previous leader leaves it.
  leases.lease = {
    metadata: { name: "raven-controller", namespace: "kube-system", resourceVersion: "0" },
    spec: { holderIdentity: "", leaseDurationSeconds: 1, leaseTransitions: 4 },
  };
  const a = candidate("a", leases, clock);
  const b = candidate("b", leases, clock);
  await flush();
  assert.equal(leases.conflicts, 1, "both tried the same resourceVersion");
  const leaders = [a, b].filter((c) => c.elector.isLeader());
  assert.equal(leaders.length, 1);
  const winner = leaders[0] === a ? "a" : "b";
  const loser = winner === "a" ? b : a;
  assert.equal(leases.lease!.spec!.holderIdentity, winner);
  assert.equal(leases.lease!.spec!.leaseTransitions, 5);
  // The loser learns who leads at its next attempt and keeps waiting.
  await clock.advance(2000);
  assert.deepEqual(loser.events, [`leader ${winner}`]);
  // The winner keeps renewing; the loser never gets in.
  await clock.advance(60_000);
  assert.equal(loser.elector.isLeader(), false);
  assert.equal(leases.lease!.spec!.holderIdentity, winner);
  a.ctl.abort();
  b.ctl.abort();
  await Promise.all([a.done, b.done]);
});

test("the leader renews every retryPeriod, keeping acquireTime", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  const a = candidate("a", leases, clock);
  await flush();
  const acquired = leases.lease!.spec!.acquireTime;
  const firstRenew = leases.lease!.spec!.renewTime;
  await clock.advance(2000);
  assert.equal(leases.lease!.spec!.acquireTime, acquired);
  assert.notEqual(leases.lease!.spec!.renewTime, firstRenew);
  const before = leases.updates;
  await clock.advance(10_000);
  assert.equal(leases.updates - before, 5);
  a.ctl.abort();
  await a.done;
});

test("a lease whose holder stopped renewing is taken over after leaseDuration of local observation", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  const a = candidate("a", leases, clock, { releaseOnCancel: false });
  await flush();
  const b = candidate("b", leases, clock);
  await clock.advance(10_000);
  assert.equal(b.elector.isLeader(), false);
  // a crashes: it stops renewing and does not release.
  a.ctl.abort();
  await a.done;
  assert.equal(leases.lease!.spec!.holderIdentity, "a");
  await clock.advance(12_000);
  assert.equal(b.elector.isLeader(), false, "too early: the lease may still be valid");
  await clock.advance(7_000);
  assert.equal(b.elector.isLeader(), true);
  assert.deepEqual(b.events, ["leader a", "leader b", "started"]);
  assert.equal(leases.lease!.spec!.holderIdentity, "b");
  assert.equal(leases.lease!.spec!.leaseTransitions, 1);
  b.ctl.abort();
  await b.done;
});

test("expiry does not depend on the holder's clock: a renewTime far in the past still counts as fresh", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  // Written by a holder whose clock is an hour behind; it keeps renewing (the spec changes).
  leases.lease = {
    metadata: { name: "raven-controller", namespace: "kube-system", resourceVersion: "0" },
    spec: { holderIdentity: "skewed", leaseDurationSeconds: 15, renewTime: "2024-12-31T23:00:00.000000Z" },
  };
  const b = candidate("b", leases, clock);
  for (let i = 0; i < 10; i++) {
    leases.lease.spec!.renewTime = `2024-12-31T23:00:0${i}.000000Z`;
    leases.lease.metadata.resourceVersion = `r${i}`;
    await clock.advance(5000);
  }
  assert.equal(b.elector.isLeader(), false);
  b.ctl.abort();
  await b.done;
});

test("a leader that cannot renew within renewDeadline stops leading", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  const a = candidate("a", leases, clock);
  await flush();
  assert.equal(a.elector.isLeader(), true);
  await clock.advance(2000); // one good renewal
  leases.down = true;
  await clock.advance(8000);
  assert.equal(a.elector.isLeader(), true, "still within renewDeadline");
  assert.equal(a.leadSignal!.aborted, false);
  await clock.advance(6000);
  assert.equal(a.elector.isLeader(), false);
  assert.equal(a.leadSignal!.aborted, true);
  assert.deepEqual(a.events, ["leader a", "started", "stopped"]);
  await a.done;
});

test("a graceful stop releases the lease and another candidate takes over without waiting it out", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  const a = candidate("a", leases, clock);
  await flush();
  const b = candidate("b", leases, clock);
  await clock.advance(4000);
  a.ctl.abort();
  await a.done;
  assert.deepEqual(a.events, ["leader a", "started", "stopped"]);
  assert.equal(leases.lease!.spec!.holderIdentity, "");
  await clock.advance(2000);
  assert.equal(b.elector.isLeader(), true);
  assert.equal(leases.lease!.spec!.leaseTransitions, 1);
  b.ctl.abort();
  await b.done;
});

test("the leader's work is awaited before the lease is released", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  let finish!: () => void;
  const order: string[] = [];
  const a = candidate("a", leases, clock, {
    onStartedLeading: (signal) =>
      new Promise<void>((resolve) => {
        finish = () => {
          order.push(`work done (holder ${leases.lease!.spec!.holderIdentity})`);
          resolve();
        };
        signal.addEventListener("abort", () => order.push("aborted"));
      }),
  });
  await flush();
  a.ctl.abort();
  await flush();
  assert.equal(leases.lease!.spec!.holderIdentity, "a");
  finish();
  await a.done;
  assert.deepEqual(order, ["aborted", "work done (holder a)"]);
  assert.equal(leases.lease!.spec!.holderIdentity, "");
});

test("invalid timing is refused", () => {
  const leases = new FakeLeases();
  const base = { leases, namespace: "n", name: "l", identity: "a", onStartedLeading: () => {} };
  assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }));
  assert.throws(() => new LeaderElector({ ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 }));
});

test("a leader frozen past its lease may not act when it wakes, before it has even noticed; the standby leads", async () => {
  const leases = new FakeLeases();
  const leaderClock = new FakeClock();
  const standbyClock = new FakeClock();
  const a = candidate("a", leases, leaderClock, { releaseOnCancel: false });
  await flush();
  const b = candidate("b", leases, standbyClock);
  await standbyClock.advance(4000);
  assert.equal(a.elector.mayAct(), true, "a leader that renews may act");
  await leaderClock.advance(9000);
  assert.equal(a.elector.mayAct(), true);
  // a is frozen (SIGSTOP): its clock runs on, none of its timers fire. b takes over.
  for (let i = 0; i < 12; i++) {
    leaderClock.jump(2000);
    await standbyClock.advance(2000);
  }
  assert.equal(b.elector.isLeader(), true);
  // a wakes: it still believes it leads (its renew loop has not run), but it may not act.
  assert.equal(a.elector.isLeader(), true);
  assert.equal(a.elector.mayAct(), false, "its last renewal is older than renewDeadline");
  // Its renew loop runs, sees b, and gives up within renewDeadline.
  await leaderClock.advance(12_000);
  assert.equal(a.elector.isLeader(), false);
  assert.equal(a.leadSignal?.aborted, true);
  assert.equal(leases.lease!.spec!.holderIdentity, "b");
  a.ctl.abort();
  b.ctl.abort();
  await Promise.all([a.done, b.done]);
});

test("mayAct turns false renewDeadline after the last successful renewal, though the lease runs longer", async () => {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  const a = candidate("a", leases, clock);
  await flush();
  leases.down = true;
  await clock.advance(9000);
  assert.equal(a.elector.mayAct(), true);
  await clock.advance(1500);
  assert.equal(a.elector.mayAct(), false, "10 s (renewDeadline) after the last renewal");
  a.ctl.abort();
  await a.done;
});
