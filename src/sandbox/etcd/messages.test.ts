// etcd messages against hand-assembled protobuf bytes (field numbers from rpc.proto / kv.proto).
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeMessage, encodeMessage } from "../../grpc/protowire.ts";
import * as M from "./messages.ts";

const hex = (b: Buffer) => b.toString("hex");
const bytes = (h: string) => Buffer.from(h.replace(/\s+/g, ""), "hex");
/** A lease ID above 2^53, and its varint. */
const LEASE = "7587869823456789123";
const LEASE_VARINT = "8385b1a8efece1a669";

test("RangeRequest: key 1, range_end 2, limit 3, revision 4, keys_only 8", () => {
  assert.equal(
    hex(
      encodeMessage(M.RangeRequest, { key: "/a", rangeEnd: "/b", limit: 2, revision: 300, keysOnly: true }),
    ),
    "0a022f61 12022f62 1802 20ac02 4001".replace(/ /g, ""),
  );
  // Unset options are left out entirely.
  assert.equal(
    hex(encodeMessage(M.RangeRequest, { key: "k", limit: undefined, countOnly: false })),
    "0a016b",
  );
});

test("PutRequest carries a 64-bit lease ID exactly; DeleteRange and Compaction", () => {
  assert.equal(
    hex(encodeMessage(M.PutRequest, { key: "k", value: "v", lease: LEASE })),
    `0a016b 120176 18${LEASE_VARINT}`.replace(/ /g, ""),
  );
  assert.equal(
    hex(encodeMessage(M.PutRequest, { key: "k", value: Buffer.from([0, 255]) })),
    "0a016b120200ff",
  );
  assert.equal(hex(encodeMessage(M.DeleteRangeRequest, { key: "a", rangeEnd: "b" })), "0a0161120162");
  assert.equal(hex(encodeMessage(M.CompactionRequest, { revision: 300 })), "08ac02");
  assert.equal(hex(encodeMessage(M.LeaseGrantRequest, { TTL: 60 })), "083c");
  assert.equal(encodeMessage(M.StatusRequest, {}).length, 0);
});

test("TxnRequest: a create_revision = 0 guard is explicit; ops are RequestOp oneofs", () => {
  const txn = encodeMessage(M.TxnRequest, {
    compare: [M.compareOf({ key: "k", target: "CREATE", createRevision: 0 })],
    success: [M.requestOpOf({ put: { key: "k", value: "v" } })],
    failure: [M.requestOpOf({ range: { key: "k" } })],
  });
  assert.equal(
    hex(txn),
    [
      "0a07 1a016b 1001 2800", // compare: key "k", target CREATE, create_revision 0 (result EQUAL = default)
      "1208 1206 0a016b120176", // success: request_put { key "k", value "v" }
      "1a05 0a03 0a016b", // failure: request_range { key "k" }
    ]
      .join("")
      .replace(/ /g, ""),
  );
  const mod = encodeMessage(M.Compare, M.compareOf({ key: "k", target: "MOD", modRevision: 5 }));
  assert.equal(hex(mod), "1a016b10023005");
  const del = encodeMessage(M.RequestOp, M.requestOpOf({ deleteRange: { key: "a", end: "b" } }));
  assert.equal(hex(del), "1a060a0161120162");
});

test("WatchRequest: create with a client-chosen watch_id, and cancel", () => {
  const create = encodeMessage(M.WatchRequest, {
    createRequest: {
      key: "/registry/",
      rangeEnd: "/registry0",
      startRevision: 42,
      progressNotify: true,
      prevKv: true,
      watchId: 1,
    },
  });
  const registry = Buffer.from("/registry/").toString("hex");
  const registry0 = Buffer.from("/registry0").toString("hex");
  assert.equal(hex(create), `0a20 0a0a${registry} 120a${registry0} 182a 2001 3001 3801`.replace(/ /g, ""));
  assert.equal(hex(encodeMessage(M.WatchRequest, { cancelRequest: { watchId: 3 } })), "12020803");
});

test("RangeResponse decodes into the client's KeyValue shape", () => {
  const r = decodeMessage<M.DecodedRangeResponse>(
    M.RangeResponse,
    bytes("0a021807 120c 0a0161 1002 1803 2001 2a0178 1801 2005"),
  );
  assert.equal(r.header?.revision, 7);
  assert.deepEqual(r.kvs, [
    { key: "a", createRevision: 2, modRevision: 3, version: 1, value: Buffer.from("x"), lease: "0" },
  ]);
  assert.equal(r.more, true);
  assert.equal(r.count, 5);
});

test("WatchResponse: events with a lease, and a compaction cancel", () => {
  const r = decodeMessage<M.DecodedWatchResponse>(
    M.WatchResponse,
    bytes(`0a0318ac02 1001 5a14 0801 1210 0a016b 18ac02 30${LEASE_VARINT}`),
  );
  assert.equal(r.header?.revision, 300);
  assert.equal(r.watchId, 1);
  assert.equal(r.created, false);
  assert.equal(r.events.length, 1);
  assert.equal(r.events[0].type, 1); // DELETE
  assert.deepEqual(r.events[0].kv, {
    key: "k",
    createRevision: 0,
    modRevision: 300,
    version: 0,
    value: Buffer.alloc(0),
    lease: LEASE,
  });
  assert.equal(r.events[0].prevKv, undefined);

  const c = decodeMessage<M.DecodedWatchResponse>(M.WatchResponse, bytes("1002 2001 28e807 3203616263"));
  assert.deepEqual(
    [c.watchId, c.canceled, c.compactRevision, c.cancelReason, c.events],
    [2, true, 1000, "abc", []],
  );
});

test("LeaseGrantResponse keeps the ID as a string; StatusResponse", () => {
  const l = decodeMessage<{ ID: string; TTL: number }>(M.LeaseGrantResponse, bytes(`10${LEASE_VARINT} 183c`));
  assert.deepEqual([l.ID, l.TTL], [LEASE, 60]);
  const s = decodeMessage<{ header?: M.DecodedHeader; version: string; dbSize: number }>(
    M.StatusResponse,
    bytes("0a021809 1206332e342e3233 1880a001"),
  );
  assert.deepEqual([s.header?.revision, s.version, s.dbSize], [9, "3.4.23", 20480]);
});
