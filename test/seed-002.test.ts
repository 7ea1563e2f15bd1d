// Seed 002 on a sandbox node running real containers, with the real kubectl 1.33 and 1.27 (each
// in its own namespace, concurrently): `kubectl create -f busybox.yml` (sleep 3600) Running,
// `kubectl exec ... ip a` showing the pod IP, `kubectl run`-style pods, the 5-replica busybox
// Deployment whose containers exit going into CrashLoopBackOff, the 3-replica nginx one going
// from ContainerCreating to Running (`get pod -o wide` with IP and node), both deleted with
// their pods, and the cadvisor-style pod (hostPort, hostPath mounts; the seed's pre-v1
// `source: hostDir` form is rejected). Then the node's kubelet is killed and restarted: running
// containers are adopted (same container IDs, no restart) and no pod is lost.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PODS } from "../src/kube/resource.ts";
import { nodeLayout } from "../src/sandbox/node/layout.ts";
import { eventually, run, type Sandbox, startSandbox } from "./support/sandbox.ts";

type Version = "1.33" | "1.27";
const VERSIONS: Version[] = ["1.33", "1.27"];
const nsOf = (v: Version) => `seed002-${v.replace(".", "")}`;

const busyboxYaml = (ns: string) => `apiVersion: v1
kind: Pod
metadata:
  name: busybox
  namespace: ${ns}
spec:
  containers:
  - image: busybox
    command:
      - sleep
      - "3600"
    name: busybox
`;

/** The seed's cadvisor manifest as written: volumes in the pre-v1 `source: hostDir` form. */
const cadvisorAsWritten = `apiVersion: v1
kind: Pod
metadata:
  name: cadvisor-agent
spec:
  containers:
    - name: cadvisor-agent
      image: google/cadvisor:0.19.3
      ports:
        - name: http
          containerPort: 8080
          hostPort: 4194
  volumes:
    - name: varrun
      source:
        hostDir:
          path: /var/run
`;

/**
 * The same pod in today's API: hostPath volumes, the port published on the node with hostPort.
 * The sandbox has no cadvisor image: hello-app serves on 8080 in its place. /var/lib/docker is
 * left out (it does not exist here, and the runtime would create it on the machine).
 */
const cadvisorToday = (hostPort: number) => `apiVersion: v1
kind: Pod
metadata:
  name: cadvisor-agent
spec:
  containers:
    - name: cadvisor-agent
      image: gcr.io/google-samples/hello-app:1.0
      ports:
        - name: http
          containerPort: 8080
          hostPort: ${hostPort}
      volumeMounts:
        - name: varrun
          mountPath: /var/run
          readOnly: false
        - name: sysfs
          mountPath: /sys
          readOnly: true
  volumes:
    - name: varrun
      hostPath:
        path: /var/run
    - name: sysfs
      hostPath:
        path: /sys
`;

/** `kubectl get pods --no-headers` rows. */
const rows = (out: string) =>
  out
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/));

describe("seed 002 with real containers", { timeout: 600_000 }, () => {
  let sb: Sandbox;
  let nodeIp: string;
  before(async () => {
    sb = await startSandbox({ nodes: 1 });
    const cfg = JSON.parse(readFileSync(join(sb.dir, "config.json"), "utf8"));
    nodeIp = nodeLayout(cfg.dir, cfg, 1).nodeIp;
    for (const v of VERSIONS) {
      const r = await sb.kubectl(["create", "namespace", nsOf(v)]);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await sb?.stop();
  });
  const kubectl = (v: Version) => async (args: string[], input?: string) => {
    const r = await sb.kubectl(["-n", nsOf(v), ...args], { input, version: v, timeoutMs: 90_000 });
    assert.equal(r.code, 0, `${v}: kubectl ${args.join(" ")}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const running = (ns: string, name: string) =>
    eventually(
      async () => {
        const p = await sb.client.get(PODS, ns, name);
        return p.status?.phase === "Running" && p.status.containerStatuses?.every((c: any) => c.ready)
          ? p
          : undefined;
      },
      90_000,
      `${ns}/${name} Running`,
    );

  async function busyboxPod(v: Version): Promise<void> {
    const ok = kubectl(v);
    const created = await ok(["create", "-f", "-"], busyboxYaml(nsOf(v)));
    assert.match(created, /pod\/busybox created/);
    const pod: any = await running(nsOf(v), "busybox");
    assert.match(await ok(["get", "pods", "busybox", "--no-headers"]), /^busybox\s+1\/1\s+Running\s+0/);
    const ipa = await ok(["exec", "busybox", "--", "ip", "a"]);
    assert.ok(ipa.includes(`inet ${pod.status.podIP}/`), `${v}: ip a shows ${pod.status.podIP}:\n${ipa}`);
    const wide = await ok(["get", "pod", "busybox", "-o", "wide", "--no-headers"]);
    assert.match(wide, /Running/);
    assert.ok(wide.includes(pod.status.podIP));
    assert.ok(wide.includes("node-1"));
  }

  async function kubectlRun(v: Version): Promise<void> {
    const ok = kubectl(v);
    await ok(["run", "example-run", "--image=busybox", "--port=10000", "--", "sleep", "3600"]);
    const pod: any = await running(nsOf(v), "example-run");
    assert.equal(pod.spec.containers[0].ports[0].containerPort, 10000);
  }

  async function crashingDeployment(v: Version): Promise<void> {
    const ok = kubectl(v);
    // The seed's `kubectl run example --image=busybox --port=10000 --replicas=5` (run lost
    // --replicas; create deployment is today's spelling). busybox's sh exits at once.
    await ok(["create", "deployment", "example", "--image=busybox", "--replicas=5", "--port=10000"]);
    await eventually(
      async () => {
        const r = rows(await ok(["get", "pods", "-l", "app=example", "--no-headers"]));
        return (
          r.length === 5 && r.every((f) => f[1] === "0/1" && f[2] === "CrashLoopBackOff" && Number(f[3]) >= 1)
        );
      },
      150_000,
      `${v}: 5 pods in CrashLoopBackOff`,
    );
    await eventually(
      async () =>
        /Back-off restarting failed container busybox/.test(
          await ok(["get", "events", "--field-selector", "reason=BackOff"]),
        ),
      30_000,
      `${v}: BackOff events`,
    );
    await ok(["delete", "deployment", "example"]);
    await eventually(
      async () => rows(await ok(["get", "pods", "-l", "app=example", "--no-headers"])).length === 0,
      90_000,
      `${v}: the example pods go with their Deployment`,
    );
  }

  async function nginxDeployment(v: Version): Promise<void> {
    const ok = kubectl(v);
    // kubectl run multi-nginx --image=nginx --port=10001 --replicas=3
    await ok(["create", "deployment", "multi-nginx", "--image=nginx", "--replicas=3", "--port=10001"]);
    const first: string = await eventually(
      async () => {
        const r = rows(await ok(["get", "pods", "-l", "app=multi-nginx", "--no-headers"]));
        return r.length === 3 && r.every((f) => f[1] === "1/1" && f[2] === "Running" && f[3] === "0")
          ? r[0][0]
          : "";
      },
      120_000,
      `${v}: 3 nginx pods Running`,
    );
    assert.match(first, /^multi-nginx-\d+-[a-z0-9]{5}$/);
    const wide = await ok(["get", "pod", first, "-o", "wide"]);
    const [header, row] = wide.trim().split("\n");
    assert.match(header, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\b/);
    assert.match(
      row,
      new RegExp(`^${first}\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+10\\.244\\.1\\.\\d+\\s+node-1\\b`),
    );
    await ok(["delete", "deployment", "multi-nginx"]);
    await eventually(
      async () => rows(await ok(["get", "pods", "-l", "app=multi-nginx", "--no-headers"])).length === 0,
      90_000,
      `${v}: the nginx pods go with their Deployment`,
    );
  }

  async function cadvisorPod(v: Version, hostPort: number): Promise<void> {
    const ok = kubectl(v);
    const bad = await sb.kubectl(["-n", nsOf(v), "create", "-f", "-"], {
      input: cadvisorAsWritten,
      version: v,
    });
    assert.notEqual(bad.code, 0, `${v}: the pre-v1 manifest is rejected`);
    assert.match(bad.stderr, /unknown field "spec\.volumes\[0\]\.source"/);
    await ok(["create", "-f", "-"], cadvisorToday(hostPort));
    await running(nsOf(v), "cadvisor-agent");
    // The port is published on the node's address (portmap), reachable from the host's underlay.
    const body = await eventually(
      async () => {
        const r = await run("curl", ["-sS", "--max-time", "5", `http://${nodeIp}:${hostPort}/`]);
        return r.code === 0 ? r.stdout : undefined;
      },
      30_000,
      `${v}: hello-app answers on ${nodeIp}:${hostPort}`,
    );
    assert.match(String(body), /Hostname: cadvisor-agent/);
    await ok(["delete", "pod", "cadvisor-agent", "--grace-period=1"]);
  }

  describe("command sequences, per kubectl version", { concurrency: true }, () => {
    for (const v of VERSIONS)
      it(`kubectl ${v}`, async () => {
        // The seed's steps are independent of each other: run them side by side.
        await Promise.all([
          busyboxPod(v),
          kubectlRun(v),
          crashingDeployment(v),
          nginxDeployment(v),
          cadvisorPod(v, v === "1.33" ? 4194 : 4195),
        ]);
      });
  });

  it("a restarted kubelet adopts running containers and loses no pod", async () => {
    const ns = nsOf("1.33");
    const before: any = await running(ns, "busybox");
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
    const after: any = await running(ns, "busybox");
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
    for (const v of VERSIONS) {
      const again: any = await running(nsOf(v), "example-run");
      assert.equal(again.status.containerStatuses[0].restartCount, 0);
    }
  });
});
