import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ContainerConfigError,
  type ContainerContext,
  containerConfig,
  expand,
  oomScoreAdj,
  sandboxConfig,
} from "./container-config.ts";
import { pod } from "./testing.ts";

const ctx = (o: Partial<ContainerContext> = {}): ContainerContext => ({
  image: "docker.io/library/busybox:latest",
  restartCount: 0,
  podIp: "10.244.1.5",
  nodeName: "node-1",
  hostIp: "10.254.0.11",
  volumePaths: new Map(),
  configMaps: new Map(),
  secrets: new Map(),
  ...o,
});

describe("sandboxConfig", () => {
  it("names, hostname, log directory, labels and annotations", () => {
    const p = pod({}, { labels: { app: "web" }, annotations: { a: "b" } });
    const c = sandboxConfig(p, 2, "/n/pod-logs");
    assert.deepEqual(c.metadata, { name: "p", namespace: "default", uid: "u1", attempt: 2 });
    assert.equal(c.hostname, "p");
    assert.equal(c.logDirectory, "/n/pod-logs/default_p_u1");
    assert.equal(c.labels?.app, "web");
    assert.equal(c.labels?.["io.kubernetes.pod.uid"], "u1");
    assert.equal(c.labels?.["io.kubernetes.pod.name"], "p");
    assert.equal(c.annotations?.a, "b");
    assert.equal(c.linux?.securityContext?.namespaceOptions?.network, 0);
  });
  it("hostNetwork uses the node's namespace; hostPorts become port mappings; spec.hostname wins", () => {
    const p = pod({
      hostNetwork: true,
      containers: [
        {
          name: "a",
          ports: [
            { containerPort: 8080, hostPort: 4194 },
            { containerPort: 53, protocol: "UDP" },
          ],
        },
      ],
    });
    const c = sandboxConfig(p, 0, "/l");
    assert.equal(c.linux?.securityContext?.namespaceOptions?.network, 2);
    assert.equal(c.hostname, undefined);
    assert.deepEqual(c.portMappings, [{ protocol: 0, containerPort: 8080, hostPort: 4194 }]);
    assert.equal(sandboxConfig(pod({ hostname: "h" }), 0, "/l").hostname, "h");
  });
});

describe("containerConfig", () => {
  it("command, args with $(VAR) expansion, env, working dir, log path, labels, annotations", () => {
    const p = pod({
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: "app",
          image: "busybox",
          command: ["sh", "-c"],
          args: ["echo $(GREETING) $(MISSING) $$(HOME)"],
          workingDir: "/tmp",
          env: [
            { name: "GREETING", value: "hi" },
            { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            { name: "UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
            { name: "BOTH", value: "$(GREETING)-$(POD)" },
          ],
        },
      ],
    });
    const c = containerConfig(p, p.spec.containers[0], ctx({ restartCount: 3 }));
    assert.deepEqual(c.command, ["sh", "-c"]);
    assert.deepEqual(c.args, ["echo hi $(MISSING) $(HOME)"]);
    assert.equal(c.workingDir, "/tmp");
    const env = Object.fromEntries((c.envs ?? []).map((e) => [e.key, e.value]));
    assert.deepEqual(env, {
      GREETING: "hi",
      POD: "p",
      IP: "10.244.1.5",
      NODE: "node-1",
      UID: "u1",
      BOTH: "hi-p",
    });
    assert.equal(c.logPath, "app/3.log");
    assert.deepEqual(c.metadata, { name: "app", attempt: 3 });
    assert.equal(c.labels?.["io.kubernetes.container.name"], "app");
    assert.equal(c.labels?.["io.kubernetes.pod.namespace"], "default");
    assert.equal(c.annotations?.["io.kubernetes.container.restartCount"], "3");
    assert.equal(c.annotations?.["io.kubernetes.pod.terminationGracePeriod"], "5");
    assert.match(c.annotations?.["io.kubernetes.container.hash"] ?? "", /^[0-9a-f]{8}$/);
    assert.equal(c.image.image, "docker.io/library/busybox:latest");
  });
  it("configMap/secret refs and envFrom (env wins); a missing one is a config error", () => {
    const cm = { metadata: { name: "cfg", namespace: "default" }, data: { A: "1", B: "2" } };
    const sec = {
      metadata: { name: "s", namespace: "default" },
      data: { PASS: Buffer.from("pw").toString("base64") },
    };
    const p = pod({
      containers: [
        {
          name: "app",
          envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CM_" }],
          env: [
            { name: "CM_A", value: "override" },
            { name: "P", valueFrom: { secretKeyRef: { name: "s", key: "PASS" } } },
            { name: "B", valueFrom: { configMapKeyRef: { name: "cfg", key: "B" } } },
            { name: "OPT", valueFrom: { configMapKeyRef: { name: "nope", key: "x", optional: true } } },
          ],
        },
      ],
    });
    const c = containerConfig(
      p,
      p.spec.containers[0],
      ctx({ configMaps: new Map([["cfg", cm]]), secrets: new Map([["s", sec]]) }),
    );
    assert.deepEqual(Object.fromEntries((c.envs ?? []).map((e) => [e.key, e.value])), {
      CM_A: "override",
      CM_B: "2",
      P: "pw",
      B: "2",
    });
    assert.throws(
      () => containerConfig(p, p.spec.containers[0], ctx()),
      (e: Error) => {
        assert.ok(e instanceof ContainerConfigError);
        assert.equal(e.message, 'configmap "cfg" not found');
        return true;
      },
    );
  });
  it("volume mounts with subPath and readOnly; an unknown volume is a config error", () => {
    const p = pod({
      containers: [
        {
          name: "app",
          volumeMounts: [
            { name: "data", mountPath: "/data" },
            { name: "data", mountPath: "/sub", subPath: "x/y", readOnly: true },
          ],
        },
      ],
    });
    const c = containerConfig(
      p,
      p.spec.containers[0],
      ctx({ volumePaths: new Map([["data", "/pods/u1/volumes/data"]]) }),
    );
    assert.deepEqual(c.mounts, [
      { containerPath: "/data", hostPath: "/pods/u1/volumes/data", readonly: false, propagation: 0 },
      { containerPath: "/sub", hostPath: "/pods/u1/volumes/data/x/y", readonly: true, propagation: 0 },
    ]);
    assert.throws(() => containerConfig(p, p.spec.containers[0], ctx()), /cannot find volume "data"/);
  });
  it("the pod's hosts file is mounted at /etc/hosts unless the container mounts its own", () => {
    const p = pod({
      containers: [
        { name: "app" },
        { name: "own", volumeMounts: [{ name: "h", mountPath: "/etc/hosts", subPath: "hosts" }] },
      ],
    });
    const c = ctx({
      etcHostsPath: "/pods/u1/etc-hosts",
      volumePaths: new Map([["h", "/pods/u1/volumes/h"]]),
    });
    assert.deepEqual(containerConfig(p, p.spec.containers[0], c).mounts, [
      { containerPath: "/etc/hosts", hostPath: "/pods/u1/etc-hosts", readonly: false, propagation: 0 },
    ]);
    assert.deepEqual(
      containerConfig(p, p.spec.containers[1], c).mounts?.map((m) => m.hostPath),
      ["/pods/u1/volumes/h/hosts"],
    );
    assert.deepEqual(containerConfig(p, p.spec.containers[0], ctx()).mounts, []);
  });
  it("resources: memory limit in bytes, cpu shares and quota, oom_score_adj by QoS", () => {
    const p = pod({
      containers: [
        { name: "app", resources: { limits: { memory: "128Mi", cpu: "500m" }, requests: { cpu: "250m" } } },
      ],
    });
    const r = containerConfig(p, p.spec.containers[0], ctx()).linux?.resources;
    assert.equal(r?.memoryLimitInBytes, 128 * 1024 * 1024);
    assert.equal(r?.cpuShares, 256);
    assert.equal(r?.cpuQuota, 50_000);
    assert.equal(r?.cpuPeriod, 100_000);
    assert.equal(oomScoreAdj(pod(), {}, 1e9), 1000);
    const g = pod({ containers: [{ name: "a", resources: { limits: { memory: "1Gi", cpu: "1" } } }] });
    assert.equal(oomScoreAdj(g, g.spec.containers[0], 1e9), -997);
    const b = pod({ containers: [{ name: "a", resources: { requests: { memory: "500M" } } }] });
    assert.equal(oomScoreAdj(b, b.spec.containers[0], 1e9), 500);
  });
  it("expand handles $$ and unknown references", () => {
    assert.equal(expand("$(A)$$(A)$(B)", new Map([["A", "x"]])), "x$(A)$(B)");
  });
});
