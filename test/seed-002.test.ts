// Seed 002 on a sandbox node running real containers, with the real kubectl: the busybox
// `sleep 3600` pod Running, `kubectl run`-style pods, a 5-replica busybox Deployment whose
// containers exit and go into CrashLoopBackOff, `kubectl exec ... ip a` showing the pod IP.
// Then the node's kubelet is killed and restarted: running containers are adopted (same
// container IDs, no restart) and no pod is lost.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PODS } from "../src/kube/resource.ts";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

const busyboxYaml = `apiVersion: v1
kind: Pod
metadata:
  name: busybox
  namespace: default
spec:
  containers:
  - image: busybox
    command:
      - sleep
      - "3600"
    name: busybox
`;

describe("seed 002 with real containers", { timeout: 600_000 }, () => {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox({ nodes: 1 });
  });
  after(async () => {
    await sb?.stop();
  });
  const ok = async (args: string[], input?: string, version: "1.33" | "1.27" = "1.33") => {
    const r = await sb.kubectl(args, { input, version });
    assert.equal(r.code, 0, r.stderr || r.stdout);
    return r.stdout;
  };
  const running = (name: string) =>
    eventually(
      async () => {
        const p = await sb.client.get(PODS, "default", name);
        return p.status?.phase === "Running" && p.status.containerStatuses?.every((c: any) => c.ready)
          ? p
          : undefined;
      },
      90_000,
      `${name} Running`,
    );

  it("the busybox sleep pod runs, and exec `ip a` shows its IP (kubectl 1.33 and 1.27)", async () => {
    await ok(["apply", "-f", "-"], busyboxYaml);
    const pod: any = await running("busybox");
    for (const version of ["1.33", "1.27"] as const) {
      const ipa = await ok(["exec", "busybox", "--", "ip", "a"], undefined, version);
      assert.ok(ipa.includes(`inet ${pod.status.podIP}/`), `ip a shows ${pod.status.podIP}:\n${ipa}`);
    }
    const wide = await ok(["get", "pod", "busybox", "-o", "wide", "--no-headers"]);
    assert.match(wide, /Running/);
    assert.ok(wide.includes(pod.status.podIP));
    assert.ok(wide.includes("node-1"));
  });

  it("kubectl run starts a pod from the command line", async () => {
    await ok(["run", "example-run", "--image=busybox", "--port=10000", "--", "sleep", "3600"]);
    const pod: any = await running("example-run");
    assert.equal(pod.spec.containers[0].ports[0].containerPort, 10000);
  });

  it("a 5-replica busybox Deployment (no command: sh exits) goes into CrashLoopBackOff", async () => {
    await ok(["create", "deployment", "example", "--image=busybox", "--replicas=5", "--port=10000"]);
    await eventually(
      async () => {
        const out = await ok(["get", "pods", "-l", "app=example", "--no-headers"]);
        const rows = out
          .trim()
          .split("\n")
          .map((l) => l.trim().split(/\s+/));
        return (
          rows.length === 5 &&
          rows.every((f) => f[1] === "0/1" && f[2] === "CrashLoopBackOff" && Number(f[3]) >= 1)
        );
      },
      120_000,
      "5 pods in CrashLoopBackOff",
    );
    const events = await ok(["get", "events", "--field-selector", "reason=BackOff"]);
    assert.match(events, /Back-off restarting failed container busybox/);
    await ok(["delete", "deployment", "example"]);
  });

  it("a restarted kubelet adopts running containers and loses no pod", async () => {
    const before: any = await running("busybox");
    const state = JSON.parse(readFileSync(join(sb.dir, "state.json"), "utf8"));
    const kubeletPid = state.children["kubelet-node-1"];
    assert.ok(kubeletPid, "the kubelet's PID is in state.json");
    process.kill(kubeletPid, "SIGKILL");
    // The supervisor restarts it; the Node's Lease is renewed by the new process.
    await eventually(
      () => {
        const s = JSON.parse(readFileSync(join(sb.dir, "state.json"), "utf8"));
        return s.children["kubelet-node-1"] !== kubeletPid;
      },
      30_000,
      "a new kubelet process",
    );
    await new Promise((r) => setTimeout(r, 5000));
    const after: any = await running("busybox");
    assert.equal(after.metadata.uid, before.metadata.uid);
    assert.equal(
      after.status.containerStatuses[0].containerID,
      before.status.containerStatuses[0].containerID,
    );
    assert.equal(
      after.status.containerStatuses[0].restartCount,
      before.status.containerStatuses[0].restartCount,
    );
    assert.equal(after.status.podIP, before.status.podIP);
    const again: any = await running("example-run");
    assert.equal(again.status.containerStatuses[0].restartCount, 0);
  });
});
