// Issue 4's pod lifecycle on a real node (containerd + our kubelet), end to end with the real
// kubectl: multi-container pods (shared localhost and volumes, configMap/secret/hostPath,
// env/args/workingDir), init containers, restart policies and phases, OOMKilled under a memory
// limit, termination (grace period then SIGKILL, SIGTERM handled, forced deletion still
// tearing the sandbox down), static pods with their mirror pods, a terminating pod keeping its
// Raven port until its containers are gone, and the images' tools (wget, ip, nc). One sandbox; the tests
// are independent and run concurrently.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CriClient } from "../src/cri/client.ts";
import { isNotFound } from "../src/kube/errors.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { PODS } from "../src/kube/resource.ts";
import { type NodeLayout, nodeLayout } from "../src/sandbox/node/layout.ts";
import { PORTS } from "../src/sdn/embedded/resources.ts";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

const NS = "default";
const UID_LABEL = "io.kubernetes.pod.uid";

describe("pod lifecycle on a real node", { timeout: 600_000, concurrency: true }, () => {
  let sb: Sandbox;
  let node: NodeLayout;
  let cri: CriClient;
  before(async () => {
    sb = await startSandbox({ nodes: 1, backend: "embedded" });
    const cfg = JSON.parse(readFileSync(join(sb.dir, "config.json"), "utf8"));
    node = nodeLayout(cfg.dir, cfg, 1);
    cri = CriClient.connect(node.containerdSocket);
  });
  after(async () => {
    cri?.close();
    await sb?.stop();
  });

  const ok = async (args: string[], input?: string) => {
    const r = await sb.kubectl(args, { input, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const getPod = async (name: string): Promise<KubeObject | undefined> => {
    try {
      return await sb.client.get(PODS, NS, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  /** Waits until `test` holds for the pod; returns the pod. */
  const podWhere = (name: string, test: (p: any) => boolean, what: string, ms = 90_000) =>
    eventually(
      async () => {
        const p = await getPod(name);
        return p && test(p) ? p : undefined;
      },
      ms,
      `${name}: ${what}`,
    ) as Promise<any>;
  const running = (name: string) =>
    podWhere(
      name,
      (p) => p.status?.phase === "Running" && p.status.containerStatuses?.every((c: any) => c.ready),
      "Running and ready",
    );
  const gone = (name: string, ms = 60_000) =>
    eventually(async () => !(await getPod(name)), ms, `${name} deleted`);
  /** The STATUS column of `kubectl get pod`. */
  const statusColumn = async (name: string) =>
    (await ok(["get", "pod", name, "--no-headers"])).trim().split(/\s+/)[2];
  const runtimeOf = async (uid: string) => ({
    sandboxes: await cri.listPodSandbox({ labelSelector: { [UID_LABEL]: uid } }),
    containers: await cri.listContainers({ labelSelector: { [UID_LABEL]: uid } }),
  });
  /** Every status the pod's watch delivered (ADDED/MODIFIED), until stopped. */
  const watchPod = async (name: string) => {
    const seen: any[] = [];
    const abort = new AbortController();
    const done = sb.client
      .watch(
        PODS,
        { namespace: NS, fieldSelector: `metadata.name=${name}` },
        (e) => seen.push(e),
        abort.signal,
      )
      .catch(() => {});
    await eventually(() => seen.length > 0, 20_000, `${name}: the watch is established`);
    return {
      seen,
      stop: async () => {
        abort.abort();
        await done;
      },
    };
  };
  const busybox = (
    name: string,
    script: string,
    extra: Record<string, any> = {},
    spec: Record<string, any> = {},
  ) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: {
      containers: [{ name: "app", image: "busybox", command: ["sh", "-c", script], ...extra }],
      ...spec,
    },
  });
  const apply = (...objs: object[]) =>
    ok(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objs }));

  it("a multi-container pod shares localhost and volumes; configMap, secret, hostPath, env, args, workingDir", async () => {
    const hostDir = join(sb.dir, "hostpath-multi");
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(join(hostDir, "from-host"), "written-on-the-node\n");
    const clientScript = [
      'echo "PWD=$(pwd)"',
      'echo "ARGS=$0,$1"',
      'echo "NAME=$POD_NAME IP=$POD_IP COMBINED=$COMBINED"',
      "until wget -qO- http://127.0.0.1:8000/index.html; do sleep 1; done",
      "echo from-client > client.txt",
      "cp /etc/cm/greeting /host/from-pod",
      "exec sleep 3600",
    ].join("; ");
    await apply(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "multi-cm", namespace: NS },
        data: { greeting: "hello-from-configmap" },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "multi-secret", namespace: NS },
        data: { password: Buffer.from("s3cr3t-value").toString("base64") },
      },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "multi", namespace: NS },
        spec: {
          terminationGracePeriodSeconds: 2,
          hostAliases: [{ ip: "10.1.2.3", hostnames: ["foo.local", "bar.local"] }],
          volumes: [
            { name: "shared", emptyDir: {} },
            { name: "cm", configMap: { name: "multi-cm" } },
            { name: "sec", secret: { secretName: "multi-secret" } },
            { name: "host", hostPath: { path: hostDir, type: "DirectoryOrCreate" } },
          ],
          containers: [
            {
              name: "web",
              image: "busybox",
              command: [
                "sh",
                "-c",
                "echo served-over-localhost > /www/index.html; exec httpd -f -p 8000 -h /www",
              ],
              ports: [{ containerPort: 8000 }],
              volumeMounts: [{ name: "shared", mountPath: "/www" }],
            },
            {
              name: "client",
              image: "busybox",
              command: ["sh", "-c", clientScript],
              args: ["client-arg0", "first-arg"],
              workingDir: "/shared",
              env: [
                { name: "GREETING", value: "hi" },
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                { name: "COMBINED", value: "$(GREETING)-$(POD_NAME)" },
              ],
              volumeMounts: [
                { name: "shared", mountPath: "/shared" },
                { name: "cm", mountPath: "/etc/cm" },
                { name: "sec", mountPath: "/etc/sec", readOnly: true },
                { name: "host", mountPath: "/host" },
              ],
            },
          ],
        },
      },
    );
    const pod = await running("multi");
    const ip = pod.status.podIP;
    // The address raven-cni gave it: its Raven port's.
    assert.equal(ip, JSON.parse(pod.metadata.annotations["raven.io/port"]).fixed_ips[0].ip_address);
    const logs: string = await eventually(
      async () => {
        const out = await ok(["logs", "multi", "-c", "client"]);
        return out.includes("served-over-localhost") ? out : "";
      },
      60_000,
      "the client fetched the page over 127.0.0.1",
    );
    assert.match(logs, /^PWD=\/shared$/m);
    assert.match(logs, /^ARGS=client-arg0,first-arg$/m);
    assert.ok(logs.includes(`NAME=multi IP=${ip} COMBINED=hi-multi`), logs);
    // emptyDir: what the client wrote (relative to its workingDir) the web container reads.
    await eventually(
      async () =>
        (await sb.kubectl(["exec", "multi", "-c", "web", "--", "cat", "/www/client.txt"])).stdout ===
        "from-client\n",
      30_000,
      "web sees the client's file in the emptyDir",
    );
    assert.equal(
      await ok(["exec", "multi", "-c", "client", "--", "cat", "/etc/cm/greeting"]),
      "hello-from-configmap",
    );
    assert.equal(
      await ok(["exec", "multi", "-c", "client", "--", "cat", "/etc/sec/password"]),
      "s3cr3t-value",
    );
    const ro = await sb.kubectl(["exec", "multi", "-c", "client", "--", "touch", "/etc/sec/x"]);
    assert.notEqual(ro.code, 0, "the readOnly secret mount refuses writes");
    assert.equal(
      await ok(["exec", "multi", "-c", "client", "--", "cat", "/host/from-host"]),
      "written-on-the-node\n",
    );
    await eventually(
      () => existsSync(join(hostDir, "from-pod")),
      30_000,
      "the pod's file on the node's hostPath",
    );
    assert.equal(readFileSync(join(hostDir, "from-pod"), "utf8"), "hello-from-configmap");
    // The kubelet-managed /etc/hosts, the same in both containers: the pod IP with its
    // hostname, then the hostAliases.
    const hosts = await ok(["exec", "multi", "-c", "client", "--", "cat", "/etc/hosts"]);
    assert.match(hosts, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
    assert.ok(hosts.includes(`\n${ip}\tmulti\n`), hosts);
    assert.match(hosts, /# Entries added by HostAliases\.\n10\.1\.2\.3\tfoo\.local\tbar\.local\n$/);
    assert.equal(await ok(["exec", "multi", "-c", "web", "--", "cat", "/etc/hosts"]), hosts);
    assert.equal((await ok(["exec", "multi", "-c", "web", "--", "hostname"])).trim(), "multi");
    // The web container's env has none of the client's variables.
    const webEnv = await ok(["exec", "multi", "-c", "web", "--", "env"]);
    assert.doesNotMatch(webEnv, /POD_NAME=/);
    await ok(["delete", "pod/multi", "configmap/multi-cm", "secret/multi-secret"]);
  });

  it("init containers run in order before the app; Initialized; describe shows them Completed", async () => {
    const step = (name: string, word: string) => ({
      name,
      image: "busybox",
      command: ["sh", "-c", `echo ${word} >> /work/order`],
      volumeMounts: [{ name: "work", mountPath: "/work" }],
    });
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "init-ok", namespace: NS },
      spec: {
        terminationGracePeriodSeconds: 2,
        volumes: [{ name: "work", emptyDir: {} }],
        initContainers: [step("init-one", "first"), step("init-two", "second")],
        containers: [
          {
            name: "app",
            image: "busybox",
            command: ["sh", "-c", "cat /work/order; exec sleep 3600"],
            volumeMounts: [{ name: "work", mountPath: "/work" }],
          },
        ],
      },
    });
    const pod = await running("init-ok");
    const cond = (t: string) => pod.status.conditions.find((c: any) => c.type === t)?.status;
    assert.equal(cond("Initialized"), "True");
    assert.equal(cond("Ready"), "True");
    assert.deepEqual(
      pod.status.initContainerStatuses.map((s: any) => [
        s.name,
        s.state.terminated?.reason,
        s.state.terminated?.exitCode,
      ]),
      [
        ["init-one", "Completed", 0],
        ["init-two", "Completed", 0],
      ],
    );
    // The second init container started after the first finished.
    const [one, two] = pod.status.initContainerStatuses.map((s: any) => s.state.terminated);
    assert.ok(Date.parse(two.startedAt) >= Date.parse(one.finishedAt), JSON.stringify([one, two]));
    assert.equal(await ok(["logs", "init-ok", "-c", "app"]), "first\nsecond\n");
    assert.equal(await ok(["logs", "init-ok", "-c", "init-two"]), "");
    const d = await ok(["describe", "pod", "init-ok"]);
    assert.match(
      d,
      /Init Containers:\s+init-one:[\s\S]*?State:\s+Terminated\s+Reason:\s+Completed\s+Exit Code:\s+0[\s\S]*?init-two:[\s\S]*?State:\s+Terminated\s+Reason:\s+Completed\s+Exit Code:\s+0[\s\S]*?\nContainers:\s+app:[\s\S]*?State:\s+Running/,
      d,
    );
    assert.match(d, /Initialized\s+True/);
    await ok(["delete", "pod", "init-ok"]);
  });

  it("a failing init container under restartPolicy Never fails the pod (Init:Error); the app never starts", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "init-fail", namespace: NS },
      spec: {
        restartPolicy: "Never",
        initContainers: [{ name: "prep", image: "busybox", command: ["sh", "-c", "echo failing; exit 7"] }],
        containers: [{ name: "app", image: "busybox", command: ["sleep", "3600"] }],
      },
    });
    const pod = await podWhere("init-fail", (p) => p.status?.phase === "Failed", "phase Failed");
    const init = pod.status.initContainerStatuses[0];
    assert.equal(init.state.terminated.exitCode, 7);
    assert.equal(init.state.terminated.reason, "Error");
    assert.equal(init.restartCount, 0);
    const app = pod.status.containerStatuses[0];
    assert.equal(app.containerID, undefined);
    assert.ok(app.state.waiting, JSON.stringify(app));
    assert.equal(pod.status.conditions.find((c: any) => c.type === "Initialized").status, "False");
    assert.equal(await statusColumn("init-fail"), "Init:Error");
    // Nothing but the init container was ever created in the runtime.
    const rt = await runtimeOf(pod.metadata.uid);
    assert.deepEqual(
      rt.containers.map((c) => c.metadata?.name),
      ["prep"],
    );
    assert.equal(await ok(["logs", "init-fail", "-c", "prep"]), "failing\n");
    await ok(["delete", "pod", "init-fail"]);
  });

  it("restart policies: Never exit 0 Succeeded, Never exit 1 Failed, OnFailure exit 0 Succeeded and not restarted", async () => {
    await apply(
      busybox("never-ok", "exit 0", {}, { restartPolicy: "Never" }),
      busybox("never-fail", "exit 1", {}, { restartPolicy: "Never" }),
      busybox("onfailure-ok", "exit 0", {}, { restartPolicy: "OnFailure" }),
    );
    const cases: [string, string, string, number][] = [
      ["never-ok", "Succeeded", "Completed", 0],
      ["never-fail", "Failed", "Error", 1],
      ["onfailure-ok", "Succeeded", "Completed", 0],
    ];
    const pods = await Promise.all(
      cases.map(([name, phase]) => podWhere(name, (p) => p.status?.phase === phase, `phase ${phase}`)),
    );
    for (const [i, [name, , reason, code]] of cases.entries()) {
      const cs = pods[i].status.containerStatuses[0];
      assert.equal(cs.state.terminated?.reason, reason, `${name}: ${JSON.stringify(cs)}`);
      assert.equal(cs.state.terminated.exitCode, code);
      assert.equal(cs.restartCount, 0);
      assert.equal(cs.ready, false);
      assert.equal(await statusColumn(name), reason);
    }
    // Some relists later, still one instance of the OnFailure container, never restarted.
    await new Promise((r) => setTimeout(r, 4_000));
    const again = await getPod("onfailure-ok");
    assert.equal(again?.status.phase, "Succeeded");
    assert.equal(again?.status.containerStatuses[0].restartCount, 0);
    const rt = await runtimeOf(pods[2].metadata.uid);
    assert.equal(rt.containers.length, 1, JSON.stringify(rt.containers));
    await ok(["delete", "pod", "never-ok", "never-fail", "onfailure-ok"]);
  });

  it("a container over its memory limit is OOMKilled (exit 137)", async () => {
    await apply(
      busybox(
        "oom",
        `x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived`,
        { resources: { limits: { memory: "16Mi" } } },
        { restartPolicy: "Never" },
      ),
    );
    // containerd may report the exit a moment before the OOM kill (its TaskOOM event comes
    // separately), so the first Failed status can still say Error: wait for the final word.
    const pod = await podWhere(
      "oom",
      (p) =>
        p.status?.phase === "Failed" &&
        p.status.containerStatuses?.[0]?.state?.terminated?.reason === "OOMKilled",
      "phase Failed, OOMKilled",
      30_000,
    ).catch(async (err) => {
      throw new Error(`${err.message}: ${JSON.stringify((await getPod("oom"))?.status?.containerStatuses)}`);
    });
    const t = pod.status.containerStatuses[0].state.terminated;
    assert.equal(t.reason, "OOMKilled", JSON.stringify(t));
    assert.equal(t.exitCode, 137);
    assert.equal(await statusColumn("oom"), "OOMKilled");
    // The limit reached the runtime: the container's cgroup is capped at 16 MiB.
    const cs = await cri.containerStatus(
      pod.status.containerStatuses[0].containerID.replace("containerd://", ""),
      true,
    );
    const info = JSON.parse(cs.info.info ?? "{}");
    assert.equal(
      info.runtimeSpec?.linux?.resources?.memory?.limit,
      16 * 1024 * 1024,
      JSON.stringify(info.runtimeSpec?.linux?.resources),
    );
    assert.doesNotMatch(await ok(["logs", "oom"]), /survived/);
    await ok(["delete", "pod", "oom"]);
  });

  it("delete --grace-period=2 on a container ignoring SIGTERM: still there at once, SIGKILLed, then gone", async () => {
    await apply(busybox("ignores-term", `trap "" TERM; while true; do sleep 1; done`));
    await running("ignores-term");
    const w = await watchPod("ignores-term");
    try {
      await ok(["delete", "pod", "ignores-term", "--grace-period=2", "--wait=false"]);
      const terminating = await getPod("ignores-term");
      assert.ok(terminating, "the pod object still exists right after the delete");
      assert.ok(terminating.metadata.deletionTimestamp);
      assert.equal(terminating.metadata.deletionGracePeriodSeconds, 2);
      await gone("ignores-term", 60_000);
    } finally {
      await w.stop();
    }
    // The kubelet's last status before removing the object: killed by SIGKILL.
    const last = w.seen.filter((e) => e.type !== "DELETED").at(-1).object;
    const t = last.status.containerStatuses[0].state.terminated;
    assert.equal(t?.exitCode, 137, JSON.stringify(last.status.containerStatuses[0]));
    const killing = await ok([
      "get",
      "events",
      "--field-selector",
      "involvedObject.name=ignores-term,reason=Killing",
    ]);
    assert.match(killing, /Stopping container app/);
  });

  it("a terminating pod keeps its Raven port until its containers are gone; pods created meanwhile get other addresses", async () => {
    const portIp = (p: KubeObject | undefined) =>
      p?.metadata.annotations?.["raven.io/port"]
        ? JSON.parse(p.metadata.annotations["raven.io/port"]).fixed_ips[0].ip_address
        : undefined;
    const portsOf = async (uid: string) =>
      (await sb.client.list(PORTS, { namespace: NS })).items.filter((p) => p.spec.owner.uid === uid);
    await apply(
      busybox(
        "holds-port",
        `trap "" TERM; while true; do sleep 1; done`,
        {},
        { terminationGracePeriodSeconds: 20 },
      ),
    );
    const holder = await podWhere(
      "holds-port",
      (p) => portIp(p) && p.status?.phase === "Running",
      "its port",
    );
    const ip = portIp(holder);
    await ok(["delete", "pod", "holds-port", "--wait=false"]);
    const meanwhile = ["during-grace-1", "during-grace-2", "during-grace-3"];
    await apply(...meanwhile.map((n) => busybox(n, "sleep 3600")));
    for (const n of meanwhile) {
      const p = await podWhere(n, portIp, "its port");
      assert.notEqual(portIp(p), ip, `${n} got another address than the terminating pod's ${ip}`);
    }
    const terminating = await getPod("holds-port");
    assert.ok(terminating?.metadata.deletionTimestamp, "still terminating (it ignores SIGTERM, grace 20 s)");
    assert.equal((await portsOf(holder.metadata.uid)).length, 1, "its port is still there");
    assert.equal(portIp(terminating), ip, "and still its annotation");
    await gone("holds-port", 90_000);
    // Gone with its containers: its port is released (and nobody else holds its address).
    await eventually(
      async () => (await portsOf(holder.metadata.uid)).length === 0,
      30_000,
      "its port released",
    );
    const holders = (await sb.client.list(PORTS, { namespace: NS })).items.filter(
      (p) => p.spec.ipAddress === ip,
    );
    assert.deepEqual(holders, [], `${ip} is free`);
    await ok(["delete", "pod", ...meanwhile, "--wait=false"]);
  });

  it("the images' tools work in pods: busybox wget (also with -T, which crashed Debian's), ip, nc", async () => {
    await apply(busybox("tools", "sleep 3600"), {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "tools-web", namespace: NS },
      spec: { containers: [{ name: "web", image: "nginx" }] },
    });
    const [tools, web] = [await running("tools"), await running("tools-web")];
    const sh = (script: string) => ok(["exec", "tools", "--", "sh", "-c", script]);
    const ip = web.status.podIP;
    assert.match(await sh(`wget -q -O- http://${ip}/`), /Welcome to nginx!/);
    // Debian 12's busybox-static crashed on -T (SIGSEGV, exit 139); the image's is patched.
    assert.match(await sh(`wget -q -T 5 -O- http://${ip}/`), /Welcome to nginx!/);
    assert.match(
      await ok(["exec", "tools", "--", "wget", "-q", "-T", "2", "-O-", `http://${ip}/`]),
      /Welcome/,
    );
    assert.match(
      await sh("ip -4 addr show eth0"),
      new RegExp(`inet ${tools.status.podIP.replace(/\./g, "\\.")}/`),
    );
    assert.match(await sh("ip route"), /default via/);
    assert.match(await sh(`printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${ip} 80`), /HTTP\/1\.1 200 OK/);
    await ok(["delete", "pod", "tools", "tools-web", "--wait=false"]);
  });

  it("a container that handles SIGTERM exits at once (exit 0), long before its grace period", async () => {
    const hostDir = join(sb.dir, "hostpath-term");
    mkdirSync(hostDir, { recursive: true });
    await apply(
      busybox(
        "handles-term",
        `trap "echo got-term > /host/marker; exit 0" TERM; while true; do sleep 1; done`,
        { volumeMounts: [{ name: "host", mountPath: "/host" }] },
        { terminationGracePeriodSeconds: 120, volumes: [{ name: "host", hostPath: { path: hostDir } }] },
      ),
    );
    await running("handles-term");
    const w = await watchPod("handles-term");
    try {
      await ok(["delete", "pod", "handles-term", "--wait=false"]);
      // Gone well within the 120 s grace period: the container ended on SIGTERM.
      await gone("handles-term", 60_000);
    } finally {
      await w.stop();
    }
    assert.equal(readFileSync(join(hostDir, "marker"), "utf8"), "got-term\n");
    const last = w.seen.filter((e) => e.type !== "DELETED").at(-1).object;
    assert.equal(last.status.containerStatuses[0].state.terminated?.exitCode, 0);
  });

  it("a preStop exec hook runs before SIGTERM, within the grace period", async () => {
    const hostDir = join(sb.dir, "hostpath-prestop");
    mkdirSync(hostDir, { recursive: true });
    await apply(
      busybox(
        "prestop",
        `trap "echo term >> /host/order; exit 0" TERM; while true; do sleep 1; done`,
        {
          volumeMounts: [{ name: "host", mountPath: "/host" }],
          lifecycle: { preStop: { exec: { command: ["sh", "-c", "echo prestop >> /host/order"] } } },
        },
        { terminationGracePeriodSeconds: 30, volumes: [{ name: "host", hostPath: { path: hostDir } }] },
      ),
    );
    await running("prestop");
    await ok(["delete", "pod", "prestop", "--wait=false"]);
    await gone("prestop", 60_000);
    assert.equal(readFileSync(join(hostDir, "order"), "utf8"), "prestop\nterm\n");
  });

  it("a failing startup probe restarts the container; the Killing event names the startup probe", async () => {
    await apply(
      busybox(
        "slow-start",
        "exec sleep 3600",
        { startupProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 2 } },
        { terminationGracePeriodSeconds: 2 },
      ),
    );
    await eventually(
      async () =>
        /Container app failed startup probe, will be restarted/.test(
          await ok(["get", "events", "--field-selector", "involvedObject.name=slow-start,reason=Killing"]),
        ),
      60_000,
      "Killing event for the startup probe",
    );
    const pod = await podWhere(
      "slow-start",
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      "restarted",
    );
    assert.equal(pod.status.containerStatuses[0].started, false);
    const unhealthy = await ok([
      "get",
      "events",
      "--field-selector",
      "involvedObject.name=slow-start,reason=Unhealthy",
    ]);
    assert.match(unhealthy, /Startup probe failed/);
    await ok(["delete", "pod", "slow-start", "--grace-period=1"]);
  });

  it("delete --grace-period=0 --force removes the object at once; the kubelet still tears the sandbox down", async () => {
    // A long grace period the forced deletion must not wait for (the kubelet uses its minimum).
    await apply(
      busybox(
        "forced",
        `trap "" TERM; while true; do sleep 1; done`,
        {},
        { terminationGracePeriodSeconds: 300 },
      ),
    );
    const pod = await running("forced");
    const uid = pod.metadata.uid;
    const before = await runtimeOf(uid);
    assert.equal(before.sandboxes.length, 1);
    assert.equal(before.containers.length, 1);
    const del = await sb.kubectl(["delete", "pod", "forced", "--grace-period=0", "--force"]);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stderr, /Immediate deletion does not wait for confirmation/);
    assert.equal(await getPod("forced"), undefined, "the object is gone when the command returns");
    await eventually(
      async () => {
        const rt = await runtimeOf(uid);
        return rt.sandboxes.length === 0 && rt.containers.length === 0;
      },
      60_000,
      "sandbox and container removed from containerd",
    );
  });

  it("static pods: manifest -> running pod + mirror pod; mirror deleted -> recreated, no restart; manifest removed -> stopped", async () => {
    const dir = node.manifestsDir;
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "static-web.yaml");
    writeFileSync(
      file,
      `apiVersion: v1
kind: Pod
metadata:
  name: static-web
  labels:
    role: static
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: web
    image: busybox
    command: ["httpd", "-f", "-p", "8000"]
`,
    );
    try {
      const mirror = await running("static-web-node-1");
      assert.ok(mirror.metadata.annotations["kubernetes.io/config.mirror"], "mirror annotation");
      assert.equal(mirror.metadata.annotations["kubernetes.io/config.source"], "file");
      assert.equal(mirror.spec.nodeName, "node-1");
      assert.equal(mirror.metadata.ownerReferences?.[0]?.kind, "Node");
      const containerId = mirror.status.containerStatuses[0].containerID;
      assert.match(containerId, /^containerd:\/\//);
      const row = await ok(["get", "pod", "static-web-node-1", "--no-headers"]);
      assert.match(row, /^static-web-node-1\s+1\/1\s+Running\s+0/);

      // --wait=false: kubectl before 1.35 waits forever when the name is recreated between its
      // delete and its list (kubernetes/kubectl#1803), which the kubelet does at once for a mirror pod.
      await ok(["delete", "pod", "static-web-node-1", "--wait=false"]);
      const recreated = await podWhere(
        "static-web-node-1",
        (p) =>
          p.metadata.uid !== mirror.metadata.uid &&
          !p.metadata.deletionTimestamp &&
          p.status?.phase === "Running" &&
          p.status.containerStatuses?.[0]?.ready,
        "mirror recreated and Running",
        60_000,
      );
      assert.equal(recreated.status.containerStatuses[0].containerID, containerId, "same container");
      assert.equal(recreated.status.containerStatuses[0].restartCount, 0);

      rmSync(file);
      await gone("static-web-node-1", 60_000);
      const id = containerId.replace("containerd://", "");
      await eventually(
        async () => !(await cri.listContainers()).some((c) => c.id === id),
        60_000,
        "the static pod's container removed",
      );
    } finally {
      rmSync(file, { force: true });
    }
  });
});
