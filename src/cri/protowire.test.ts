import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeMessage, encodeMessage, type Schema } from "../grpc/protowire.ts";
import * as M from "./messages.ts";

const hex = (b: Buffer) => b.toString("hex");

test("known byte vectors: varint, string, bool, negative int32", () => {
  const s: Schema = {
    a: { no: 1, type: "int32" },
    b: { no: 2, type: "string" },
    c: { no: 3, type: "bool" },
  };
  // The protobuf docs' example: field 1 = 150.
  assert.equal(hex(encodeMessage(s, { a: 150 })), "089601");
  assert.equal(hex(encodeMessage(s, { b: "testing" })), "120774657374696e67");
  assert.equal(hex(encodeMessage(s, { c: true })), "1801");
  // Negative int32 is sign-extended to 10 bytes.
  assert.equal(hex(encodeMessage(s, { a: -1 })), "08ffffffffffffffffff01");
  assert.deepEqual(decodeMessage(s, Buffer.from("08ffffffffffffffffff01", "hex")), {
    a: -1,
    b: "",
    c: false,
  });
});

test("proto3 defaults are not encoded, and are filled in on decode", () => {
  const s: Schema = {
    n: { no: 1, type: "int64" },
    s: { no: 2, type: "string" },
    list: { no: 3, type: "string", repeated: true },
    m: { no: 4, type: "map" },
    sub: { no: 5, type: "message", schema: () => M.KeyValue },
    raw: { no: 6, type: "bytes" },
  };
  assert.equal(encodeMessage(s, { n: 0, s: "", list: [], m: {} }).length, 0);
  const d = decodeMessage<Record<string, unknown>>(s, Buffer.alloc(0));
  assert.deepEqual(d, { n: 0, s: "", list: [], m: {}, raw: Buffer.alloc(0) });
  assert.equal("sub" in d, false);
  // An empty nested message is still present.
  assert.deepEqual(decodeMessage(s, encodeMessage(s, { sub: {} })).sub, { key: "", value: "" });
});

test("int64 timestamps and uint64 sizes survive a round trip", () => {
  const s: Schema = {
    t: { no: 1, type: "int64" },
    u: { no: 2, type: "uint64" },
    neg: { no: 3, type: "int64" },
  };
  const ns = 1_700_000_000_123_456_000; // beyond 2^53: only its precision is lost
  const back = decodeMessage<{ t: number; u: number; neg: number }>(
    s,
    encodeMessage(s, { t: ns, u: 2 ** 40 + 7, neg: -5 }),
  );
  assert.equal(back.t, ns);
  assert.equal(back.u, 2 ** 40 + 7);
  assert.equal(back.neg, -5);
});

test("map<string,string> entries, including empty values", () => {
  const bytes = encodeMessage(M.PodSandboxFilter, { labelSelector: { app: "web", empty: "" } });
  // First entry: tag 0x1a (field 3, LEN), entry {0a 03 "app" 12 03 "web"}.
  assert.ok(hex(bytes).startsWith("1a0a0a036170701203776562"));
  const d = decodeMessage<{ labelSelector: Record<string, string> }>(M.PodSandboxFilter, bytes);
  assert.deepEqual(d.labelSelector, { app: "web", empty: "" });
});

test("nested and repeated messages round-trip (PodSandboxConfig)", () => {
  const config = {
    metadata: { name: "web", uid: "u-1", namespace: "default", attempt: 2 },
    hostname: "web",
    logDirectory: "/var/log/pods/x",
    dnsConfig: { servers: ["10.0.0.10"], searches: ["default.svc"], options: ["ndots:5"] },
    portMappings: [
      { protocol: 0, containerPort: 80, hostPort: 0, hostIp: "" },
      { protocol: 1, containerPort: 53, hostPort: 5353, hostIp: "127.0.0.1" },
    ],
    labels: { app: "web" },
    annotations: { "raven.io/port": '{"ip":"10.1.2.3"}' },
    linux: {
      cgroupParent: "/kubepods",
      securityContext: { namespaceOptions: { network: 0, pid: 1, ipc: 0, targetId: "" }, privileged: true },
      sysctls: { "net.ipv4.ip_forward": "1" },
    },
  };
  const back = decodeMessage<Record<string, unknown>>(
    M.PodSandboxConfig,
    encodeMessage(M.PodSandboxConfig, config),
  );
  assert.deepEqual(back.metadata, config.metadata);
  assert.deepEqual(back.portMappings, config.portMappings);
  assert.deepEqual(back.labels, config.labels);
  assert.deepEqual(back.annotations, config.annotations);
  assert.deepEqual(back.dnsConfig, config.dnsConfig);
  const linux = back.linux as {
    sysctls: unknown;
    securityContext: { namespaceOptions: unknown; privileged: boolean };
  };
  assert.deepEqual(linux.sysctls, config.linux.sysctls);
  assert.deepEqual(linux.securityContext.namespaceOptions, config.linux.securityContext.namespaceOptions);
  assert.equal(linux.securityContext.privileged, true);
});

test("packed repeated scalars: encoded packed, decoded packed or not", () => {
  const bytes = encodeMessage(M.PortForwardRequest, { podSandboxId: "", port: [80, 8080] });
  // Field 2, LEN, 3 bytes: 80, then 8080 as varint (90 3f).
  assert.equal(hex(bytes), "120350903f");
  assert.deepEqual(decodeMessage(M.PortForwardRequest, bytes), { podSandboxId: "", port: [80, 8080] });
  // The unpacked form (one tag per element) decodes the same.
  const unpacked = Buffer.from("1050" + "10903f", "hex");
  assert.deepEqual(decodeMessage(M.PortForwardRequest, unpacked).port, [80, 8080]);
});

test("bytes decode to Buffer; unknown fields are skipped", () => {
  const known = encodeMessage(M.ExecSyncResponse, { stdout: Buffer.from("hi\n"), exitCode: 3 });
  // Append unknown fields of every wire type: 99 varint, 100 fixed64, 101 LEN, 102 fixed32.
  const extra = Buffer.from("98060a" + "a106" + "0102030405060708" + "aa0602abcd" + "b50601020304", "hex");
  const d = decodeMessage<{ stdout: Buffer; stderr: Buffer; exitCode: number }>(
    M.ExecSyncResponse,
    Buffer.concat([known, extra]),
  );
  assert.ok(Buffer.isBuffer(d.stdout));
  assert.equal(d.stdout.toString(), "hi\n");
  assert.equal(d.stderr.length, 0);
  assert.equal(d.exitCode, 3);
});

test("doubles and fixed-width values round-trip", () => {
  const s: Schema = {
    d: { no: 1, type: "double" },
    f32: { no: 2, type: "fixed32" },
    f64: { no: 3, type: "fixed64" },
  };
  const enc = encodeMessage(s, { d: 1.5, f32: 7, f64: 2 ** 40 });
  assert.equal(hex(enc).slice(0, 4), "0900"); // tag 1, wire type 1
  assert.deepEqual(decodeMessage(s, enc), { d: 1.5, f32: 7, f64: 2 ** 40 });
});

test("bad input gets a clear error", () => {
  assert.throws(() => encodeMessage(M.KeyValue, { key: 5 }), /message\.key: expected a string/);
  assert.throws(() => encodeMessage(M.KeyValue, { nope: "x" }), /message\.nope: unknown field/);
  assert.throws(() => encodeMessage(M.ContainerMetadata, { attempt: -1 }), /non-negative/);
  assert.throws(() => encodeMessage(M.ContainerMetadata, { attempt: 1.5 }), /expected an integer/);
  assert.throws(
    () => encodeMessage(M.PodSandboxConfig, { labels: { a: 1 } }),
    /labels\[a\]: expected a string/,
  );
  assert.throws(() => encodeMessage(M.ContainerConfig, { command: "sh" }), /command: expected an array/);
  // Truncated input: string field claims 7 bytes but only 2 follow.
  assert.throws(() => decodeMessage(M.KeyValue, Buffer.from("0a076869", "hex")), /truncated/);
  // Wire type mismatch for a known field.
  assert.throws(() => decodeMessage(M.KeyValue, Buffer.from("0801", "hex")), /wire type 0/);
});
