import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { systemClock } from "../../../kube/clock.ts";
import { FakeClock } from "../../../kube/fake-clock.ts";
import { type HttpProbeTarget, httpProbe, PROBE_USER_AGENT, probeUrl } from "./http-probe.ts";
import { closedPort, httpServer } from "./testing.ts";

const target = (port: number, extra: Partial<HttpProbeTarget> = {}): HttpProbeTarget => ({
  scheme: "http",
  host: "127.0.0.1",
  port,
  path: "/",
  headers: [],
  ...extra,
});

test("2xx succeeds with the body as output; 4xx and 5xx fail with the kubelet's message", async (t) => {
  let status = 200;
  const srv = await httpServer((_req, res) => {
    res.writeHead(status);
    res.end(`answer ${status}`);
  });
  t.after(srv.close);
  assert.deepEqual(await httpProbe(target(srv.port), 1000, systemClock), {
    result: "success",
    output: "answer 200",
  });
  status = 204;
  assert.equal((await httpProbe(target(srv.port), 1000, systemClock)).result, "success");
  status = 500;
  assert.deepEqual(await httpProbe(target(srv.port), 1000, systemClock), {
    result: "failure",
    output: "HTTP probe failed with statuscode: 500",
  });
  status = 404;
  assert.equal(
    (await httpProbe(target(srv.port), 1000, systemClock)).output,
    "HTTP probe failed with statuscode: 404",
  );
  status = 199;
  assert.equal((await httpProbe(target(srv.port), 1000, systemClock)).result, "failure");
});

test("a refused connection reads like Go's url.Error", async () => {
  const port = await closedPort();
  assert.deepEqual(await httpProbe(target(port), 1000, systemClock), {
    result: "failure",
    output: `Get "http://127.0.0.1:${port}/": dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
});

test("the probe URL is printed the way Go formats it", () => {
  assert.equal(probeUrl(target(8081, { path: "" })), "http://127.0.0.1:8081");
  assert.equal(probeUrl(target(8081, { path: "healthz" })), "http://127.0.0.1:8081/healthz");
  assert.equal(
    probeUrl(target(8081, { path: "/ready?full=1", host: "fd00::5" })),
    "http://[fd00::5]:8081/ready?full=1",
  );
});

test("sends kube-probe's User-Agent, Accept */*, the probe's headers and a Host override", async (t) => {
  let seen: Record<string, string | string[] | undefined> = {};
  let seenPath = "";
  const srv = await httpServer((req, res) => {
    seen = req.headers;
    seenPath = req.url ?? "";
    res.end("ok");
  });
  t.after(srv.close);
  await httpProbe(target(srv.port, { path: "healthz?x=1" }), 1000, systemClock);
  assert.equal(seen["user-agent"], PROBE_USER_AGENT);
  assert.equal(PROBE_USER_AGENT, "kube-probe/1.33");
  assert.equal(seen.accept, "*/*");
  assert.equal(seen.host, `127.0.0.1:${srv.port}`);
  assert.equal(seenPath, "/healthz?x=1");

  await httpProbe(
    target(srv.port, {
      headers: [
        { name: "X-Custom", value: "a" },
        { name: "Host", value: "example.test" },
        { name: "User-Agent", value: "mine" },
        { name: "Accept", value: "" },
      ],
    }),
    1000,
    systemClock,
  );
  assert.equal(seen["x-custom"], "a");
  assert.equal(seen.host, "example.test");
  assert.equal(seen["user-agent"], "mine");
  assert.equal(seen.accept, undefined, "an empty Accept removes the header");
});

test("redirects: followed on the same host, answered as a warning for another host, stopped after 10", async (t) => {
  const srv = await httpServer((req, res) => {
    if (req.url === "/moved") {
      res.writeHead(302, { location: "/final" });
      res.end();
    } else if (req.url === "/final") {
      res.end("landed");
    } else if (req.url === "/away") {
      res.writeHead(301, { location: "http://other.example/" });
      res.end("<a>Moved</a>");
    } else if (req.url?.startsWith("/loop")) {
      res.writeHead(307, { location: `/loop${Number(req.url.slice(5) || 0) + 1}` });
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  t.after(srv.close);
  assert.deepEqual(await httpProbe(target(srv.port, { path: "/moved" }), 1000, systemClock), {
    result: "success",
    output: "landed",
  });
  assert.deepEqual(await httpProbe(target(srv.port, { path: "/away" }), 1000, systemClock), {
    result: "warning",
    output: "Probe terminated redirects, Response body: <a>Moved</a>",
  });
  const hitsBefore = srv.hits();
  assert.deepEqual(await httpProbe(target(srv.port, { path: "/loop" }), 1000, systemClock), {
    result: "failure",
    output: 'Get "/loop10": stopped after 10 redirects',
  });
  assert.equal(srv.hits() - hitsBefore, 10, "ten requests, then Go's redirect checker stops");
});

test("reads at most 10 KiB of body for the output", async (t) => {
  const srv = await httpServer((_req, res) => res.end("x".repeat(50_000)));
  t.after(srv.close);
  const out = await httpProbe(target(srv.port), 1000, systemClock);
  assert.equal(out.result, "success");
  assert.equal(out.output.length, 10 * 1024);
});

test("a server that never answers fails at the timeout, measured on the given clock", async (t) => {
  const srv = await httpServer(() => {}); // accepts, never responds
  t.after(srv.close);
  const clock = new FakeClock();
  let settled = false;
  const pending = httpProbe(target(srv.port), 1000, clock).finally(() => {
    settled = true;
  });
  while (srv.hits() === 0) await new Promise((r) => setTimeout(r, 5));
  await clock.advance(999);
  assert.equal(settled, false);
  await clock.advance(1);
  assert.deepEqual(await pending, {
    result: "failure",
    output: `Get "http://127.0.0.1:${srv.port}/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
  });
  assert.equal(clock.pending(), 0, "no timer left behind");
});

test("https is not verified (a self-signed pod certificate passes)", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "probe-tls-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=pod",
    ],
    { stdio: "ignore" },
  );
  const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (_req, res) =>
    res.end("secure"),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as net.AddressInfo;
  assert.deepEqual(await httpProbe(target(port, { scheme: "https" }), 2000, systemClock), {
    result: "success",
    output: "secure",
  });
});
