import assert from "node:assert/strict";
import { test } from "node:test";
import { expandCommand, probedContainers, probeSpecOf, resolvePort } from "./spec.ts";

test("defaults: delay 0, period 10, timeout 1, success 1, failure 3", () => {
  const spec = probeSpecOf(
    { name: "c", livenessProbe: { tcpSocket: { port: 8081 } } },
    "liveness",
    "p_ns(u)",
  );
  assert.deepEqual(spec, {
    type: "liveness",
    action: { kind: "tcp", host: "", port: 8081 },
    initialDelaySeconds: 0,
    periodSeconds: 10,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.equal(probeSpecOf({ name: "c" }, "readiness", "p"), undefined);
});

test("given values are kept; liveness and startup always count one success", () => {
  const probe = {
    httpGet: { path: "/", port: "http", scheme: "HTTPS", httpHeaders: [{ name: "X", value: "1" }] },
    initialDelaySeconds: 10,
    periodSeconds: 5,
    timeoutSeconds: 2,
    successThreshold: 2,
    failureThreshold: 4,
  };
  const readiness = probeSpecOf({ name: "c", readinessProbe: probe }, "readiness", "p");
  assert.deepEqual(readiness?.action, {
    kind: "http",
    scheme: "https",
    host: "",
    port: "http",
    path: "/",
    headers: [{ name: "X", value: "1" }],
  });
  assert.equal(readiness?.successThreshold, 2);
  assert.equal(readiness?.failureThreshold, 4);
  assert.equal(readiness?.periodSeconds, 5);
  assert.equal(probeSpecOf({ name: "c", startupProbe: probe }, "startup", "p")?.successThreshold, 1);
});

test("a probe without a handler errors like the kubelet's", () => {
  const spec = probeSpecOf({ name: "c", livenessProbe: { periodSeconds: 3 } }, "liveness", "web_default(u1)");
  assert.deepEqual(spec?.action, { kind: "invalid", error: "missing probe handler for web_default(u1):c" });
  assert.equal(
    probeSpecOf({ name: "c", livenessProbe: { exec: { command: [] } } }, "liveness", "p")?.action.kind,
    "invalid",
  );
});

test("ports resolve by number, by container port name, or from a numeric string", () => {
  const c = { ports: [{ name: "http", containerPort: 8080 }] };
  assert.equal(resolvePort(8081, c), 8081);
  assert.equal(resolvePort("http", c), 8080);
  assert.equal(resolvePort("9000", c), 9000);
  assert.throws(() => resolvePort("metrics", c), {
    message: 'strconv.Atoi: parsing "metrics": invalid syntax',
  });
  assert.throws(() => resolvePort(70000, c), { message: "invalid port number: 70000" });
});

test("exec commands expand $(VAR) from literal env values only", () => {
  const env = [
    { name: "FILE", value: "/tmp/ok" },
    { name: "SECRET", valueFrom: { secretKeyRef: {} } },
  ];
  assert.deepEqual(expandCommand(["cat", "$(FILE)", "$(SECRET)", "$$(FILE)", "$(NONE)"], env), [
    "cat",
    "/tmp/ok",
    "$(SECRET)",
    "$(FILE)",
    "$(NONE)",
  ]);
});

test("probed containers: app containers and restartable init containers", () => {
  const pod = {
    spec: {
      initContainers: [{ name: "setup" }, { name: "sidecar", restartPolicy: "Always" }],
      containers: [{ name: "app" }],
    },
  };
  assert.deepEqual(
    probedContainers(pod).map((c) => c.name),
    ["sidecar", "app"],
  );
});
