// The API server side of the streaming subresources, against our real kubelet server (with a
// fake runtime) and a fake CRI streaming server: client -> proxy -> kubelet -> streaming.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import type { RuntimeService } from "../../../cri/types.ts";
import { VIRTUAL_NODE_LABEL } from "../../controllers/virtual-nodes.ts";
import { ensureKubeletCert } from "../../kubelet/server/cert.ts";
import { formatCriLogLine } from "../../kubelet/server/cri-log.ts";
import { type KubeletServer, startKubeletServer } from "../../kubelet/server/server.ts";
import {
  type FakeStreamingServer,
  rawUpgrade,
  readBytes,
  readToEnd,
  startFakeStreamingServer,
} from "../../kubelet/server/testing.ts";
import type { KubeletPod } from "../../kubelet/server/types.ts";
import { ensurePki } from "../../pki.ts";
import type { ApiError } from "../errors.ts";
import { kubeletEndpoint, kubeletPath, kubeletStreamerFor, resolveContainer } from "./kubelet-proxy.ts";
import type { PodStreamer } from "./subresources.ts";

const pod = (name: string, containers: string[], extra: any = {}) => ({
  metadata: { name, namespace: "default", uid: `uid-${name}` },
  spec: {
    nodeName: "node-1",
    containers: containers.map((c) => ({ name: c, image: "busybox" })),
    ...extra.spec,
  },
  status: { phase: "Running", ...extra.status },
});

const realNode = (port: number) => ({
  metadata: { name: "node-1", labels: {} },
  status: {
    addresses: [
      { type: "InternalIP", address: "127.0.0.1" },
      { type: "Hostname", address: "node-1" },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: port } },
  },
});

describe("kubelet proxy: pure parts", () => {
  it("finds a real node's kubelet endpoint; virtual and unreported nodes have none", () => {
    assert.deepEqual(kubeletEndpoint(realNode(10250)), { host: "127.0.0.1", port: 10250 });
    const virtual = realNode(10250);
    virtual.metadata.labels = { [VIRTUAL_NODE_LABEL]: "true" };
    assert.equal(kubeletEndpoint(virtual), undefined);
    assert.equal(kubeletEndpoint({ metadata: { name: "n" }, status: { addresses: [] } }), undefined);
    assert.equal(kubeletEndpoint(undefined), undefined);
    const streamerFor = kubeletStreamerFor({ nodeByName: () => virtual, ca: "" });
    assert.equal(streamerFor(pod("p", ["c"])), undefined);
    assert.equal(kubeletStreamerFor({ nodeByName: () => realNode(1), ca: "" })({ spec: {} }), undefined);
  });

  it("picks the container like kube-apiserver, with its messages", () => {
    assert.equal(resolveContainer(pod("p", ["only"]), null), "only");
    assert.equal(resolveContainer(pod("p", ["a", "b"]), "b"), "b");
    const multi = pod("p", ["a", "b"], { spec: { initContainers: [{ name: "init" }] } });
    assert.equal(resolveContainer(multi, "init"), "init");
    assert.throws(
      () => resolveContainer(multi, null),
      /a container name must be specified for pod p, choose one of: \[a b\] or one of the init containers: \[init\]/,
    );
    assert.throws(() => resolveContainer(multi, "zzz"), /container zzz is not valid for pod p/);
  });

  it("maps subresource queries to kubelet paths", () => {
    const p = pod("web", ["app"]);
    assert.equal(
      kubeletPath(p, "log", new URLSearchParams("container=app&follow=true&tailLines=3&pretty=true")),
      "/containerLogs/default/web/app?follow=true&tailLines=3",
    );
    assert.equal(
      kubeletPath(p, "exec", new URLSearchParams("command=echo&command=hi there&container=app&stdout=true")),
      "/exec/default/web/app?command=echo&command=hi+there&stdout=true",
    );
    assert.equal(
      kubeletPath(p, "attach", new URLSearchParams("stdin=true&tty=true")),
      "/attach/default/web/app?stdin=true&tty=true",
    );
    assert.equal(kubeletPath(p, "portforward", new URLSearchParams("ports=80")), "/portForward/default/web");
    assert.equal(
      kubeletPath(p, "portforward", new URLSearchParams("port=80")),
      "/portForward/default/web?port=80",
    );
  });
});

describe("kubelet proxy: through a real kubelet server", () => {
  const TOKEN = "apiserver-to-kubelet";
  let dir: string;
  let ca: Buffer;
  let streaming: FakeStreamingServer;
  let kubelet: KubeletServer;
  let front: Server;
  let frontPort: number;
  const pods = new Map<string, KubeletPod>();
  const apiPods = new Map<string, any>();
  const streamingUrl = (kind: string) => `http://127.0.0.1:${streaming.port}/${kind}/tok`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "raven-kubelet-proxy-"));
    const pki = ensurePki(join(dir, "pki"));
    ca = readFileSync(pki.caCert);
    const cert = ensureKubeletCert(join(dir, "pki"), {
      root: join(dir, "node"),
      name: "node-1",
      nodeIp: "127.0.0.1",
    });
    streaming = await startFakeStreamingServer();
    const runtime = {
      exec: async () => streamingUrl("exec"),
      attach: async () => streamingUrl("attach"),
      portForward: async () => streamingUrl("portforward"),
      containerStatus: async () => ({ status: { state: 1 }, info: {} }),
    } as unknown as RuntimeService;
    kubelet = await startKubeletServer({
      host: "127.0.0.1",
      port: 0,
      ...cert,
      authToken: TOKEN,
      runtime,
      pods: { find: (ns, n) => pods.get(`${ns}/${n}`) },
      log: pino({ level: "silent" }),
    });
    const streamerFor = kubeletStreamerFor({ nodeByName: () => realNode(kubelet.port), ca, token: TOKEN });
    // What ApiServer does with a PodStreamer (server.ts upgrade(), subresources.ts handle()).
    front = createServer(
      { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
      async (req, res) => {
        const url = new URL(req.url ?? "/", "https://x");
        const [, , , , , , name, sub] = url.pathname.split("/");
        try {
          await (streamerFor(apiPods.get(name)) as PodStreamer).handle(
            req,
            res,
            apiPods.get(name),
            sub,
            url.searchParams,
          );
        } catch (err) {
          const e = err as ApiError;
          res.writeHead(e.code, { "content-type": "application/json" }).end(JSON.stringify(e.toStatus()));
        }
      },
    );
    front.on("upgrade", async (req, socket, head) => {
      const url = new URL(req.url ?? "/", "https://x");
      const [, , , , , , name, sub] = url.pathname.split("/");
      try {
        await streamerFor(apiPods.get(name))!.upgrade!(
          req,
          socket,
          head,
          apiPods.get(name),
          sub,
          url.searchParams,
        );
      } catch (err) {
        const e = err as ApiError;
        const body = JSON.stringify(e.toStatus());
        socket.end(`HTTP/1.1 ${e.code} ${e.reason}\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      }
    });
    front.listen(0, "127.0.0.1");
    await once(front, "listening");
    frontPort = (front.address() as AddressInfo).port;
  });

  after(async () => {
    front?.closeAllConnections();
    await new Promise<void>((r) => (front ? front.close(() => r()) : r()));
    await kubelet?.close();
    await streaming?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const target = () => ({ host: "127.0.0.1", port: frontPort, ca });

  it("exec over SPDY: the kubelet token replaces the user's, bytes flow both ways", async () => {
    apiPods.set("web", pod("web", ["app"]));
    pods.set("default/web", { uid: "uid-web", sandboxId: "sb", containers: [{ name: "app", id: "c1" }] });
    const before = streaming.seen.length;
    const u = await rawUpgrade(
      target(),
      "POST",
      "/api/v1/namespaces/default/pods/web/exec?command=ip&command=a&container=app&stdout=true&stderr=true",
      [
        ["Authorization", "Bearer user-token"],
        ["Connection", "Upgrade"],
        ["Upgrade", "SPDY/3.1"],
        ["X-Stream-Protocol-Version", "v4.channel.k8s.io"],
        ["X-Stream-Protocol-Version", "channel.k8s.io"],
      ],
    );
    try {
      assert.equal(u.status, 101);
      assert.equal(u.headers["x-stream-protocol-version"], "v4.channel.k8s.io");
      assert.deepEqual(streaming.seen[before].streamProtocols, ["v4.channel.k8s.io", "channel.k8s.io"]);
      // 101 means the kubelet accepted the proxy's token; the user's went nowhere.
      assert.equal(streaming.seen[before].headers.authorization, undefined);
      const payload = Buffer.from([0x80, 0x03, 0x00, 0x01, 0xff, 0x00, 0x10]);
      u.socket.write(payload);
      assert.deepEqual(await readBytes(u.socket, payload.length, u.rest), payload);
    } finally {
      u.socket.destroy();
    }
  });

  it("passes the runtime's 403 for WebSocket v5 through, so kubectl falls back to SPDY", async () => {
    const u = await rawUpgrade(
      target(),
      "GET",
      "/api/v1/namespaces/default/pods/web/exec?command=ls&container=app&stdout=true",
      [
        ["Connection", "Upgrade"],
        ["Upgrade", "websocket"],
        ["Sec-WebSocket-Version", "13"],
        ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
        ["Sec-WebSocket-Protocol", "v5.channel.k8s.io"],
      ],
    );
    assert.equal(u.status, 403);
    await readToEnd(u.socket, u.rest);
  });

  it("passes kubelet errors through and checks the container and phase itself", async () => {
    apiPods.set("ghost", pod("ghost", ["app"]));
    const upgrade = (path: string) =>
      rawUpgrade(target(), "POST", path, [
        ["Connection", "Upgrade"],
        ["Upgrade", "SPDY/3.1"],
      ]);
    const gone = await upgrade("/api/v1/namespaces/default/pods/ghost/exec?command=ls&stdout=true");
    assert.equal(gone.status, 404);
    assert.match(await readToEnd(gone.socket, gone.rest), /pod "ghost" does not exist/);
    const wrong = await upgrade(
      "/api/v1/namespaces/default/pods/web/exec?command=ls&container=nope&stdout=true",
    );
    assert.equal(wrong.status, 400);
    assert.match(await readToEnd(wrong.socket, wrong.rest), /container nope is not valid for pod web/);
    apiPods.set("done", pod("done", ["app"], { status: { phase: "Succeeded" } }));
    const done = await upgrade("/api/v1/namespaces/default/pods/done/exec?command=ls&stdout=true");
    assert.equal(done.status, 400);
    assert.match(await readToEnd(done.socket, done.rest), /completed pod; current phase is Succeeded/);
  });

  it("port-forward upgrades reach the kubelet's portForward", async () => {
    const before = streaming.seen.length;
    const u = await rawUpgrade(target(), "POST", "/api/v1/namespaces/default/pods/web/portforward", [
      ["Connection", "Upgrade"],
      ["Upgrade", "SPDY/3.1"],
      ["X-Stream-Protocol-Version", "portforward.k8s.io"],
    ]);
    u.socket.destroy();
    assert.equal(u.status, 101);
    assert.equal(streaming.seen[before].url, "/portforward/tok");
  });

  it("an unreachable kubelet is an InternalError naming the backend", async () => {
    const streamerFor = kubeletStreamerFor({ nodeByName: () => realNode(1), ca });
    const p = pod("web", ["app"]);
    await assert.rejects(
      streamerFor(p)!.upgrade!(
        { method: "POST", rawHeaders: [] } as any,
        { once() {}, off() {} } as any,
        Buffer.alloc(0),
        p,
        "exec",
        new URLSearchParams("command=ls"),
      ),
      (e: ApiError) => e.code === 500 && /error dialing backend/.test(e.message),
    );
  });

  it("logs: streamed from the kubelet; kubelet errors become Status answers", async () => {
    const path = join(dir, "0.log");
    writeFileSync(path, formatCriLogLine(new Date(), "stdout", false, "hello from web"));
    pods.set("default/web", {
      uid: "uid-web",
      sandboxId: "sb",
      containers: [{ name: "app", id: "c1", logPath: path }],
    });
    const ok = await get("/api/v1/namespaces/default/pods/web/log?container=app&limitBytes=5");
    assert.deepEqual(ok, { status: 200, type: "text/plain", body: "hello" });
    pods.set("default/web", {
      uid: "uid-web",
      sandboxId: "sb",
      containers: [{ name: "app", waitingReason: "ContainerCreating" }],
    });
    const waiting = await get("/api/v1/namespaces/default/pods/web/log");
    assert.equal(waiting.status, 400);
    const status = JSON.parse(waiting.body);
    assert.equal(status.reason, "BadRequest");
    assert.equal(status.message, 'container "app" in pod "web" is waiting to start: ContainerCreating');
    apiPods.set("two", pod("two", ["a", "b"]));
    const noContainer = await get("/api/v1/namespaces/default/pods/two/log");
    assert.equal(noContainer.status, 400);
    assert.match(JSON.parse(noContainer.body).message, /choose one of: \[a b\]/);
  });

  function get(path: string): Promise<{ status: number; type: string; body: string }> {
    return new Promise((resolve, reject) => {
      const r = request({ host: "127.0.0.1", port: frontPort, path, ca }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }),
        );
      });
      r.on("error", reject);
      r.end();
    });
  }
});
