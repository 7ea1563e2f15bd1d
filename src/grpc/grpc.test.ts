// The generic gRPC client over TCP h2c: unary calls, bidirectional streams, frame reassembly.
// (Unix-socket unary behaviour and CriError mapping are tested in src/cri/grpc.test.ts.)
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import {
  FrameDecoder,
  frameMessage,
  GRPC_CANCELLED,
  GRPC_UNAVAILABLE,
  GrpcClient,
  GrpcError,
  parseFrames,
} from "./grpc.ts";

type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

async function startTcpServer(handle: StreamHandler) {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function respondOk(stream: http2.ServerHttp2Stream): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
}

/** Collects a stream's events until it ends. */
function collect(client: GrpcClient, path: string) {
  const messages: string[] = [];
  let resolveEnd: (err: Error | undefined) => void = () => {};
  const ended = new Promise<Error | undefined>((r) => {
    resolveEnd = r;
  });
  const call = client.stream(path, {
    onMessage: (m) => messages.push(m.toString()),
    onEnd: (err) => resolveEnd(err),
  });
  return { call, messages, ended };
}

test("FrameDecoder reassembles messages split across and packed into chunks", () => {
  const wire = Buffer.concat([
    frameMessage(Buffer.from("hello")),
    frameMessage(Buffer.alloc(0)),
    frameMessage(Buffer.from("world!")),
  ]);
  for (const size of [1, 2, 3, 5, 7, wire.length]) {
    const d = new FrameDecoder();
    const out: string[] = [];
    for (let i = 0; i < wire.length; i += size) out.push(...d.push(wire.subarray(i, i + size)).map(String));
    assert.deepEqual(out, ["hello", "", "world!"], `chunks of ${size}`);
    assert.equal(d.buffered, 0);
  }
  assert.throws(() => new FrameDecoder(3).push(frameMessage(Buffer.from("toolong"))), /exceeds the 3 byte/);
  assert.throws(() => parseFrames(Buffer.from("0000000005ab", "hex")), /truncated gRPC message/);
});

test("a unary call over TCP h2c", async (t) => {
  const server = await startTcpServer((stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      respondOk(stream);
      stream.end(frameMessage(Buffer.from(`${headers[":path"]} ${parseFrames(Buffer.concat(chunks))[0]}`)));
    });
  });
  t.after(() => server.close());
  const client = new GrpcClient(server.url, { userAgent: "test/1", receiveWindowBytes: 1 << 20 });
  t.after(() => client.close());
  assert.equal((await client.unary("/x.Y/Echo", Buffer.from("hi"))).toString(), "/x.Y/Echo hi");
});

test("a bidirectional stream delivers messages both ways and ends with the server's status", async (t) => {
  const server = await startTcpServer((stream) => {
    respondOk(stream);
    const decoder = new FrameDecoder();
    stream.on("data", (c: Buffer) => {
      for (const m of decoder.push(c)) {
        // Two answers per request, written as one chunk to exercise reassembly.
        stream.write(
          Buffer.concat([frameMessage(Buffer.from(`${m}-a`)), frameMessage(Buffer.from(`${m}-b`))]),
        );
      }
    });
    stream.on("end", () => stream.end());
  });
  t.after(() => server.close());
  const client = new GrpcClient(server.url);
  t.after(() => client.close());

  const { call, messages, ended } = collect(client, "/x.Y/Chat");
  call.write(Buffer.from("1"));
  call.write(Buffer.from("2"));
  call.end();
  assert.equal(await ended, undefined);
  assert.deepEqual(messages, ["1-a", "1-b", "2-a", "2-b"]);
});

test("a stream fails with the server's error status, a cancelled one with CANCELLED", async (t) => {
  const server = await startTcpServer((stream, headers) => {
    if (headers[":path"] === "/x.Y/Fail") {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () =>
        stream.sendTrailers({ "grpc-status": "11", "grpc-message": "too%20old" }),
      );
      stream.write(frameMessage(Buffer.from("partial")));
      stream.end();
      return;
    }
    respondOk(stream); // never ends by itself
    stream.write(frameMessage(Buffer.from("ready")));
  });
  t.after(() => server.close());
  const client = new GrpcClient(server.url);
  t.after(() => client.close());

  const failing = collect(client, "/x.Y/Fail");
  const err = await failing.ended;
  assert.ok(err instanceof GrpcError);
  assert.equal(err.code, 11);
  assert.match(err.message, /too old/);
  assert.deepEqual(failing.messages, ["partial"]);

  const open = collect(client, "/x.Y/Open");
  while (open.messages.length === 0) await new Promise((r) => setTimeout(r, 10));
  open.call.cancel();
  const cancelled = await open.ended;
  assert.ok(cancelled instanceof GrpcError);
  assert.equal(cancelled.code, GRPC_CANCELLED);
});

test("an exception in onMessage fails the stream with that exception", async (t) => {
  const server = await startTcpServer((stream) => {
    respondOk(stream);
    stream.write(frameMessage(Buffer.from("boom")));
  });
  t.after(() => server.close());
  const client = new GrpcClient(server.url);
  t.after(() => client.close());
  const thrown = new Error("handler failed");
  const ended = await new Promise<Error | undefined>((resolve) => {
    client.stream("/x.Y/Open", {
      onMessage: () => {
        throw thrown;
      },
      onEnd: resolve,
    });
  });
  assert.equal(ended, thrown);
});

test("losing the server fails open streams with UNAVAILABLE; an unreachable one too", async (t) => {
  const server = await startTcpServer((stream) => {
    respondOk(stream);
    stream.write(frameMessage(Buffer.from("ready")));
  });
  const client = new GrpcClient(server.url);
  t.after(() => client.close());
  const open = collect(client, "/x.Y/Open");
  while (open.messages.length === 0) await new Promise((r) => setTimeout(r, 10));
  await server.close();
  const err = await open.ended;
  assert.ok(err instanceof GrpcError);
  // The server vanished mid-call: a transport failure (UNAVAILABLE) or a reset (INTERNAL).
  assert.ok([GRPC_UNAVAILABLE, 13].includes(err.code), `code ${err.code}`);

  // Nothing listens there any more.
  await assert.rejects(client.unary("/x.Y/Z", Buffer.alloc(0), 5000), (e: unknown) => {
    assert.ok(e instanceof GrpcError);
    assert.equal(e.code, GRPC_UNAVAILABLE);
    return true;
  });
  const refused = collect(client, "/x.Y/Open");
  const refusedErr = await refused.ended;
  assert.ok(refusedErr instanceof GrpcError);
  assert.equal(refusedErr.code, GRPC_UNAVAILABLE);
});

test("closeGracefully lets a call in flight finish and refuses new ones", async (t) => {
  let arrived!: () => void;
  // The call is in flight once the server has its stream (not after some time: a loaded machine
  // may not have opened it yet, and a stream opened after the GOAWAY is refused).
  const serverHasIt = new Promise<void>((r) => {
    arrived = r;
  });
  const server = await startTcpServer((stream) => {
    arrived();
    stream.resume();
    stream.on("end", () =>
      setTimeout(() => {
        respondOk(stream);
        stream.end(frameMessage(Buffer.from("late")));
      }, 50),
    );
  });
  t.after(() => server.close());
  const client = new GrpcClient(server.url);
  const inFlight = client.unary("/x.Y/Slow", Buffer.alloc(0));
  await serverHasIt;
  await client.closeGracefully();
  assert.equal((await inFlight).toString(), "late");
  await assert.rejects(client.unary("/x.Y/Slow", Buffer.alloc(0)), /client is closed/);
});
