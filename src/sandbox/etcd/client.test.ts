// The gRPC etcd client against a real etcd (Debian's etcd-server, started as the sandbox does).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort } from "../../util/ports.ts";
import { ensureEtcdPki } from "../pki.ts";
import {
  ETCD_COMPACTED,
  EtcdClient,
  EtcdError,
  prefixEnd,
  type WatchBatch,
  type WatchEvent,
} from "./client.ts";
import { type RunningEtcd, startEtcd } from "./process.ts";

let dir: string;
let etcd: RunningEtcd;
let client: EtcdClient;

async function start(clientPort: number, peerPort: number): Promise<RunningEtcd> {
  return startEtcd({
    dataDir: join(dir, "data"),
    logFile: join(dir, "etcd.log"),
    clientPort,
    peerPort,
    progressNotifyIntervalMs: 500,
    pki: ensureEtcdPki(join(dir, "pki")),
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "rv-etcd-client-"));
  etcd = await start(await freePort(), await freePort());
  client = new EtcdClient(etcd.endpoint, { tls: etcd.tls });
});

after(async () => {
  await client?.close();
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function eventually(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts a watch that records its batches; `done` settles when the watch ends. */
function record(c: EtcdClient, prefix: string, from: number) {
  const batches: WatchBatch[] = [];
  const abort = new AbortController();
  const done = c.watch(prefix, prefixEnd(prefix), from, (b) => batches.push(b), abort.signal);
  done.catch(() => {}); // inspected by the tests that expect a failure
  const events = () => batches.flatMap((b) => b.events);
  return { batches, events, abort, done };
}

test("put, get and range with limit and an older revision", async () => {
  const r1 = await client.put("/t/range/a", "1");
  const r2 = await client.put("/t/range/b", Buffer.from([0, 1, 255]));
  await client.put("/t/range/c", "3");
  assert.ok(r2 > r1);

  const kv = await client.get("/t/range/b");
  assert.ok(kv);
  assert.deepEqual(kv.value, Buffer.from([0, 1, 255]));
  assert.equal(kv.modRevision, r2);
  assert.equal(kv.createRevision, r2);
  assert.equal(kv.version, 1);
  assert.equal(kv.lease, "0");
  assert.equal(await client.get("/t/range/missing"), undefined);

  const page = await client.range("/t/range/", { end: prefixEnd("/t/range/"), limit: 2 });
  assert.deepEqual(
    page.kvs.map((k) => k.key),
    ["/t/range/a", "/t/range/b"],
  );
  assert.equal(page.more, true);
  assert.equal(page.count, 3);
  assert.ok(page.revision >= r2);

  const old = await client.range("/t/range/", { end: prefixEnd("/t/range/"), revision: r2 });
  assert.deepEqual(
    old.kvs.map((k) => [k.key, k.value.toString("hex")]),
    [
      ["/t/range/a", Buffer.from("1").toString("hex")],
      ["/t/range/b", "0001ff"],
    ],
  );
  const counted = await client.range("/t/range/", { end: prefixEnd("/t/range/"), countOnly: true });
  assert.deepEqual([counted.count, counted.kvs.length], [3, 0]);
  const keys = await client.range("/t/range/", { end: prefixEnd("/t/range/"), keysOnly: true });
  assert.deepEqual(
    keys.kvs.map((k) => k.value.length),
    [0, 0, 0],
  );
});

test("txn guarded by create and mod revision: success and failure branches", async () => {
  const key = "/t/txn/obj";
  const created = await client.txn(
    [{ key, target: "CREATE", createRevision: 0 }],
    [{ put: { key, value: "v1" } }],
    [{ range: { key } }],
  );
  assert.equal(created.succeeded, true);
  assert.deepEqual(created.ranges, [undefined]);

  const again = await client.txn(
    [{ key, target: "CREATE", createRevision: 0 }],
    [{ put: { key, value: "never" } }],
    [{ range: { key } }],
  );
  assert.equal(again.succeeded, false);
  assert.equal(again.ranges[0]?.[0].value.toString(), "v1");
  assert.equal(again.ranges[0]?.[0].modRevision, created.revision);

  const updated = await client.txn(
    [{ key, target: "MOD", modRevision: created.revision }],
    [{ put: { key, value: "v2" } }, { range: { key } }],
  );
  assert.equal(updated.succeeded, true);
  assert.equal(updated.ranges[1]?.[0].value.toString(), "v2");

  const stale = await client.txn(
    [{ key, target: "MOD", modRevision: created.revision }],
    [{ put: { key, value: "lost" } }],
    [{ range: { key } }],
  );
  assert.equal(stale.succeeded, false);
  assert.equal(stale.ranges[0]?.[0].value.toString(), "v2");

  const removed = await client.txn(
    [{ key, target: "MOD", modRevision: updated.revision }],
    [{ deleteRange: { key } }],
  );
  assert.equal(removed.succeeded, true);
  assert.equal(await client.get(key), undefined);
});

test("deleteRange removes a prefix and counts it", async () => {
  await client.put("/t/del/a", "1");
  await client.put("/t/del/b", "2");
  const r = await client.deleteRange("/t/del/", prefixEnd("/t/del/"));
  assert.equal(r.deleted, 2);
  assert.equal((await client.range("/t/del/", { end: prefixEnd("/t/del/") })).kvs.length, 0);
  assert.equal((await client.deleteRange("/t/del/none")).deleted, 0);
});

test("a lease is granted and attached to a put, in a txn too", async () => {
  const lease = await client.leaseGrant(3600);
  assert.match(lease, /^[1-9]\d*$/);
  await client.put("/t/lease/a", "x", lease);
  assert.equal((await client.get("/t/lease/a"))?.lease, lease);
  await client.txn([], [{ put: { key: "/t/lease/b", value: "y", lease } }]);
  assert.equal((await client.get("/t/lease/b"))?.lease, lease);
});

test("status reports the revision and database size", async () => {
  const rev = await client.put("/t/status", "x");
  const s = await client.status();
  assert.ok(s.revision >= rev);
  assert.ok(s.dbSize > 0);
});

test("watch from a revision sees create, modify and delete in order, with prevKv", async () => {
  const base = await client.put("/t/other", "before");
  const w = record(client, "/t/watch/", base + 1);
  // A second watcher on the same stream must only see its own range.
  const other = record(client, "/t/other/", base + 1);
  try {
    const r1 = await client.put("/t/watch/x", "1");
    const r2 = await client.put("/t/watch/x", "2");
    const r3 = (await client.deleteRange("/t/watch/x")).revision;
    await client.put("/t/other/y", "o");
    await eventually(() => w.events().length >= 3, "three watch events");
    const evs: WatchEvent[] = w.events();
    assert.deepEqual(
      evs.map((e) => [e.type, e.kv.key, e.kv.modRevision]),
      [
        ["PUT", "/t/watch/x", r1],
        ["PUT", "/t/watch/x", r2],
        ["DELETE", "/t/watch/x", r3],
      ],
    );
    assert.equal(evs[0].kv.version, 1);
    assert.equal(evs[0].prevKv, undefined);
    assert.equal(evs[1].kv.value.toString(), "2");
    assert.equal(evs[1].prevKv?.value.toString(), "1");
    assert.equal(evs[2].prevKv?.value.toString(), "2");
    await eventually(() => other.events().length >= 1, "the other watcher's event");
    assert.deepEqual(
      other.events().map((e) => e.kv.key),
      ["/t/other/y"],
    );
  } finally {
    w.abort.abort();
    other.abort.abort();
  }
  // Aborting resolves the watch.
  await w.done;
  await other.done;
});

test("idle watches get progress notifications: empty batches at the current revision", async () => {
  const rev = await client.put("/t/progress-marker", "x");
  const w = record(client, "/t/idle/", rev + 1);
  try {
    await eventually(() => w.batches.length > 0, "a progress notification");
    assert.deepEqual(w.batches[0].events, []);
    assert.ok(w.batches[0].revision >= rev);
  } finally {
    w.abort.abort();
  }
  await w.done;
});

test("a watch or range from a compacted revision fails with code 11", async () => {
  const first = await client.put("/t/compact/a", "1");
  const second = await client.put("/t/compact/a", "2");
  await client.compact(second);
  const w = record(client, "/t/compact/", first);
  await assert.rejects(w.done, (e: unknown) => {
    assert.ok(e instanceof EtcdError);
    assert.equal(e.code, ETCD_COMPACTED);
    assert.match(e.message, /compacted/);
    return true;
  });
  await assert.rejects(client.range("/t/compact/a", { revision: first }), (e: unknown) => {
    assert.ok(e instanceof EtcdError);
    assert.equal(e.code, ETCD_COMPACTED);
    return true;
  });
  // The stream stays usable for other watchers after one is cancelled by etcd.
  const ok = record(client, "/t/compact/", second + 1);
  try {
    await client.put("/t/compact/a", "3");
    await eventually(() => ok.events().length === 1, "an event after the compaction");
  } finally {
    ok.abort.abort();
  }
  await ok.done;
});

test("an exception in onBatch fails only that watch", async () => {
  const rev = await client.put("/t/throw-marker", "x");
  const boom = new Error("consumer failed");
  const abort = new AbortController();
  const failing = client.watch(
    "/t/throw/",
    prefixEnd("/t/throw/"),
    rev + 1,
    (b) => {
      if (b.events.length) throw boom;
    },
    abort.signal,
  );
  // Handled from the start: the rejection may come before the put below resolves.
  const failed = assert.rejects(failing, (e: unknown) => e === boom);
  const healthy = record(client, "/t/throw/", rev + 1);
  try {
    await client.put("/t/throw/a", "1");
    await failed;
    await client.put("/t/throw/b", "2");
    await eventually(() => healthy.events().length === 2, "the healthy watcher's two events");
  } finally {
    healthy.abort.abort();
    abort.abort();
  }
  await healthy.done;
});

test("losing etcd fails watches and calls with UNAVAILABLE; the client reconnects", async () => {
  // A client of its own on a second etcd, so the shared one stays up for the other tests.
  const port = await freePort();
  const peer = await freePort();
  const own = await startEtcd({
    dataDir: join(dir, "data-restart"),
    logFile: join(dir, "etcd-restart.log"),
    clientPort: port,
    peerPort: peer,
    pki: ensureEtcdPki(join(dir, "pki")),
  });
  let second: RunningEtcd | undefined;
  const c = new EtcdClient(own.endpoint, { tls: own.tls });
  try {
    const rev = await c.put("/r/a", "1");
    const w = record(c, "/r/", rev + 1);
    await c.put("/r/b", "2");
    await eventually(() => w.events().length === 1, "an event before the restart");
    await own.stop();
    await assert.rejects(w.done, (e: unknown) => {
      assert.ok(e instanceof EtcdError);
      assert.ok([14, 13, -1].includes(e.code), `code ${e.code}`);
      return true;
    });
    await assert.rejects(c.get("/r/a"), (e: unknown) => {
      assert.ok(e instanceof EtcdError);
      assert.equal(e.code, 14);
      return true;
    });

    second = await startEtcd({
      dataDir: join(dir, "data-restart"),
      logFile: join(dir, "etcd-restart.log"),
      clientPort: port,
      peerPort: peer,
      pki: ensureEtcdPki(join(dir, "pki")),
    });
    assert.equal((await c.get("/r/b"))?.value.toString(), "2");
    const resumed = record(c, "/r/", rev + 2);
    try {
      await c.put("/r/c", "3");
      await eventually(() => resumed.events().some((e) => e.kv.key === "/r/c"), "an event after the restart");
    } finally {
      resumed.abort.abort();
    }
    await resumed.done;
  } finally {
    await c.close();
    await own.stop();
    await second?.stop();
  }
});

test("close() fails open watches and later calls", async () => {
  const c = new EtcdClient(etcd.endpoint, { tls: etcd.tls });
  const rev = await c.put("/t/close-marker", "x");
  const w = record(c, "/t/close/", rev + 1);
  await c.put("/t/close/a", "1");
  await eventually(() => w.events().length === 1, "an event before close");
  await c.close();
  await assert.rejects(w.done, (e: unknown) => e instanceof EtcdError && /closed/.test(e.message));
  await assert.rejects(c.get("/t/close/a"), /client is closed/);
  const late = record(c, "/t/close/", rev + 1);
  await assert.rejects(late.done, /client is closed/);
});

test("a bad endpoint is a clear error", () => {
  assert.throws(() => new EtcdClient("127.0.0.1:2379"), /http\(s\):\/\/host:port/);
  assert.throws(() => new EtcdClient("https://127.0.0.1:2379"), /needs the CA and a client certificate/);
});

test("etcd lets in only clients with a certificate from the sandbox CA", async () => {
  const plain = new EtcdClient(etcd.endpoint.replace("https://", "http://"), { timeoutMs: 5_000 });
  await assert.rejects(plain.get("/x"), "plaintext is refused");
  await plain.close();
  const other = join(dir, "other-pki");
  const stranger = ensureEtcdPki(other); // a certificate from another CA
  const foreign = new EtcdClient(etcd.endpoint, {
    timeoutMs: 5_000,
    tls: { caFile: etcd.tls.caFile, certFile: stranger.clientCert, keyFile: stranger.clientKey },
  });
  await assert.rejects(foreign.get("/x"), "a client certificate of another CA is refused");
  await foreign.close();
  const noCert = spawnSync("curl", ["-s", "--cacert", etcd.tls.caFile, `${etcd.endpoint}/version`], {
    encoding: "utf8",
  });
  assert.notEqual(noCert.status, 0, "no client certificate: the handshake fails");
  const withCert = spawnSync(
    "curl",
    [
      "-s",
      "--cacert",
      etcd.tls.caFile,
      "--cert",
      etcd.tls.certFile,
      "--key",
      etcd.tls.keyFile,
      `${etcd.endpoint}/version`,
    ],
    { encoding: "utf8" },
  );
  assert.match(withCert.stdout, /etcdserver/);
});
