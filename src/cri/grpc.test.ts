import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeMessage, encodeMessage } from "../grpc/protowire.ts";
import { CriClient } from "./client.ts";
import { decodeGrpcMessage, formatGrpcTimeout, frameMessage, GrpcClient, parseFrames } from "./grpc.ts";
import * as M from "./messages.ts";
import { CriError, GRPC_DEADLINE_EXCEEDED, GRPC_NOT_FOUND, GRPC_UNAVAILABLE } from "./types.ts";

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

/** A gRPC-speaking HTTP/2 server on a unix socket; `handle` answers each call. */
async function startServer(socketPath: string, handle: Handler, onSession?: () => void) {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    onSession?.();
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => handle(stream, headers, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function reply(stream: http2.ServerHttp2Stream, message: Buffer): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(frameMessage(message));
}

function tempSocket(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "rv-grpc-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "s.sock");
}

test("frames, timeouts and messages are encoded as gRPC specifies", () => {
  assert.equal(frameMessage(Buffer.from("ab")).toString("hex"), "00000000026162");
  assert.deepEqual(
    parseFrames(Buffer.from("0000000001ff0000000000", "hex")).map((b) => b.toString("hex")),
    ["ff", ""],
  );
  assert.throws(() => parseFrames(Buffer.from("0100000001ff", "hex")), /compressed/);
  assert.throws(() => parseFrames(Buffer.from("00000000050102", "hex")), /truncated/);
  assert.equal(formatGrpcTimeout(1500), "1500m");
  assert.equal(formatGrpcTimeout(1e9), "1000000S");
  assert.equal(decodeGrpcMessage("container%20%22abc%22%20not%20found"), 'container "abc" not found');
  assert.equal(decodeGrpcMessage("bad %zz"), "bad %zz");
});

test("a unary call sends gRPC headers and a framed request, and decodes the reply", async (t) => {
  const sock = tempSocket(t);
  let seen: http2.IncomingHttpHeaders | undefined;
  let request: unknown;
  const server = await startServer(sock, (stream, headers, body) => {
    seen = headers;
    const [msg] = parseFrames(body);
    request = decodeMessage(M.VersionRequest, msg);
    reply(
      stream,
      encodeMessage(M.VersionResponse, {
        version: "0.1.0",
        runtimeName: "fake",
        runtimeVersion: "1.2.3",
        runtimeApiVersion: "v1",
      }),
    );
  });
  t.after(() => server.close());
  const cri = CriClient.connect(sock);
  t.after(() => cri.close());

  const v = await cri.version();
  assert.deepEqual(v, {
    version: "0.1.0",
    runtimeName: "fake",
    runtimeVersion: "1.2.3",
    runtimeApiVersion: "v1",
  });
  assert.deepEqual(request, { version: "v1" });
  assert.equal(seen?.[":path"], "/runtime.v1.RuntimeService/Version");
  assert.equal(seen?.[":method"], "POST");
  assert.equal(seen?.["content-type"], "application/grpc");
  assert.equal(seen?.te, "trailers");
  assert.match(String(seen?.["grpc-timeout"]), /^\d{1,8}[mS]$/);
});

test("error status from trailers and from a trailers-only response", async (t) => {
  const sock = tempSocket(t);
  const server = await startServer(sock, (stream, headers) => {
    if (headers[":path"] === "/runtime.v1.RuntimeService/ContainerStatus") {
      // Trailers-only: status in the response headers, no body.
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": "5",
          "grpc-message":
            "an%20error%20occurred%20when%20try%20to%20find%20container%20%22x%22%3A%20not%20found",
        },
        { endStream: true },
      );
      return;
    }
    // Headers, no message, then trailers with an error.
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () =>
      stream.sendTrailers({ "grpc-status": "2", "grpc-message": "failed%20to%20create%20%C3%BC" }),
    );
    stream.end();
  });
  t.after(() => server.close());
  const cri = CriClient.connect(sock);
  t.after(() => cri.close());

  await assert.rejects(cri.containerStatus("x"), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.code, GRPC_NOT_FOUND);
    assert.equal(e.method, "ContainerStatus");
    assert.match(e.message, /find container "x": not found/);
    return true;
  });
  await assert.rejects(cri.startContainer("y"), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.code, 2);
    assert.match(e.message, /failed to create ü/);
    return true;
  });
});

test("a call past its deadline fails with DEADLINE_EXCEEDED and the session stays usable", async (t) => {
  const sock = tempSocket(t);
  const server = await startServer(sock, (stream, headers) => {
    if (headers[":path"]?.endsWith("/Slow")) return; // never answers
    reply(stream, Buffer.from("0a026f6b", "hex"));
  });
  t.after(() => server.close());
  const client = new GrpcClient(sock);
  t.after(() => client.close());

  const started = Date.now();
  await assert.rejects(client.unary("/x.Y/Slow", Buffer.alloc(0), 150), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.code, GRPC_DEADLINE_EXCEEDED);
    return true;
  });
  assert.ok(Date.now() - started < 2000);
  assert.equal((await client.unary("/x.Y/Fast", Buffer.alloc(0))).toString("hex"), "0a026f6b");
});

test("concurrent calls share one session; a restarted server is reconnected to", async (t) => {
  const sock = tempSocket(t);
  let sessions = 0;
  const handler: Handler = (stream, _h, body) => {
    // Echo back after a short delay so calls overlap.
    setTimeout(() => reply(stream, parseFrames(body)[0]), 20);
  };
  const countSessions = () => sessions++;
  let server = await startServer(sock, handler, countSessions);
  const client = new GrpcClient(sock);
  t.after(() => client.close());

  const replies = await Promise.all(
    Array.from({ length: 20 }, (_, i) => client.unary("/x.Y/Echo", Buffer.from([i]))),
  );
  assert.deepEqual(
    replies.map((b) => b[0]),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.equal(sessions, 1);

  await server.close();
  rmSync(sock, { force: true });
  await assert.rejects(client.unary("/x.Y/Echo", Buffer.from([1])), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.code, GRPC_UNAVAILABLE);
    return true;
  });
  server = await startServer(sock, handler, countSessions);
  t.after(() => server.close());
  assert.deepEqual([...(await client.unary("/x.Y/Echo", Buffer.from([7])))], [7]);
  assert.equal(sessions, 2);
});

test("a missing socket is UNAVAILABLE, and a closed client rejects", async (t) => {
  const sock = tempSocket(t);
  const client = new GrpcClient(sock);
  await assert.rejects(client.unary("/x.Y/Z", Buffer.alloc(0), 2000), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.code, GRPC_UNAVAILABLE);
    return true;
  });
  client.close();
  await assert.rejects(client.unary("/x.Y/Z", Buffer.alloc(0)), /client is closed/);
});

test("a non-200 HTTP status maps to a gRPC code", async (t) => {
  const sock = tempSocket(t);
  const server = await startServer(sock, (stream) => {
    stream.respond({ ":status": 404 }, { endStream: true });
  });
  t.after(() => server.close());
  const client = new GrpcClient(sock);
  t.after(() => client.close());
  await assert.rejects(client.unary("/x.Y/Nope", Buffer.alloc(0)), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.code, 12); // UNIMPLEMENTED
    return true;
  });
});
