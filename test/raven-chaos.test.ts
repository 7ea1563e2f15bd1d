// Chaos: raven-controller SIGKILLed at random moments and restarted after a random pause
// (none, short, or long enough for pods with ports to be deleted and for objects to
// vanish behind its back), while pods, Deployments, Services (selectors, externalIPs, type
// LoadBalancer) and namespaces churn. Once the churn stops and the controller has been started
// one last time, the backend must match the cluster exactly (see support/raven-invariants.ts):
// no orphaned or missing object, no duplicate IP, and no pod's IP ever changed. A second test
// churns without restarts, then has Services vanish and come back under the same names at once.
// RAVEN_CHAOS_SEED seeds the choices (the interleaving of concurrent operations still varies);
// RAVEN_CHAOS_MS sets the churn time.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { SharedInformerFactory } from "../src/kube/informer-factory.ts";
import { silentLogger } from "../src/kube/log.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { PODS } from "../src/kube/resource.ts";
import { FLOATINGIPS, PORTS } from "../src/sdn/embedded/resources.ts";
import { Churn, createChaosWorld, prng, sleep } from "./support/churn.ts";
import { describe, snapshot, violations } from "./support/raven-invariants.ts";
import { metricSum, type RavenProcess, startRaven, stopAll } from "./support/raven-process.ts";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

const SEED = Number(process.env.RAVEN_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CHURN_MS = Number(process.env.RAVEN_CHAOS_MS ?? 45_000);
const CONVERGE_MS = 120_000;

let sb: Sandbox;
let controller: RavenProcess | undefined;
let generation = 0;
let churn: Churn;
const rand = prng(SEED);
const watching = new AbortController();
/** Every port IP each pod (by UID) was ever annotated with: a pod's IP must never change. */
const podIps = new Map<string, { pod: string; ips: Set<string> }>();
/** What happened to each pod (by UID) and its ports, to explain an IP change when one shows up. */
const history = new Map<string, string[]>();

function remember(uid: string, what: string): void {
  const h = history.get(uid) ?? [];
  h.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
  history.set(uid, h.slice(-60));
}

function recordPod(pod: KubeObject, type: string): void {
  const ip = parsePortIp(pod.metadata.annotations?.["raven.io/port"]) ?? "-";
  const m = pod.metadata;
  remember(
    m.uid!,
    `pod ${type} rv ${m.resourceVersion} phase ${pod.status?.phase} node ${pod.spec?.nodeName ?? "-"}` +
      `${m.deletionTimestamp ? " deleting" : ""} finalizers ${(m.finalizers ?? []).join(",") || "-"} ip ${ip}`,
  );
  recordPodIp(pod);
}

function recordPort(port: KubeObject, type: string): void {
  const owner = (port.spec as { owner?: { uid?: string; name?: string } } | undefined)?.owner;
  const m = port.metadata;
  if (owner?.uid) remember(owner.uid, `port ${type} ${m.name} rv ${m.resourceVersion}`);
  remember(`${m.namespace}/${m.name}`, `${type} rv ${m.resourceVersion} owner ${owner?.name} ${owner?.uid}`);
}

/** Controller starts and kills, to line up with the histories. */
function lifecycle(what: string): void {
  remember("controller", what);
}

function recordPodIp(pod: KubeObject): void {
  const ip = parsePortIp(pod.metadata.annotations?.["raven.io/port"]);
  if (!ip) return;
  const uid = pod.metadata.uid!;
  const seen = podIps.get(uid) ?? { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, ips: new Set() };
  seen.ips.add(ip);
  podIps.set(uid, seen);
}

function parsePortIp(annotation: string | undefined): string | undefined {
  try {
    return annotation ? JSON.parse(annotation).fixed_ips?.[0]?.ip_address : undefined;
  } catch {
    return undefined;
  }
}

/** Pods that were given one IP and later another, each with its history. */
function ipChanges(except: ReadonlySet<string> = new Set()): string[] {
  return [...podIps.entries()]
    .filter(([uid, p]) => p.ips.size > 1 && !except.has(uid))
    .map(([uid, p]) => {
      const ns = p.pod.split("/")[0];
      const ports = [...p.ips].map((ip) => `${ns}/${ip.replaceAll(".", "-")}`);
      return [
        `pod ${p.pod} had IPs ${[...p.ips].join(", ")}`,
        ...(history.get(uid) ?? []),
        ...ports.flatMap((k) => [`port ${k}:`, ...(history.get(k) ?? [])]),
        "controller:",
        ...(history.get("controller") ?? []),
      ].join("\n    ");
    });
}

before(async () => {
  console.log(`chaos seed ${SEED} (replay with RAVEN_CHAOS_SEED=${SEED})`);
  sb = await startSandbox({ virtualNodes: 2, backend: "embedded", ravenController: false });
  const world = await createChaosWorld(sb.client);
  const informers = new SharedInformerFactory(sb.client, { logger: silentLogger });
  informers.informerFor(PODS).addEventHandler({
    onAdd: (p) => recordPod(p, "ADDED"),
    onUpdate: (_o, p) => recordPod(p, "MODIFIED"),
    onDelete: (p) => recordPod(p, "DELETED"),
  });
  informers.informerFor(PORTS).addEventHandler({
    onAdd: (p) => recordPort(p, "ADDED"),
    onUpdate: (_o, p) => recordPort(p, "MODIFIED"),
    onDelete: (p) => recordPort(p, "DELETED"),
  });
  informers.start(watching.signal);
  await informers.waitForCacheSync(watching.signal);
  churn = new Churn({ client: sb.client, rand, ...world });
});

after(async () => {
  watching.abort();
  await stopAll();
  await sb?.stop();
});

function startController(): RavenProcess {
  controller = startRaven(sb, `chaos-${++generation}`, ["--no-leader-elect"]);
  lifecycle(`start ${controller.name}`);
  return controller;
}

/** Reconciles done so far, from /metrics (0 if it does not answer at once). */
async function reconcilesDone(c: RavenProcess): Promise<number> {
  const listen = c.lines.find((l) => typeof l.listen === "string")?.listen;
  if (!listen) return 0;
  try {
    const res = await fetch(`http://${listen}/metrics`, { signal: AbortSignal.timeout(1000) });
    return metricSum(await res.text(), "raven_reconcile_total");
  } catch {
    return 0;
  }
}

/**
 * The API server's watch cache against etcd: a list served from the cache and the same list
 * read from etcd at the cache's revision must hold the same objects at the same versions.
 * Every informer (Raven's and the checks') sees the cluster through that cache.
 */
async function cacheAgreesWithEtcd(): Promise<string[]> {
  const diffs: string[] = [];
  for (const res of [PODS, PORTS]) {
    const cached = await sb.client.list(res);
    const rv = cached.metadata?.resourceVersion;
    const stored = await sb.client.list(res, { resourceVersion: rv, resourceVersionMatch: "Exact" });
    const versions = (l: typeof cached) =>
      new Map(l.items.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o.metadata.resourceVersion]));
    const a = versions(cached);
    const b = versions(stored);
    for (const [k, v] of a)
      if (b.get(k) !== v) diffs.push(`${res.plural} ${k}: cache rv ${v}, etcd rv ${b.get(k)}`);
    for (const [k, v] of b) if (!a.has(k)) diffs.push(`${res.plural} ${k}: not in the cache, etcd rv ${v}`);
  }
  return diffs;
}

/** Waits until the backend matches the cluster; answers how long that took. */
async function converge(what: string): Promise<number> {
  const t0 = Date.now();
  let last: string[] = [];
  try {
    await eventually(
      async () => {
        if (controller && !controller.alive()) throw new Error(`raven controller ${controller.name} exited`);
        last = violations(await snapshot(sb.client));
        return last.length === 0;
      },
      CONVERGE_MS,
      what,
    );
  } catch (err) {
    const errors = (controller?.lines ?? []).filter((l) => l.level >= 40).slice(-15);
    assert.fail(
      `${(err as Error).message}\n${last.length} violation(s):\n  ${last.slice(0, 40).join("\n  ")}\n` +
        `last warnings of ${controller?.name}:\n  ${errors.map((l) => JSON.stringify(l)).join("\n  ")}`,
    );
  }
  return Date.now() - t0;
}

test("killing raven-controller at random points during a churn leaves no orphaned or missing object and no duplicate IP", async () => {
  let kills = 0;
  let killedBeforeSync = 0;
  let killedAtStartup = 0;
  let reconciles = 0;
  let longPauses = 0;
  const crashes: string[] = [];
  const t0 = Date.now();
  churn.start(3, 60);
  while (Date.now() - t0 < CHURN_MS) {
    const c = startController();
    if (rand() < 0.25) {
      // Right in the start-up work: the orphan clean-up and the first reconcile of everything.
      await c.waitForLog((l) => l.msg === "caches synced", 30_000, "caches synced").catch(() => {});
      await sleep(rand() * 300);
      killedAtStartup++;
    } else await sleep(800 + rand() * 4200);
    if (!c.alive()) {
      crashes.push(`${c.name}: ${JSON.stringify(c.lines.filter((l) => l.level >= 50).slice(-3))}`);
      continue;
    }
    if (!c.lines.some((l) => l.msg === "caches synced")) killedBeforeSync++;
    reconciles += await reconcilesDone(c);
    for (const l of c.lines.filter((l) => l.orphans))
      lifecycle(
        `${c.name} at ${new Date(l.time).toISOString().slice(11, 23)}: ${l.msg} ${JSON.stringify(l.orphans)}`,
      );
    lifecycle(`kill ${c.name}`);
    await c.kill("SIGKILL");
    kills++;
    // Down for a moment: none, a short one, or (every third time, and at random) a long one
    // during which pods with ports are deleted and objects vanish behind its back.
    const r = rand();
    if (kills % 3 === 2 || r < 0.2) {
      longPauses++;
      const until = Date.now() + 2000 + rand() * 3000;
      await churn.whileDown();
      await sleep(until - Date.now());
    } else if (r < 0.6) await sleep(200 + rand() * 1300);
  }
  await churn.stop();
  const churnMs = Date.now() - t0;
  assert.deepEqual(crashes, [], "raven-controller never exits on its own");

  startController();
  const convergedIn = await converge("convergence after the last restart");
  const s = await snapshot(sb.client);
  console.log(
    `chaos: ${churn.total} operations in ${(churnMs / 1000).toFixed(1)} s (${((churn.total * 1000) / churnMs).toFixed(1)}/s), ` +
      `${kills} kills (${killedBeforeSync} before the caches synced, ${killedAtStartup} within 300 ms of it; ${reconciles} reconciles done by the killed ones), ${longPauses} long outages, ` +
      `${churn.deletedWhileDown} pods with ports deleted while down; converged ${convergedIn} ms after the last start`,
  );
  console.log(`chaos: ops ${churn.summary()}`);
  console.log(`chaos: final state ${describe(s)}`);
  if (churn.surprises.length)
    console.log(`chaos: unexpected API answers:\n  ${churn.surprises.join("\n  ")}`);
  assert.deepEqual(await cacheAgreesWithEtcd(), [], "the API server's cache agrees with etcd");
  assert.deepEqual(ipChanges(), [], "no pod's IP ever changed");
  // The churn did churn, and the controller was really killed, also while down for a while.
  assert.ok(kills >= 5, `only ${kills} kills`);
  assert.ok(longPauses >= 2);
  assert.ok(churn.deletedWhileDown >= 1, "some pods with ports were deleted while Raven was down");
  assert.ok(churn.total >= 200, `only ${churn.total} operations`);
  assert.ok(s.ports.length > 0 && s.loadBalancers.length > 0, "something is left to check");
  assert.ok(controller?.alive(), "the last controller is still running");
});

test("without restarts, the running controller converges after the same churn, and after Services vanish and come back under the same names", async () => {
  assert.ok(controller?.alive(), "the controller from the previous test runs");
  // Pods the previous test already reported are not reported again.
  const reported = new Set([...podIps].filter(([, p]) => p.ips.size > 1).map(([uid]) => uid));
  const before = churn.total;
  const t0 = Date.now();
  churn.start(3, 60);
  await sleep(Math.min(15_000, CHURN_MS / 3));
  await churn.stop();
  const churnMs = Date.now() - t0;
  const convergedIn = await converge("convergence with the same controller");
  console.log(
    `steady: ${churn.total - before} operations in ${(churnMs / 1000).toFixed(1)} s, converged ${convergedIn} ms after the churn stopped; ${describe(await snapshot(sb.client))}`,
  );

  // Services deleted behind Raven's back (finalizer stripped) and created again at once under
  // the same name and external IP: the old UIDs' floating IPs must go, the new ones get them.
  const burst = await churn.recreateBurst(16, async (names) => {
    await eventually(
      async () => {
        const fips = (await sb.client.list(FLOATINGIPS)).items;
        return names.every((n) => fips.some((f) => f.spec.owner.name === n));
      },
      60_000,
      "the burst Services' floating IPs",
    );
  });
  const burstConverged = await converge("convergence after the Services were recreated");
  console.log(`steady: ${burst.length} Services recreated at once, converged in ${burstConverged} ms`);
  assert.deepEqual(ipChanges(reported), [], "no pod's IP ever changed");
  assert.ok(controller?.alive(), "the controller kept running");
});
