import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import type { KubeObject } from "../kube/objects.ts";
import { runLifecycleHook } from "./lifecycle-hooks.ts";

const pod: KubeObject = { metadata: { name: "p", namespace: "ns", uid: "u1" }, spec: {} };
const container = { name: "app", ports: [{ name: "web", containerPort: 0 }] };
const execAnswering = (exitCode: number, stdout = "", stderr = "") => ({
  execSync: async () => ({ exitCode, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) }),
});

describe("runLifecycleHook", () => {
  it("exec: success is undefined; a non-zero exit is the kubelet's message", async () => {
    const hook = { exec: { command: ["sh", "-c", "exit 2"] } };
    assert.equal(
      await runLifecycleHook(pod, container, "c1", hook, {
        runtime: execAnswering(0),
        podIp: "10.0.0.1",
        timeoutMs: 0,
      }),
      undefined,
    );
    assert.equal(
      await runLifecycleHook(pod, container, "c1", hook, {
        runtime: execAnswering(2, "out", "err"),
        podIp: "10.0.0.1",
        timeoutMs: 0,
      }),
      `Exec lifecycle hook ([sh -c exit 2]) for Container "app" in Pod "p_ns(u1)" failed - error: command 'sh -c exit 2' exited with 2: err, message: "outerr"`,
    );
  });

  it("httpGet: any response succeeds (named port, pod IP, kube-lifecycle agent); no answer fails", async (t) => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.headers.host} ${req.url} ${req.headers["user-agent"]} ${req.headers["x-a"]}`);
      res.statusCode = 503;
      res.end("busy");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    t.after(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const named = { ...container, ports: [{ name: "web", containerPort: port }] };
    const hook = { httpGet: { port: "web", path: "hook?x=1", httpHeaders: [{ name: "X-A", value: "b" }] } };
    const env = { runtime: execAnswering(0), podIp: "127.0.0.1", timeoutMs: 5_000 };
    assert.equal(await runLifecycleHook(pod, named, "c1", hook, env), undefined);
    assert.deepEqual(seen, [`127.0.0.1:${port} /hook?x=1 kube-lifecycle/1.33 b`]);
    server.close();
    await new Promise((r) => server.once("close", r));
    const msg = await runLifecycleHook(pod, named, "c1", hook, env);
    assert.match(
      msg ?? "",
      new RegExp(
        `^HTTP lifecycle hook \\(hook\\?x=1\\) for Container "app" in Pod "p_ns\\(u1\\)" failed - error: Get "http://127.0.0.1:${port}/hook\\?x=1": dial tcp 127.0.0.1:${port}: connect: connection refused$`,
      ),
    );
  });

  it("httpGet without a pod IP or with an unknown port name fails with a clear message", async () => {
    const env = { runtime: execAnswering(0), podIp: undefined, timeoutMs: 1_000 };
    assert.match(
      (await runLifecycleHook(pod, container, "c1", { httpGet: { port: 80 } }, env)) ?? "",
      /failed - error: failed to find networking container/,
    );
    assert.match(
      (await runLifecycleHook(
        pod,
        container,
        "c1",
        { httpGet: { port: "nope" } },
        { ...env, podIp: "10.0.0.1" },
      )) ?? "",
      /failed - error: strconv.Atoi: parsing "nope"/,
    );
  });

  it("sleep waits, capped by the timeout; tcpSocket is not a runnable handler", async () => {
    const env = { runtime: execAnswering(0), podIp: "10.0.0.1", timeoutMs: 20 };
    assert.equal(await runLifecycleHook(pod, container, "c1", { sleep: { seconds: 3600 } }, env), undefined);
    assert.match(
      (await runLifecycleHook(pod, container, "c1", { tcpSocket: { port: 80 } }, env)) ?? "",
      /^Cannot run handler: invalid handler: tcpSocket/,
    );
  });
});
