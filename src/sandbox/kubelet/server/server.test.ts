import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { CONTAINER_EXITED, CONTAINER_RUNNING, CriError, type RuntimeService } from "../../../cri/types.ts";
import { ensurePki } from "../../pki.ts";
import { ensureKubeletCert } from "./cert.ts";
import { formatCriLogLine } from "./cri-log.ts";
import { type KubeletServer, routeKubeletPath, startKubeletServer } from "./server.ts";
import {
  type FakeStreamingServer,
  rawUpgrade,
  readBytes,
  readToEnd,
  startFakeStreamingServer,
} from "./testing.ts";
import type { KubeletPod } from "./types.ts";

const TOKEN = "kubelet-secret";

/** A RuntimeService fake: records streaming calls, hands out URLs on the fake streaming server. */
function fakeRuntime(streamingPort: number) {
  const calls: { method: string; args: unknown }[] = [];
  const states = new Map<string, number>();
  let n = 0;
  const url = (kind: string) => `http://127.0.0.1:${streamingPort}/${kind}/token${++n}`;
  const runtime = {
    exec: async (req: unknown) => {
      calls.push({ method: "exec", args: req });
      return url("exec");
    },
    attach: async (req: unknown) => {
      calls.push({ method: "attach", args: req });
      return url("attach");
    },
    portForward: async (sandboxId: string, ports: number[]) => {
      calls.push({ method: "portForward", args: { sandboxId, ports } });
      if (sandboxId === "gone") throw new CriError("PortForward", 5, "sandbox gone not found");
      return url("portforward");
    },
    containerStatus: async (id: string) => {
      const state = states.get(id);
      if (state === undefined) throw new CriError("ContainerStatus", 5, `container ${id} not found`);
      return { status: { state } as any, info: {} };
    },
  } as unknown as RuntimeService;
  return { runtime, calls, states };
}

describe("kubelet server", () => {
  let dir: string;
  let ca: Buffer;
  let streaming: FakeStreamingServer;
  let kubelet: KubeletServer;
  let fake: ReturnType<typeof fakeRuntime>;
  const pods = new Map<string, KubeletPod>();
  const target = () => ({ host: "127.0.0.1", port: kubelet.port, ca });
  const auth: [string, string] = ["Authorization", `Bearer ${TOKEN}`];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "raven-kubelet-server-"));
    const pki = ensurePki(join(dir, "pki"));
    ca = readFileSync(pki.caCert);
    const cert = ensureKubeletCert(join(dir, "pki"), {
      root: join(dir, "node"),
      name: "node-1",
      nodeIp: "127.0.0.1",
    });
    streaming = await startFakeStreamingServer();
    fake = fakeRuntime(streaming.port);
    kubelet = await startKubeletServer({
      host: "127.0.0.1",
      port: 0,
      ...cert,
      authToken: TOKEN,
      runtime: fake.runtime,
      pods: { find: (ns, name) => pods.get(`${ns}/${name}`) },
      log: pino({ level: "silent" }),
    });
  });

  after(async () => {
    await kubelet?.close();
    await streaming?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("issues a serving certificate for the node IP and name, signed by the sandbox CA", () => {
    const crt = join(dir, "node", "kubelet.crt");
    const text = execFileSync("openssl", ["x509", "-in", crt, "-noout", "-text"]).toString();
    assert.match(text, /IP Address:127\.0\.0\.1/);
    assert.match(text, /DNS:node-1/);
    execFileSync("openssl", ["verify", "-CAfile", join(dir, "pki", "ca.crt"), crt]);
  });

  it("routes the kubelet's paths and nothing else", () => {
    assert.deepEqual(routeKubeletPath("/exec/ns/p/c"), {
      kind: "exec",
      namespace: "ns",
      pod: "p",
      container: "c",
    });
    assert.equal(routeKubeletPath("/portForward/ns/p")?.kind, "portForward");
    assert.equal(routeKubeletPath("/containerLogs/ns/p"), undefined);
    assert.equal(routeKubeletPath("/exec/ns/p/c/extra"), undefined);
    assert.equal(routeKubeletPath("/pods"), undefined);
  });

  it("rejects requests without the bearer token", async () => {
    const r = await get(`/containerLogs/default/p/c`, {});
    assert.equal(r.status, 401);
    const u = await rawUpgrade(target(), "POST", "/exec/default/p/c?command=ls&stdout=true", [
      ["Connection", "Upgrade"],
      ["Upgrade", "SPDY/3.1"],
    ]);
    assert.equal(u.status, 401);
    u.socket.destroy();
  });

  it("passes an SPDY exec upgrade through to the runtime's streaming URL and splices the sockets", async () => {
    pods.set("default/web", { uid: "u1", sandboxId: "sb1", containers: [{ name: "app", id: "c1" }] });
    const before = streaming.seen.length;
    const u = await rawUpgrade(
      target(),
      "POST",
      "/exec/default/web/app?command=sh&command=-c&command=echo+hi&stdin=true&stdout=true&stderr=true",
      [
        auth,
        ["Connection", "Upgrade"],
        ["Upgrade", "SPDY/3.1"],
        ["X-Stream-Protocol-Version", "v4.channel.k8s.io"],
        ["X-Stream-Protocol-Version", "v3.channel.k8s.io"],
      ],
    );
    try {
      assert.equal(u.status, 101);
      assert.equal(u.headers["x-stream-protocol-version"], "v4.channel.k8s.io");
      assert.deepEqual(fake.calls.at(-1), {
        method: "exec",
        args: {
          containerId: "c1",
          cmd: ["sh", "-c", "echo hi"],
          stdin: true,
          stdout: true,
          stderr: true,
          tty: false,
        },
      });
      const seen = streaming.seen[before];
      assert.equal(seen.method, "POST");
      assert.match(seen.url, /^\/exec\/token\d+$/);
      assert.deepEqual(seen.streamProtocols, ["v4.channel.k8s.io", "v3.channel.k8s.io"]);
      assert.equal(seen.headers.authorization, undefined, "the kubelet token must not reach the runtime");
      u.socket.write("hello streams");
      assert.equal((await readBytes(u.socket, 13, u.rest)).toString(), "hello streams");
    } finally {
      u.socket.destroy();
    }
  });

  it("passes the runtime's non-101 answer (WebSocket v5) back unchanged", async () => {
    const u = await rawUpgrade(target(), "GET", "/exec/default/web/app?command=ls&stdout=true", [
      auth,
      ["Connection", "Upgrade"],
      ["Upgrade", "websocket"],
      ["Sec-WebSocket-Version", "13"],
      ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
      ["Sec-WebSocket-Protocol", "v5.channel.k8s.io"],
    ]);
    assert.equal(u.status, 403);
    await readToEnd(u.socket, u.rest);
  });

  it("attach with a TTY merges stderr; port-forward passes the ports and the sandbox", async () => {
    const a = await rawUpgrade(
      target(),
      "POST",
      "/attach/default/web/app?stdin=true&stdout=true&stderr=true&tty=true",
      [
        auth,
        ["Connection", "Upgrade"],
        ["Upgrade", "SPDY/3.1"],
        ["X-Stream-Protocol-Version", "v4.channel.k8s.io"],
      ],
    );
    a.socket.destroy();
    assert.equal(a.status, 101);
    assert.deepEqual(fake.calls.at(-1), {
      method: "attach",
      args: { containerId: "c1", stdin: true, stdout: true, stderr: false, tty: true },
    });
    const p = await rawUpgrade(target(), "POST", "/portForward/default/web?port=8080", [
      auth,
      ["Connection", "Upgrade"],
      ["Upgrade", "SPDY/3.1"],
      ["X-Stream-Protocol-Version", "portforward.k8s.io"],
    ]);
    p.socket.destroy();
    assert.equal(p.status, 101);
    assert.deepEqual(fake.calls.at(-1), { method: "portForward", args: { sandboxId: "sb1", ports: [8080] } });
  });

  it("answers clear errors for unknown pods, containers, bad requests and runtime failures", async () => {
    pods.set("default/gone", { uid: "u2", sandboxId: "gone", containers: [{ name: "app" }] });
    const cases: [string, number, RegExp][] = [
      ["/exec/default/nope/app?command=ls&stdout=true", 404, /pod "nope" does not exist/],
      ["/exec/default/web/other?command=ls&stdout=true", 404, /container "other" not found in pod "web"/],
      ["/exec/default/gone/app?command=ls&stdout=true", 404, /container not found \("app"\)/],
      ["/exec/default/web/app?stdout=true", 400, /at least one command/],
      ["/exec/default/web/app?command=ls", 400, /at least 1 of stdin, stdout, stderr/],
      ["/portForward/default/gone", 404, /sandbox gone not found/],
      ["/portForward/default/web?port=99999", 400, /invalid port/],
    ];
    for (const [path, code, re] of cases) {
      const u = await rawUpgrade(target(), "POST", path, [
        auth,
        ["Connection", "Upgrade"],
        ["Upgrade", "SPDY/3.1"],
      ]);
      assert.equal(u.status, code, path);
      assert.match(await readToEnd(u.socket, u.rest), re, path);
    }
    const plain = await get("/exec/default/web/app?command=ls&stdout=true");
    assert.equal(plain.status, 400);
    assert.match(plain.body, /Upgrade request required/);
  });

  it("serves logs with options, --previous, and the waiting and missing cases", async () => {
    const logs = join(dir, "logs");
    execFileSync("mkdir", ["-p", logs]);
    const t = "2024-05-01T10:00:0";
    writeFileSync(join(logs, "0.log"), formatCriLogLine(`${t}1Z`, "stdout", false, "old run"));
    writeFileSync(
      join(logs, "1.log"),
      formatCriLogLine(`${t}1Z`, "stdout", false, "a") +
        formatCriLogLine(`${t}2Z`, "stderr", true, "b") +
        formatCriLogLine(`${t}3Z`, "stderr", false, "c"),
    );
    pods.set("default/logger", {
      uid: "u3",
      sandboxId: "sb3",
      containers: [
        { name: "main", id: "c3", logPath: join(logs, "1.log"), previousLogPath: join(logs, "0.log") },
        { name: "fresh", waitingReason: "ImagePullBackOff" },
      ],
    });
    assert.deepEqual(await get("/containerLogs/default/logger/main"), { status: 200, body: "a\nbc\n" });
    assert.deepEqual(await get("/containerLogs/default/logger/main?tailLines=1&timestamps=true"), {
      status: 200,
      body: `${t}2Z bc\n`,
    });
    assert.deepEqual(await get("/containerLogs/default/logger/main?previous=true"), {
      status: 200,
      body: "old run\n",
    });
    const waiting = await get("/containerLogs/default/logger/fresh");
    assert.equal(waiting.status, 400);
    assert.equal(waiting.body, 'container "fresh" in pod "logger" is waiting to start: ImagePullBackOff');
    const noPrev = await get("/containerLogs/default/logger/fresh?previous=true");
    assert.equal(noPrev.body, 'previous terminated container "fresh" in pod "logger" not found');
    const bad = await get("/containerLogs/default/logger/main?tailLines=-2");
    assert.equal(bad.status, 400);
    assert.match(bad.body, /tailLines: Invalid value: -2/);
    assert.equal((await get("/containerLogs/default/nope/main")).status, 404);
  });

  it("follows a log until the container stops", async () => {
    const path = join(dir, "logs", "follow.log");
    writeFileSync(path, formatCriLogLine(new Date(), "stdout", false, "start"));
    pods.set("default/follower", {
      uid: "u4",
      sandboxId: "sb4",
      containers: [{ name: "main", id: "c4", logPath: path }],
    });
    fake.states.set("c4", CONTAINER_RUNNING);
    const chunks: string[] = [];
    const done = get("/containerLogs/default/follower/main?follow=true", undefined, (c) => chunks.push(c));
    await waitFor(() => chunks.join("") === "start\n");
    appendFileSync(path, formatCriLogLine(new Date(), "stdout", false, "more"));
    await waitFor(() => chunks.join("") === "start\nmore\n");
    fake.states.set("c4", CONTAINER_EXITED);
    const r = await done;
    assert.equal(r.body, "start\nmore\n");
  });

  function get(
    path: string,
    headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
    onChunk?: (c: string) => void,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const r = request({ host: "127.0.0.1", port: kubelet.port, path, ca, headers }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
          onChunk?.(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      r.on("error", reject);
      r.end();
    });
  }
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}
