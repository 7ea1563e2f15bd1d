import assert from "node:assert/strict";
import http2 from "node:http2";
import type net from "node:net";
import { test } from "node:test";
import { systemClock } from "../../../kube/clock.ts";
import { grpcProbe } from "./grpc-probe.ts";
import { closedPort } from "./testing.ts";

/** A plaintext gRPC health server answering `status` (1 SERVING, 2 NOT_SERVING), or a gRPC error code. */
async function healthServer(answer: { status?: number; code?: number; message?: string }) {
  const seen: { path?: string; service?: string } = {};
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    seen.path = String(headers[":path"]);
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.service = body.length > 7 ? body.subarray(7).toString() : "";
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () =>
        stream.sendTrailers({
          "grpc-status": String(answer.code ?? 0),
          "grpc-message": answer.message ?? "",
        }),
      );
      if (answer.code) return stream.end();
      const msg = Buffer.from([0x08, answer.status ?? 0]);
      const head = Buffer.alloc(5);
      head.writeUInt32BE(msg.length, 1);
      stream.end(Buffer.concat([head, msg]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () => new Promise((r) => server.close(r)),
  };
}

test("SERVING succeeds; NOT_SERVING fails with the kubelet's message; the service name is sent", async (t) => {
  const ok = await healthServer({ status: 1 });
  t.after(ok.close);
  assert.deepEqual(await grpcProbe("127.0.0.1", ok.port, "liveness", 1, systemClock), {
    result: "success",
    output: "service healthy",
  });
  assert.equal(ok.seen.path, "/grpc.health.v1.Health/Check");
  assert.equal(ok.seen.service, "liveness");

  const bad = await healthServer({ status: 2 });
  t.after(bad.close);
  assert.deepEqual(await grpcProbe("127.0.0.1", bad.port, "", 1, systemClock), {
    result: "failure",
    output: 'service unhealthy (responded with "NOT_SERVING")',
  });
});

test("a server without the health service, and no server at all", async (t) => {
  const srv = await healthServer({ code: 12, message: "unknown service grpc.health.v1.Health" });
  t.after(srv.close);
  assert.deepEqual(await grpcProbe("127.0.0.1", srv.port, "", 1, systemClock), {
    result: "failure",
    output:
      "this server doesn't implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health",
  });
  const port = await closedPort();
  assert.deepEqual(await grpcProbe("127.0.0.1", port, "", 1, systemClock), {
    result: "failure",
    output: `timeout: failed to connect service "127.0.0.1:${port}" within 1s: context deadline exceeded`,
  });
});
