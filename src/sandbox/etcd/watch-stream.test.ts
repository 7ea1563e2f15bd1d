// WatchStream against a scripted fake etcd Watch server: responses routed by watch_id,
// fragments joined, cancels sent, and the call ended once no watcher is left.
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { FrameDecoder, frameMessage, GrpcClient } from "../../grpc/grpc.ts";
import { decodeMessage, encodeMessage } from "../../grpc/protowire.ts";
import * as M from "./messages.ts";
import { EtcdError, type WatchBatch } from "./types.ts";
import { WatchStream } from "./watch-stream.ts";

interface FakeCall {
  requests: any[];
  send(response: object): void;
  ended: Promise<void>;
}

/** An h2c server whose Watch calls are handed to the test as they arrive. */
async function fakeEtcd() {
  const server = http2.createServer();
  const calls: FakeCall[] = [];
  server.on("stream", (stream) => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    const decoder = new FrameDecoder();
    const call: FakeCall = {
      requests: [],
      send: (r) => stream.write(frameMessage(encodeMessage(M.WatchResponse, r))),
      ended: new Promise((resolve) => stream.on("close", () => resolve())),
    };
    stream.on("data", (c: Buffer) => {
      for (const m of decoder.push(c)) call.requests.push(decodeMessage(M.WatchRequest, m));
    });
    calls.push(call);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A client that fails as EtcdClient's does: with EtcdError. */
const clientOf = (url: string) =>
  new GrpcClient(url, {
    makeError: (method, code, message) => new EtcdError(`etcd ${method}: ${message}`, code),
  });

const kv = (key: string, rev: number) => ({
  key,
  modRevision: rev,
  createRevision: rev,
  version: 1,
  value: "v",
});

test("responses are routed by watch_id; fragments are joined; aborting cancels", async (t) => {
  const etcd = await fakeEtcd();
  t.after(() => etcd.close());
  const grpc = clientOf(etcd.url);
  t.after(() => grpc.close());
  const ws = new WatchStream(grpc);

  const a: WatchBatch[] = [];
  const b: WatchBatch[] = [];
  const abortA = new AbortController();
  const abortB = new AbortController();
  const doneA = ws.add({
    key: "/a/",
    end: "/a0",
    startRevision: 5,
    onBatch: (x) => a.push(x),
    signal: abortA.signal,
  });
  const doneB = ws.add({
    key: "/b/",
    end: "/b0",
    startRevision: 6,
    onBatch: (x) => b.push(x),
    signal: abortB.signal,
  });
  await until(() => etcd.calls.length === 1 && etcd.calls[0].requests.length === 2);
  const call = etcd.calls[0];
  assert.deepEqual(
    call.requests.map((r) => [r.createRequest.watchId, r.createRequest.key, r.createRequest.startRevision]),
    [
      [1, "/a/", 5],
      [2, "/b/", 6],
    ],
  );
  assert.equal(call.requests[0].createRequest.progressNotify, true);
  assert.equal(call.requests[0].createRequest.prevKv, true);

  call.send({ watchId: 2, created: true, header: { revision: 9 } });
  call.send({ watchId: 1, created: true, header: { revision: 9 } });
  call.send({ watchId: 2, header: { revision: 10 }, fragment: true, events: [{ kv: kv("/b/1", 10) }] });
  call.send({ watchId: 1, header: { revision: 10 } }); // progress notification
  call.send({ watchId: 2, header: { revision: 10 }, events: [{ type: 1, kv: kv("/b/2", 10) }] });
  call.send({ watchId: 7, header: { revision: 10 }, events: [{ kv: kv("/x", 10) }] }); // unknown: ignored
  await until(() => a.length === 1 && b.length === 1);
  assert.deepEqual(a, [{ revision: 10, events: [] }]);
  assert.deepEqual(
    b[0].events.map((e) => [e.type, e.kv.key]),
    [
      ["PUT", "/b/1"],
      ["DELETE", "/b/2"],
    ],
  );

  abortA.abort();
  await doneA;
  await until(() => call.requests.length === 3);
  assert.deepEqual(call.requests[2], { cancelRequest: { watchId: 1 } });

  // The last watcher leaving ends the call, and the stream takes no more watchers.
  abortB.abort();
  await doneB;
  await call.ended;
  assert.equal(ws.dead, true);
  await assert.rejects(
    ws.add({
      key: "/c/",
      end: "/c0",
      startRevision: 1,
      onBatch: () => {},
      signal: new AbortController().signal,
    }),
    /stream already closed/,
  );
});

test("a server-side cancel without compaction, and the call ending, fail the watchers", async (t) => {
  const etcd = await fakeEtcd();
  t.after(() => etcd.close());
  const grpc = clientOf(etcd.url);
  t.after(() => grpc.close());
  const ws = new WatchStream(grpc);
  const signal = new AbortController().signal;
  const one = ws.add({ key: "/a/", end: "/a0", startRevision: 1, onBatch: () => {}, signal });
  const two = ws.add({ key: "/b/", end: "/b0", startRevision: 1, onBatch: () => {}, signal });
  await until(() => etcd.calls[0]?.requests.length === 2);
  etcd.calls[0].send({ watchId: 1, created: true, canceled: true, cancelReason: "duplicate watch ID" });
  await assert.rejects(one, (e: unknown) => {
    assert.ok(e instanceof EtcdError);
    assert.equal(e.code, -1);
    assert.match(e.message, /duplicate watch ID/);
    return true;
  });
  grpc.close(); // the connection goes away under the remaining watcher
  await assert.rejects(two, (e: unknown) => e instanceof EtcdError);
  assert.equal(ws.dead, true);
});
