// The kubelet for real: a sandbox with one node (netns, containerd, our kubelet), pods run as
// real containers. Checks via the API and CRI-visible effects: Running with a pod IP, a
// container exit restarts it (restartCount), CrashLoopBackOff, and deletion within the grace period.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PODS } from "../src/kube/resource.ts";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

const pod = (name: string, command: string[], extra: Record<string, any> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: {
    containers: [{ name: "app", image: "busybox", command }],
    terminationGracePeriodSeconds: 5,
    ...extra,
  },
});

describe("kubelet on a real node", { timeout: 600_000 }, () => {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox({ args: ["--nodes", "1"] });
  });
  after(async () => {
    await sb?.stop();
  });

  it("registers a Ready node", async () => {
    await eventually(
      async () => {
        const node = await sb.client.get(
          { group: "", version: "v1", plural: "nodes", namespaced: false },
          "",
          "node-1",
        );
        return node.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");
      },
      60_000,
      "node-1 Ready",
    );
  });

  it("runs busybox sleep 3600: Running with a pod IP", async () => {
    await sb.client.create(PODS, pod("busybox", ["sleep", "3600"]));
    const p: any = await eventually(
      async () => {
        const p = await sb.client.get(PODS, "default", "busybox");
        return p.status?.phase === "Running" && p.status.podIP ? p : undefined;
      },
      90_000,
      "busybox Running",
    );
    assert.match(p.status.podIP, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(p.status.containerStatuses[0].ready, true);
    assert.match(p.status.containerStatuses[0].containerID, /^containerd:\/\//);
  });

  it("a container that exits is restarted (restartCount) and goes into CrashLoopBackOff", async () => {
    await sb.client.create(PODS, pod("crasher", ["sh", "-c", "sleep 1; exit 3"]));
    await eventually(
      async () => {
        const p = await sb.client.get(PODS, "default", "crasher");
        return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1;
      },
      60_000,
      "restartCount >= 1",
    );
    const p: any = await eventually(
      async () => {
        const p = await sb.client.get(PODS, "default", "crasher");
        return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff"
          ? p
          : undefined;
      },
      60_000,
      "CrashLoopBackOff",
    );
    const cs = p.status.containerStatuses[0];
    assert.equal(cs.lastState.terminated.exitCode, 3);
    assert.match(
      cs.state.waiting.message,
      /^back-off \d+s restarting failed container=app pod=crasher_default\(/,
    );
    const kc = await sb.kubectl(["get", "pod", "crasher", "--no-headers"]);
    assert.match(kc.stdout, /CrashLoopBackOff|Error/);
  });

  it("deleting a pod stops it within its grace period and removes the object", async () => {
    const start = Date.now();
    const del = await sb.kubectl(["delete", "pod", "busybox", "--wait=true"], { timeoutMs: 60_000 });
    assert.equal(del.code, 0, del.stderr);
    // sleep as PID 1 ignores SIGTERM: SIGKILL after the 5 s grace period.
    assert.ok(Date.now() - start < 30_000, `deletion took ${Date.now() - start} ms`);
    await eventually(
      async () => {
        try {
          await sb.client.get(PODS, "default", "busybox");
          return false;
        } catch {
          return true;
        }
      },
      30_000,
      "pod gone",
    );
  });
});
