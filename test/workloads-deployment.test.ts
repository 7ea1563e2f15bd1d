// End to end: the ReplicaSet and Deployment controllers, run in this process against a real
// sandbox with two virtual nodes, driven with the real kubectl (1.33 and 1.27).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { KubeObject } from "../src/kube/objects.ts";
import { DEPLOYMENTS, EVENTS, PODS, REPLICASETS } from "../src/kube/resource.ts";
import type { Controller } from "../src/sandbox/controllers/context.ts";
import { DeploymentController } from "../src/sandbox/controllers/deployment.ts";
import { builtinControllers } from "../src/sandbox/controllers/registry.ts";
import { ReplicaSetController } from "../src/sandbox/controllers/replicaset.ts";
import { eventually, runControllers, type Sandbox, startSandbox } from "./support/sandbox.ts";

let sb: Sandbox;
let stopControllers: (() => Promise<void>) | undefined;

/**
 * The controllers under test run in this process; the sandbox's controller-manager must not
 * run its own copies (two ReplicaSet controllers would each create the missing pods).
 */
function controllerManagerSelection(mine: Controller[]): string {
  const registered = new Set(
    builtinControllers({ virtualNodes: 0, portAnnotation: "", waitForPortAnnotation: false }).map(
      (c) => c.name,
    ),
  );
  return ["*", ...mine.filter((c) => registered.has(c.name)).map((c) => `-${c.name}`)].join(",");
}

before(async () => {
  const mine = [new ReplicaSetController(), new DeploymentController()];
  sb = await startSandbox({ virtualNodes: 2, controllers: controllerManagerSelection(mine) });
  stopControllers = await runControllers(sb, mine);
});

after(async () => {
  await stopControllers?.();
  await sb?.stop();
});

function deploymentYaml(
  name: string,
  opts: { replicas?: number; image?: string; strategy?: string; annotation?: string } = {},
): string {
  const annotations = opts.annotation ? `\n      annotations:\n        demo/rev: "${opts.annotation}"` : "";
  const strategy = opts.strategy ? `\n  strategy:\n    type: ${opts.strategy}` : "";
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    app: ${name}
spec:
  replicas: ${opts.replicas ?? 3}${strategy}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}${annotations}
    spec:
      containers:
      - name: nginx
        image: ${opts.image ?? "nginx"}
        ports:
        - containerPort: 80
        resources:
          requests:
            cpu: 100m
            memory: 100Mi
`;
}

async function kubectl(
  args: string[],
  opts: { version?: "1.33" | "1.27"; input?: string } = {},
): Promise<string> {
  const r = await sb.kubectl(args, opts);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Pods of an app that are not being deleted. */
async function livePods(app: string): Promise<KubeObject[]> {
  const list = await sb.client.list(PODS, { namespace: "default", labelSelector: `app=${app}` });
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

async function replicaSets(app: string): Promise<KubeObject[]> {
  const list = await sb.client.list(REPLICASETS, { namespace: "default", labelSelector: `app=${app}` });
  return list.items;
}

/** eventually() for a value: resolves with the first one that is not undefined. */
async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  return (await eventually(fn, timeoutMs, what)) as T;
}

/** Waits until exactly `n` live pods of the app run, all ready; answers them. */
async function waitForRunning(
  app: string,
  n: number,
  what = `${n} running ${app} pods`,
): Promise<KubeObject[]> {
  return waitFor(
    async () => {
      const pods = await livePods(app);
      const running = pods.filter(
        (p) =>
          p.status?.phase === "Running" &&
          p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"),
      );
      return pods.length === n && running.length === n ? pods : undefined;
    },
    30_000,
    what,
  );
}

async function deploymentEvents(name: string): Promise<string[]> {
  const list = await sb.client.list(EVENTS, {
    namespace: "default",
    fieldSelector: `involvedObject.name=${name}`,
  });
  return (
    list.items
      .filter((e: any) => e.involvedObject?.kind === "Deployment")
      // Event names end in fixed-width hex nanoseconds, so by name is in the order recorded.
      .sort((a: any, b: any) => (a.metadata.name < b.metadata.name ? -1 : 1))
      .map((e: any) => `${e.reason}: ${e.message}`)
  );
}

/** The Deployment's events once all of `expected` have been written (events are written in the background). */
function waitForEvents(name: string, ...expected: string[]): Promise<string[]> {
  return waitFor(
    async () => {
      const events = await deploymentEvents(name);
      return expected.every((e) => events.includes(e)) ? events : undefined;
    },
    20_000,
    `events ${JSON.stringify(expected)}`,
  );
}

test("the seed's demo Deployment (kubectl 1.33 create -f) runs 3 pods named demo-<hash>-<suffix>", async () => {
  await kubectl(["create", "-f", "-"], { input: deploymentYaml("demo") });
  const pods = await waitForRunning("demo", 3);
  for (const p of pods) assert.match(p.metadata.name!, /^demo-\d+-[a-z0-9]{5}$/);
  const [rs] = await replicaSets("demo");
  const hash = rs.metadata.labels!["pod-template-hash"];
  assert.match(hash, /^\d+$/);
  assert.equal(rs.metadata.name, `demo-${hash}`);
  assert.equal(rs.spec.selector.matchLabels["pod-template-hash"], hash);
  assert.equal(rs.spec.template.metadata.labels["pod-template-hash"], hash);
  assert.equal(rs.metadata.annotations!["deployment.kubernetes.io/revision"], "1");
  assert.equal(rs.metadata.ownerReferences?.[0]?.kind, "Deployment");
  for (const p of pods) {
    assert.equal(p.metadata.labels!["pod-template-hash"], hash);
    assert.ok(p.metadata.name!.startsWith(`demo-${hash}-`));
    const ref = p.metadata.ownerReferences?.[0];
    assert.deepEqual(
      { kind: ref?.kind, name: ref?.name, controller: ref?.controller, block: ref?.blockOwnerDeletion },
      { kind: "ReplicaSet", name: rs.metadata.name, controller: true, block: true },
    );
  }

  const status = await kubectl(["rollout", "status", "deployment/demo", "--timeout=60s"]);
  assert.match(status, /successfully rolled out/);
  await eventually(
    async () => /^demo\s+3\/3\s+3\s+3\s+/m.test(await kubectl(["get", "deploy", "demo"])),
    20_000,
    "kubectl get deploy demo READY 3/3",
  );
  const d = await sb.client.get(DEPLOYMENTS, "default", "demo");
  assert.equal(d.metadata.annotations!["deployment.kubernetes.io/revision"], "1");
  const conds = Object.fromEntries(d.status.conditions.map((c: any) => [c.type, c]));
  assert.equal(conds.Available.reason, "MinimumReplicasAvailable");
  assert.equal(conds.Progressing.reason, "NewReplicaSetAvailable");
  assert.equal(conds.Progressing.message, `ReplicaSet "${rs.metadata.name}" has successfully progressed.`);
  assert.equal(d.status.observedGeneration, d.metadata.generation);
  const rsStatus = (await sb.client.get(REPLICASETS, "default", rs.metadata.name!)).status;
  assert.deepEqual(
    [rsStatus.replicas, rsStatus.fullyLabeledReplicas, rsStatus.readyReplicas, rsStatus.availableReplicas],
    [3, 3, 3, 3],
  );
  await waitForEvents("demo", `ScalingReplicaSet: Scaled up replica set ${rs.metadata.name} to 3`);
  // Exactly three creates: expectations kept later syncs from creating again while the
  // informer had not yet seen the first pods.
  const created = await waitFor(
    async () => {
      const list = await sb.client.list(EVENTS, {
        namespace: "default",
        fieldSelector: `involvedObject.name=${rs.metadata.name}`,
      });
      const msgs = list.items.filter((e: any) => e.reason === "SuccessfulCreate").map((e: any) => e.message);
      return msgs.length >= 3 ? msgs : undefined;
    },
    20_000,
    "SuccessfulCreate events",
  );
  assert.deepEqual(created.sort(), pods.map((p) => `Created pod: ${p.metadata.name}`).sort());
});

test("kubectl scale to 5 and back to 2", async () => {
  await kubectl(["scale", "deployment", "demo", "--replicas=5"]);
  await waitForRunning("demo", 5);
  await kubectl(["rollout", "status", "deployment/demo", "--timeout=60s"]);
  await eventually(
    async () => /^demo\s+5\/5\s+5\s+5\s+/m.test(await kubectl(["get", "deploy", "demo"])),
    20_000,
    "READY 5/5",
  );
  await kubectl(["scale", "deployment", "demo", "--replicas=2"]);
  await waitForRunning("demo", 2);
  await eventually(
    async () => /^demo\s+2\/2\s+2\s+2\s+/m.test(await kubectl(["get", "deploy", "demo"])),
    20_000,
    "READY 2/2",
  );
  const rss = await replicaSets("demo");
  assert.equal(rss.length, 1, "scaling makes no new ReplicaSet");
  const name = rss[0].metadata.name;
  assert.equal(rss[0].metadata.annotations!["deployment.kubernetes.io/desired-replicas"], "2");
  await waitForEvents(
    "demo",
    `ScalingReplicaSet: Scaled up replica set ${name} to 5 from 3`,
    `ScalingReplicaSet: Scaled down replica set ${name} to 2 from 5`,
  );
});

test("kubectl apply of a changed template rolls out a new ReplicaSet", async () => {
  const [oldRS] = await replicaSets("demo");
  await kubectl(["apply", "-f", "-"], {
    input: deploymentYaml("demo", { image: "nginx:1.27", annotation: "2" }),
  });
  const status = await kubectl(["rollout", "status", "deployment/demo", "--timeout=90s"]);
  assert.match(status, /successfully rolled out/);
  const pods = await waitForRunning("demo", 3);
  const rss = await replicaSets("demo");
  assert.equal(rss.length, 2);
  const newRS = rss.find((rs) => rs.metadata.uid !== oldRS.metadata.uid)!;
  const old = rss.find((rs) => rs.metadata.uid === oldRS.metadata.uid)!;
  assert.equal(old.spec.replicas, 0);
  assert.equal(newRS.spec.replicas, 3);
  assert.equal(newRS.metadata.annotations!["deployment.kubernetes.io/revision"], "2");
  assert.notEqual(newRS.metadata.labels!["pod-template-hash"], oldRS.metadata.labels!["pod-template-hash"]);
  for (const p of pods) {
    assert.equal(p.spec.containers[0].image, "nginx:1.27");
    assert.equal(p.metadata.annotations?.["demo/rev"], "2");
    assert.equal(p.metadata.ownerReferences?.[0]?.name, newRS.metadata.name);
  }
  const d = await sb.client.get(DEPLOYMENTS, "default", "demo");
  assert.equal(d.metadata.annotations!["deployment.kubernetes.io/revision"], "2");
  assert.equal(d.status.updatedReplicas, 3);
  assert.match(await kubectl(["get", "deploy", "demo"]), /^demo\s+3\/3\s+3\s+3\s+/m);
  const history = await kubectl(["rollout", "history", "deployment/demo"]);
  assert.match(history, /^1\s/m);
  assert.match(history, /^2\s/m);
});

test("kubectl rollout undo brings the first ReplicaSet back as revision 3", async () => {
  const first = (await replicaSets("demo")).find(
    (rs) => rs.metadata.annotations?.["deployment.kubernetes.io/revision"] === "1",
  )!;
  await kubectl(["rollout", "undo", "deployment/demo"]);
  await kubectl(["rollout", "status", "deployment/demo", "--timeout=90s"]);
  const pods = await waitForRunning("demo", 3);
  for (const p of pods) {
    assert.equal(p.spec.containers[0].image, "nginx");
    assert.equal(p.metadata.ownerReferences?.[0]?.name, first.metadata.name);
  }
  const rs = await sb.client.get(REPLICASETS, "default", first.metadata.name!);
  assert.equal(rs.spec.replicas, 3);
  assert.equal(rs.metadata.annotations!["deployment.kubernetes.io/revision"], "3");
  assert.equal(rs.metadata.annotations!["deployment.kubernetes.io/revision-history"], "1");
  assert.equal((await replicaSets("demo")).length, 2, "no third ReplicaSet");
});

test("a deleted pod is replaced", async () => {
  const before = await waitForRunning("demo", 3);
  const victim = before[0].metadata.name!;
  await kubectl(["delete", "pod", victim, "--wait=false"]);
  const after = await waitFor(
    async () => {
      const pods = await waitForRunning("demo", 3, "3 demo pods after the delete");
      return pods.every((p) => p.metadata.name !== victim) ? pods : undefined;
    },
    30_000,
    "a replacement pod",
  );
  const names = new Set(before.map((p) => p.metadata.name));
  assert.equal(after.filter((p) => !names.has(p.metadata.name)).length, 1);
});

test("a hand-made pod with the ReplicaSet's labels is adopted, and the surplus deleted", async () => {
  const [rs] = (await replicaSets("demo")).filter((r) => r.spec.replicas > 0);
  const hash = rs.metadata.labels!["pod-template-hash"];
  await sb.client.create(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "hand-made", namespace: "default", labels: { app: "demo", "pod-template-hash": hash } },
    // No scheduler picks it up: unassigned, it is the first choice for deletion.
    spec: { schedulerName: "manual", containers: [{ name: "nginx", image: "nginx:1.27" }] },
  });
  // Adopted (gets the ReplicaSet as controller) and, being the surplus pod, deleted again.
  await eventually(
    async () => {
      const pods = await livePods("demo");
      return pods.length === 3 && pods.every((p) => p.metadata.name !== "hand-made");
    },
    30_000,
    "the surplus hand-made pod gone",
  );
  const rsEvents = await sb.client.list(EVENTS, {
    namespace: "default",
    fieldSelector: `involvedObject.name=${rs.metadata.name}`,
  });
  assert.ok(
    rsEvents.items.some(
      (e: any) => e.reason === "SuccessfulDelete" && e.message === "Deleted pod: hand-made",
    ),
    "SuccessfulDelete for the hand-made pod",
  );
});

test("a bare ReplicaSet adopts a matching orphan and creates the rest", async () => {
  await sb.client.create(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "orphan", namespace: "default", labels: { app: "bare" } },
    spec: { containers: [{ name: "c", image: "busybox" }] },
  });
  await sb.client.create(REPLICASETS, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "bare", namespace: "default" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "bare" } },
      template: {
        metadata: { labels: { app: "bare" } },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      },
    },
  });
  const pods = await waitForRunning("bare", 2);
  const orphan = pods.find((p) => p.metadata.name === "orphan");
  assert.ok(orphan, "the orphan is kept");
  assert.equal(orphan.metadata.ownerReferences?.[0]?.name, "bare");
  assert.equal(orphan.metadata.ownerReferences?.[0]?.controller, true);
  const other = pods.find((p) => p.metadata.name !== "orphan")!;
  assert.match(other.metadata.name!, /^bare-[a-z0-9]{5}$/);
  // A pod relabelled out of the selector is released and replaced.
  await kubectl(["label", "pod", "orphan", "app=elsewhere", "--overwrite"]);
  await waitForRunning("bare", 2, "a replacement for the released pod");
  await eventually(
    async () => !(await sb.client.get(PODS, "default", "orphan")).metadata.ownerReferences?.length,
    20_000,
    "the relabelled pod released",
  );
  await eventually(
    async () => {
      const s = (await sb.client.get(REPLICASETS, "default", "bare")).status;
      return (
        s.replicas === 2 && s.readyReplicas === 2 && s.availableReplicas === 2 && s.observedGeneration === 1
      );
    },
    20_000,
    "ReplicaSet status",
  );
});

test("kubectl 1.27 create -f works too", async () => {
  await kubectl(["create", "-f", "-"], {
    version: "1.27",
    input: deploymentYaml("demo127", { replicas: 2 }),
  });
  await waitForRunning("demo127", 2);
  const status = await kubectl(["rollout", "status", "deployment/demo127", "--timeout=60s"], {
    version: "1.27",
  });
  assert.match(status, /successfully rolled out/);
  await eventually(
    async () =>
      /^demo127\s+2\/2\s+2\s+2\s+/m.test(await kubectl(["get", "deploy", "demo127"], { version: "1.27" })),
    20_000,
    "READY 2/2 via kubectl 1.27",
  );
});

test("Recreate: old pods are gone before the new ReplicaSet scales up", async () => {
  await kubectl(["create", "-f", "-"], {
    input: deploymentYaml("recreate", { replicas: 2, strategy: "Recreate" }),
  });
  await waitForRunning("recreate", 2);
  await kubectl(["rollout", "status", "deployment/recreate", "--timeout=60s"]);
  const [oldRS] = await replicaSets("recreate");
  await kubectl(["set", "image", "deployment/recreate", "nginx=nginx:1.27"]);
  await kubectl(["rollout", "status", "deployment/recreate", "--timeout=60s"]);
  const pods = await waitForRunning("recreate", 2);
  for (const p of pods) assert.equal(p.spec.containers[0].image, "nginx:1.27");
  const rss = await replicaSets("recreate");
  const newRS = rss.find((rs) => rs.metadata.uid !== oldRS.metadata.uid)!;
  assert.equal(rss.find((rs) => rs.metadata.uid === oldRS.metadata.uid)!.spec.replicas, 0);
  const downMsg = `ScalingReplicaSet: Scaled down replica set ${oldRS.metadata.name} to 0 from 2`;
  const upMsg = `ScalingReplicaSet: Scaled up replica set ${newRS.metadata.name} to 2`;
  const events = await waitForEvents("recreate", downMsg, upMsg);
  const down = events.indexOf(downMsg);
  const up = events.indexOf(upMsg);
  assert.ok(down >= 0 && up > down, `scale down before scale up: ${JSON.stringify(events)}`);
});
