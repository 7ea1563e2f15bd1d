// The Job and DaemonSet controllers against a real sandbox with three virtual nodes. Virtual
// pods never finish, so the Job tests play the kubelet: their pods name a scheduler nobody
// runs (they stay unbound, where no virtual node rewrites their status) and the test sets
// each pod's phase through the status subresource.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { KubeObject } from "../src/kube/objects.ts";
import { DAEMONSETS, EVENTS, JOBS, PODS } from "../src/kube/resource.ts";
import { DaemonSetController } from "../src/sandbox/controllers/daemonset.ts";
import { JobController } from "../src/sandbox/controllers/job.ts";
import { eventually, runControllers, type Sandbox, startSandbox } from "./support/sandbox.ts";

/** `eventually`, for a value: polls until `fn` answers one (not undefined/false) and returns it. */
async function until<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs?: number,
  what?: string,
): Promise<T> {
  return (await eventually(fn, timeoutMs, what)) as T;
}

let sb: Sandbox;
let stopControllers: (() => Promise<void>) | undefined;

before(async () => {
  sb = await startSandbox({ virtualNodes: 3, controllers: "*,-job-controller,-daemonset-controller" });
  stopControllers = await runControllers(sb, [
    // A short failure backoff keeps the backoff-limit test quick; the doubling is unit-tested.
    new JobController({ podFailureBackoffMs: 300 }),
    new DaemonSetController(),
  ]);
});
after(async () => {
  await stopControllers?.();
  await sb?.stop();
});

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await sb.kubectl(args, { input });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function podsOf(selector: string, namespace = "default"): Promise<KubeObject[]> {
  return (await sb.client.list(PODS, { namespace, labelSelector: selector })).items;
}

async function eventReasons(kind: string, name: string, namespace = "default"): Promise<string[]> {
  const list = await sb.client.list(EVENTS, {
    namespace,
    fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
  });
  return list.items.map((e: any) => e.reason);
}

const jobYaml = (name: string, spec: string) => `
apiVersion: batch/v1
kind: Job
metadata: {name: ${name}}
spec:
${spec}
  template:
    spec:
      schedulerName: test-plays-kubelet
      restartPolicy: Never
      containers: [{name: work, image: busybox}]
`;

/** Waits for the Job's next unfinished pod and finishes it with `phase`. */
async function finishNextPod(job: string, phase: "Succeeded" | "Failed"): Promise<string> {
  const pod = await until(
    async () =>
      (await podsOf(`batch.kubernetes.io/job-name=${job}`)).find(
        (p) =>
          p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed" && !p.metadata.deletionTimestamp,
      ),
    20_000,
    `an active pod of ${job}`,
  );
  await sb.client.patch(
    PODS,
    "default",
    pod.metadata.name!,
    "merge",
    { status: { phase } },
    { subresource: "status" },
  );
  return pod.metadata.name!;
}

const condition = (obj: KubeObject, type: string) =>
  (obj.status?.conditions ?? []).find((c: any) => c.type === type);

test("a Job with completions 2, parallelism 1 runs two pods in turn and completes", async () => {
  await kubectl(["apply", "-f", "-"], jobYaml("twice", "  completions: 2\n  parallelism: 1"));
  const first = await finishNextPod("twice", "Succeeded");
  // Only one pod at a time: the second appears once the first is done.
  const second = await finishNextPod("twice", "Succeeded");
  assert.notEqual(first, second);
  const job = await until(
    async () => {
      const j = await sb.client.get(JOBS, "default", "twice");
      return condition(j, "Complete")?.status === "True" ? j : undefined;
    },
    20_000,
    "twice Complete",
  );
  assert.equal(job.status.succeeded, 2);
  assert.equal(job.status.active, undefined);
  assert.equal(job.status.ready, 0);
  assert.deepEqual(job.status.uncountedTerminatedPods, {});
  assert.ok(job.status.startTime && job.status.completionTime);
  for (const type of ["SuccessCriteriaMet", "Complete"]) {
    const c = condition(job, type);
    assert.equal(c.reason, "CompletionsReached");
    assert.equal(c.message, "Reached expected number of succeeded pods");
  }
  const pods = await podsOf("batch.kubernetes.io/job-name=twice");
  assert.equal(pods.length, 2);
  for (const p of pods) {
    assert.match(p.metadata.name!, /^twice-[a-z0-9]{5}$/);
    assert.deepEqual(
      [p.metadata.ownerReferences?.[0].kind, p.metadata.ownerReferences?.[0].controller],
      ["Job", true],
    );
  }

  const out = await kubectl(["get", "jobs", "twice"]);
  assert.match(out, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\n/);
  assert.match(out, /\ntwice\s+Complete\s+2\/2\s+\S+\s+\d+s\n$/);
  await until(
    async () => {
      const reasons = await eventReasons("Job", "twice");
      return reasons.includes("SuccessfulCreate") && reasons.includes("Completed");
    },
    10_000,
    "SuccessfulCreate and Completed events",
  );
});

test("a failing Job retries after a backoff, then fails with BackoffLimitExceeded", async () => {
  await kubectl(["apply", "-f", "-"], jobYaml("flaky", "  backoffLimit: 1"));
  await finishNextPod("flaky", "Failed");
  await finishNextPod("flaky", "Failed");
  const job = await until(
    async () => {
      const j = await sb.client.get(JOBS, "default", "flaky");
      return condition(j, "Failed")?.status === "True" ? j : undefined;
    },
    20_000,
    "flaky Failed",
  );
  assert.equal(job.status.failed, 2);
  assert.equal(job.status.active, undefined);
  for (const type of ["FailureTarget", "Failed"]) {
    const c = condition(job, type);
    assert.equal(c.reason, "BackoffLimitExceeded");
    assert.equal(c.message, "Job has reached the specified backoff limit");
  }
  assert.equal(condition(job, "Complete"), undefined);
  assert.match(await kubectl(["get", "jobs", "flaky"]), /\nflaky\s+Failed\s+0\/1\s+/);
  await until(
    async () => (await eventReasons("Job", "flaky")).includes("BackoffLimitExceeded"),
    10_000,
    "event",
  );
});

test("a parallel Job on virtual nodes reports ready pods; suspending it stops them", async () => {
  await kubectl(
    ["apply", "-f", "-"],
    `
apiVersion: batch/v1
kind: Job
metadata: {name: wide}
spec:
  completions: 4
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: work, image: busybox}]
`,
  );
  await until(
    async () => {
      const j = await sb.client.get(JOBS, "default", "wide");
      return j.status?.active === 2 && j.status?.ready === 2;
    },
    20_000,
    "two active, ready pods",
  );
  await kubectl(["patch", "job", "wide", "--type=merge", "-p", '{"spec":{"suspend":true}}']);
  const job = await until(
    async () => {
      const j = await sb.client.get(JOBS, "default", "wide");
      return condition(j, "Suspended")?.status === "True" && !j.status?.active ? j : undefined;
    },
    20_000,
    "suspended",
  );
  assert.equal(condition(job, "Suspended").reason, "JobSuspended");
  await until(
    async () => (await podsOf("batch.kubernetes.io/job-name=wide")).length === 0,
    20_000,
    "pods gone",
  );
  await kubectl(["patch", "job", "wide", "--type=merge", "-p", '{"spec":{"suspend":false}}']);
  await until(
    async () => {
      const j = await sb.client.get(JOBS, "default", "wide");
      return condition(j, "Suspended")?.status === "False" && j.status?.active === 2;
    },
    20_000,
    "resumed",
  );
});

const daemonSetYaml = (image: string) => `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {role: edge}
      containers: [{name: agent, image: ${image}}]
`;

async function agentPods(): Promise<KubeObject[]> {
  return (await podsOf("app=agent", "kube-system")).filter((p) => !p.metadata.deletionTimestamp);
}

test("a DaemonSet runs one pod per qualifying node and follows node labels", async () => {
  await kubectl(["label", "nodes", "--all", "role=edge", "--overwrite"]);
  await kubectl(["apply", "-f", "-"], daemonSetYaml("agent:1"));
  const pods = await until(
    async () => {
      const p = await agentPods();
      return p.length === 3 && p.every((x) => x.spec?.nodeName && x.status?.phase === "Running")
        ? p
        : undefined;
    },
    30_000,
    "three running agent pods",
  );
  assert.deepEqual(pods.map((p) => p.spec!.nodeName).sort(), [
    "virtual-node-1",
    "virtual-node-2",
    "virtual-node-3",
  ]);
  for (const p of pods) {
    assert.match(p.metadata.labels!["controller-revision-hash"], /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(p.metadata.labels!["pod-template-generation"], "1");
    assert.ok(
      p.spec!.tolerations.some(
        (t: any) => t.key === "node.kubernetes.io/not-ready" && t.effect === "NoExecute",
      ),
    );
  }
  const ds = await until(
    async () => {
      const d = await sb.client.get(DAEMONSETS, "kube-system", "agent");
      return d.status?.numberAvailable === 3 ? d : undefined;
    },
    20_000,
    "status caught up",
  );
  assert.deepEqual(
    [
      ds.status.desiredNumberScheduled,
      ds.status.currentNumberScheduled,
      ds.status.numberReady,
      ds.status.updatedNumberScheduled,
      ds.status.numberMisscheduled,
      ds.status.observedGeneration,
    ],
    [3, 3, 3, 3, 0, ds.metadata.generation],
  );
  assert.match(
    await kubectl(["get", "ds", "agent", "-n", "kube-system"]),
    /\nagent\s+3\s+3\s+3\s+3\s+3\s+role=edge\s+/,
  );

  // A node labelled out of the selector loses its pod; labelled back, it gets one again.
  await kubectl(["label", "node", "virtual-node-2", "role=other", "--overwrite"]);
  await until(
    async () => {
      const p = await agentPods();
      return p.length === 2 && !p.some((x) => x.spec?.nodeName === "virtual-node-2");
    },
    20_000,
    "virtual-node-2 lost its pod",
  );
  await until(
    async () =>
      (await sb.client.get(DAEMONSETS, "kube-system", "agent")).status?.desiredNumberScheduled === 2,
  );
  await kubectl(["label", "node", "virtual-node-2", "role=edge", "--overwrite"]);
  await until(async () => (await agentPods()).length === 3, 20_000, "pod back on virtual-node-2");

  // A deleted pod comes back.
  const victim = (await agentPods())[0];
  await kubectl(["delete", "pod", "-n", "kube-system", victim.metadata.name!, "--wait=false"]);
  await until(
    async () => {
      const p = await agentPods();
      return p.length === 3 && !p.some((x) => x.metadata.name === victim.metadata.name);
    },
    20_000,
    "deleted pod replaced",
  );
  await until(async () =>
    (await eventReasons("DaemonSet", "agent", "kube-system")).includes("SuccessfulDelete"),
  );
});

test("a template change rolls the DaemonSet node by node", async () => {
  const before = (await agentPods())[0].metadata.labels!["controller-revision-hash"];
  await kubectl(["apply", "-f", "-"], daemonSetYaml("agent:2"));
  const r = await sb.kubectl(["rollout", "status", "ds/agent", "-n", "kube-system", "--timeout=60s"], {
    timeoutMs: 70_000,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /successfully rolled out/);
  const pods = await until(
    async () => {
      const p = await agentPods();
      return p.length === 3 && p.every((x) => x.spec?.containers[0].image === "agent:2") ? p : undefined;
    },
    20_000,
    "all pods updated",
  );
  for (const p of pods) {
    assert.notEqual(p.metadata.labels!["controller-revision-hash"], before);
    assert.equal(p.metadata.labels!["pod-template-generation"], "2");
  }
});
