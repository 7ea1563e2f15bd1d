// Seed 004's "Commands" sections replayed with the real kubectl (1.33 and 1.27, each in its own
// namespace, concurrently) on a sandbox node running real containers: restarts after killall
// under Always, OnFailure vs Never, the back-off in events and describe, and the probe
// Deployment pointing at 8081 (failing liveness and readiness) fixed by pointing it at 8080.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { eventually, KUBECTL, type Sandbox, startSandbox } from "./support/sandbox.ts";
import { probeDeployment } from "./support/seed-004-manifests.ts";

type Version = "1.33" | "1.27";

const podYaml = `apiVersion: v1
kind: Pod
metadata:
  name: hello-world-pod
spec:
  containers:
  - name: hello-world
    image: gcr.io/google-samples/hello-app:1.0
    ports:
    - containerPort: 80
`;

const restartPolicyYaml = `apiVersion: v1
kind: Pod
metadata:
  name: hello-world-onfailure-pod
spec:
  containers:
  - name: hello-world
    image: gcr.io/google-samples/hello-app:1.0
  restartPolicy: OnFailure
---
apiVersion: v1
kind: Pod
metadata:
  name: hello-world-never-pod
spec:
  containers:
  - name: hello-world
    image: gcr.io/google-samples/hello-app:1.0
  restartPolicy: Never
`;

/** `kubectl get pods --no-headers` as rows: name -> {ready, status, restarts}. */
function podRows(out: string): Map<string, { ready: string; status: string; restarts: number }> {
  const rows = new Map<string, { ready: string; status: string; restarts: number }>();
  for (const line of out.trim().split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 4) rows.set(f[0], { ready: f[1], status: f[2], restarts: Number(f[3]) });
  }
  return rows;
}

describe("seed 004 with real containers", { timeout: 900_000 }, () => {
  let sb: Sandbox;
  const watches: ChildProcess[] = [];
  before(async () => {
    sb = await startSandbox({ nodes: 1 });
    for (const v of ["1.33", "1.27"] as Version[]) {
      const ns = `seed004-${v.replace(".", "")}`;
      const r = await sb.kubectl(["create", "namespace", ns]);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    for (const w of watches) w.kill("SIGKILL");
    await sb?.stop();
  });

  const k = (v: Version, ns: string) => async (args: string[], input?: string) => {
    const r = await sb.kubectl(["-n", ns, ...args], { version: v, input, timeoutMs: 60_000 });
    return r;
  };
  const ok = async (p: Promise<{ code: number; stdout: string; stderr: string }>) => {
    const r = await p;
    assert.equal(r.code, 0, r.stderr || r.stdout);
    return r.stdout;
  };

  /** `kubectl get events --watch &`: collects what it prints until the test ends. */
  function watchEvents(v: Version, ns: string): { text: () => string } {
    let text = "";
    const w = spawn(KUBECTL(v), ["--kubeconfig", sb.kubeconfig, "-n", ns, "get", "events", "--watch"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    watches.push(w);
    w.stdout.on("data", (d) => {
      text += d;
    });
    return { text: () => text };
  }

  /**
   * `kubectl exec POD -- /usr/bin/killall hello-app`. hello-app is the container's PID 1: when it
   * dies the kernel SIGKILLs everything left in the PID namespace, killall included if it has not
   * exited yet, so exec ends with 0 or 137, as on a real node.
   */
  async function killHelloApp(kc: ReturnType<typeof k>, pod: string): Promise<void> {
    const r = await kc(["exec", pod, "--", "/usr/bin/killall", "hello-app"]);
    assert.ok([0, 137].includes(r.code), `killall in ${pod}: exit ${r.code} ${r.stderr}`);
  }

  async function restartsAfterKillall(v: Version, ns: string): Promise<void> {
    const kc = k(v, ns);
    const events = watchEvents(v, ns);
    await ok(kc(["apply", "-f", "-"], podYaml));
    await eventually(
      async () =>
        podRows(await ok(kc(["get", "pods", "--no-headers"]))).get("hello-world-pod")?.status === "Running",
      90_000,
      `${v}: hello-world-pod Running`,
    );
    // kubectl exec -it hello-world-pod -- /bin/sh; ps; exit
    const ps = await ok(kc(["exec", "-i", "hello-world-pod", "--", "/bin/sh"], "ps\nexit\n"));
    assert.match(ps, /hello-app/, `${v}: ps inside the container shows hello-app`);
    await killHelloApp(kc, "hello-world-pod");
    await eventually(
      async () => {
        const row = podRows(await ok(kc(["get", "pods", "--no-headers"]))).get("hello-world-pod");
        return row?.restarts === 1 && row.status === "Running";
      },
      60_000,
      `${v}: restarted once by restartPolicy Always`,
    );
    const describe = await ok(kc(["describe", "pod", "hello-world-pod"]));
    assert.match(describe, /Last State:\s+Terminated/);
    assert.match(describe, /Reason:\s+Error/);
    assert.match(describe, /Exit Code:\s+(2|143)/);
    assert.match(describe, /Restart Count:\s+1/);
    assert.match(describe, /Started\s+.*Started container hello-world/);
    await eventually(
      () => /Scheduled/.test(events.text()) && /Pulled/.test(events.text()) && /Started/.test(events.text()),
      20_000,
      `${v}: the event watch saw Scheduled, Pulled and Started`,
    );
    await ok(kc(["delete", "pod", "hello-world-pod"]));
  }

  async function onFailureVersusNever(v: Version, ns: string): Promise<void> {
    const kc = k(v, ns);
    const explain = await ok(kc(["explain", "pods.spec.restartPolicy"]));
    assert.match(explain, /restartPolicy/);
    await ok(kc(["apply", "-f", "-"], restartPolicyYaml));
    await eventually(
      async () => {
        const rows = podRows(await ok(kc(["get", "pods", "--no-headers"])));
        return ["hello-world-onfailure-pod", "hello-world-never-pod"].every(
          (n) => rows.get(n)?.status === "Running" && rows.get(n)?.restarts === 0,
        );
      },
      90_000,
      `${v}: both pods Running with 0 restarts`,
    );
    await killHelloApp(kc, "hello-world-never-pod");
    await eventually(
      async () => {
        const row = podRows(await ok(kc(["get", "pods", "--no-headers"]))).get("hello-world-never-pod");
        return row?.status === "Error" && row.restarts === 0 && row.ready === "0/1";
      },
      30_000,
      `${v}: the Never pod stays down (Error, no restart)`,
    );
    const never = await ok(kc(["describe", "pod", "hello-world-never-pod"]));
    assert.match(never, /State:\s+Terminated/);
    assert.match(never, /Reason:\s+Error/);
    assert.match(never, /Ready\s+False/);
    assert.match(never, /ContainersReady\s+False/);

    await killHelloApp(kc, "hello-world-onfailure-pod");
    await eventually(
      async () => {
        const row = podRows(await ok(kc(["get", "pods", "--no-headers"]))).get("hello-world-onfailure-pod");
        return row?.restarts === 1 && row.status === "Running";
      },
      60_000,
      `${v}: OnFailure restarted the failed container once`,
    );
    await killHelloApp(kc, "hello-world-onfailure-pod");
    // The second failure meets the back-off: Error / CrashLoopBackOff, a BackOff event, then Running.
    const backingOff = await eventually(
      async () => {
        const out = await ok(kc(["describe", "pod", "hello-world-onfailure-pod"]));
        return /Back-off restarting failed container hello-world/.test(out) ? out : undefined;
      },
      30_000,
      `${v}: BackOff event for the OnFailure pod`,
    );
    assert.match(String(backingOff), /Last State:\s+Terminated/);
    await eventually(
      async () => {
        const row = podRows(await ok(kc(["get", "pods", "--no-headers"]))).get("hello-world-onfailure-pod");
        return row?.restarts === 2 && row.status === "Running";
      },
      60_000,
      `${v}: Running again after the back-off expired`,
    );
    await ok(kc(["delete", "pod", "hello-world-never-pod", "hello-world-onfailure-pod"]));
  }

  async function probes(v: Version, ns: string): Promise<void> {
    const kc = k(v, ns);
    await ok(kc(["apply", "-f", "-"], probeDeployment(8081)));
    // Liveness on 8081 fails three times (10 s delay + 3 x 5 s): the container is restarted;
    // readiness never succeeds, so the pod stays 0/1.
    await eventually(
      async () => {
        const rows = [...podRows(await ok(kc(["get", "pods", "--no-headers"]))).values()];
        return rows.length === 1 && rows[0].ready === "0/1" && rows[0].restarts >= 1;
      },
      120_000,
      `${v}: the 8081 pod is not ready and restarting`,
    );
    const d = await ok(kc(["describe", "pods"]));
    assert.match(d, /Liveness:\s+tcp-socket :8081/);
    assert.match(d, /Readiness:\s+http-get http:\/\/:8081\//);
    assert.match(d, /Liveness probe failed: dial tcp [\d.]+:8081: connect: connection refused/);
    assert.match(d, /Readiness probe failed: Get "http:\/\/[\d.]+:8081\/": dial tcp/);
    assert.match(d, /Container hello-world failed liveness probe, will be restarted/);

    await ok(kc(["apply", "-f", "-"], probeDeployment(8080)));
    await eventually(
      async () => {
        const rows = [...podRows(await ok(kc(["get", "pods", "--no-headers"]))).values()];
        return rows.length === 1 && rows[0].ready === "1/1" && rows[0].status === "Running";
      },
      120_000,
      `${v}: one ready pod once the probes point at 8080`,
    );
    const fixed = await ok(kc(["describe", "pods"]));
    assert.match(fixed, /Liveness:\s+tcp-socket :8080/);
    await ok(kc(["delete", "deployment", "hello-world"]));
  }

  for (const v of ["1.33", "1.27"] as Version[]) {
    it(`kubectl ${v}: the three command sequences`, async () => {
      const ns = `seed004-${v.replace(".", "")}`;
      await Promise.all([restartsAfterKillall(v, ns), onFailureVersusNever(v, ns), probes(v, ns)]);
    });
  }
});
