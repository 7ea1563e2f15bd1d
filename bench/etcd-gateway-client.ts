// etcd v3 client over the JSON gRPC gateway that etcd 3.4 serves on its client URL. It was the
// sandbox's client before the native gRPC one (src/sandbox/etcd/client.ts); kept for etcd-client.bench.ts,
// which compares the two. Keys and values are base64 on the wire; int64s are decimal strings;
// zero values are omitted.
import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import {
  type Compare,
  ETCD_COMPACTED,
  EtcdError,
  type KeyValue,
  type LeaseId,
  type Op,
  type RangeOptions,
  type RangeResult,
  type TxnResult,
  type WatchBatch,
  type WatchEvent,
} from "../src/sandbox/etcd/types.ts";

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");

function decodeKv(raw: any): KeyValue {
  return {
    key: Buffer.from(raw.key ?? "", "base64").toString(),
    value: Buffer.from(raw.value ?? "", "base64"),
    createRevision: Number(raw.create_revision ?? 0),
    modRevision: Number(raw.mod_revision ?? 0),
    version: Number(raw.version ?? 0),
    lease: String(raw.lease ?? "0"),
  };
}

const keyField = (k: string) => b64(k);

function encodeOp(op: Op): unknown {
  if ("put" in op) {
    const p: Record<string, unknown> = { key: keyField(op.put.key), value: b64(op.put.value) };
    if (op.put.lease) p.lease = op.put.lease;
    return { request_put: p };
  }
  if ("deleteRange" in op) {
    const d: Record<string, unknown> = { key: keyField(op.deleteRange.key) };
    if (op.deleteRange.end) d.range_end = keyField(op.deleteRange.end);
    return { request_delete_range: d };
  }
  const r: Record<string, unknown> = { key: keyField(op.range.key) };
  if (op.range.end) r.range_end = keyField(op.range.end);
  return { request_range: r };
}

export class GatewayEtcdClient {
  readonly endpoint: string;
  private readonly agent: Agent;

  constructor(endpoint: string, tls?: { caFile: string; certFile: string; keyFile: string }) {
    this.endpoint = endpoint.replace(/\/$/, "");
    this.agent = new Agent({
      connections: 64,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: tls && {
        ca: readFileSync(tls.caFile),
        cert: readFileSync(tls.certFile),
        key: readFileSync(tls.keyFile),
      },
    });
  }

  private async call(path: string, body: unknown): Promise<any> {
    const res = await request(this.endpoint + path, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
      dispatcher: this.agent,
    });
    const text = await res.body.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      throw new EtcdError(`etcd ${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`, -1);
    }
    if (res.statusCode !== 200 || json.error) {
      throw new EtcdError(`etcd ${path}: ${json.message ?? json.error ?? res.statusCode}`, json.code ?? -1);
    }
    return json;
  }

  async range(key: string, opts: RangeOptions = {}): Promise<RangeResult> {
    const body: Record<string, unknown> = { key: keyField(key) };
    if (opts.end) body.range_end = keyField(opts.end);
    if (opts.limit) body.limit = String(opts.limit);
    if (opts.revision) body.revision = String(opts.revision);
    if (opts.keysOnly) body.keys_only = true;
    if (opts.countOnly) body.count_only = true;
    const json = await this.call("/v3/kv/range", body);
    return {
      revision: Number(json.header.revision),
      kvs: (json.kvs ?? []).map(decodeKv),
      more: Boolean(json.more),
      count: Number(json.count ?? 0),
    };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return (await this.range(key)).kvs[0];
  }

  async put(key: string, value: Buffer | string, lease?: LeaseId): Promise<number> {
    const body: Record<string, unknown> = { key: keyField(key), value: b64(value) };
    if (lease) body.lease = lease;
    const json = await this.call("/v3/kv/put", body);
    return Number(json.header.revision);
  }

  async deleteRange(key: string, end?: string): Promise<{ revision: number; deleted: number }> {
    const body: Record<string, unknown> = { key: keyField(key) };
    if (end) body.range_end = keyField(end);
    const json = await this.call("/v3/kv/deleterange", body);
    return { revision: Number(json.header.revision), deleted: Number(json.deleted ?? 0) };
  }

  async txn(compare: Compare[], success: Op[], failure: Op[] = []): Promise<TxnResult> {
    const body = {
      compare: compare.map((c) =>
        c.target === "CREATE"
          ? {
              key: keyField(c.key),
              target: "CREATE",
              result: "EQUAL",
              create_revision: String(c.createRevision),
            }
          : { key: keyField(c.key), target: "MOD", result: "EQUAL", mod_revision: String(c.modRevision) },
      ),
      success: success.map(encodeOp),
      failure: failure.map(encodeOp),
    };
    const json = await this.call("/v3/kv/txn", body);
    const ranges = (json.responses ?? []).map((r: any) =>
      r.response_range ? (r.response_range.kvs ?? []).map(decodeKv) : undefined,
    );
    return { succeeded: Boolean(json.succeeded), revision: Number(json.header.revision), ranges };
  }

  async leaseGrant(ttlSeconds: number): Promise<LeaseId> {
    const json = await this.call("/v3/lease/grant", { TTL: String(ttlSeconds) });
    return String(json.ID);
  }

  async compact(revision: number): Promise<void> {
    await this.call("/v3/kv/compaction", { revision: String(revision) });
  }

  async status(): Promise<{ revision: number; dbSize: number }> {
    const json = await this.call("/v3/maintenance/status", {});
    return { revision: Number(json.header.revision), dbSize: Number(json.dbSize ?? 0) };
  }

  /**
   * Watches [key, end) from startRevision, delivering batches in revision order until the
   * signal aborts or the stream fails. Rejects with EtcdError(ETCD_COMPACTED) when
   * startRevision has been compacted.
   */
  async watch(
    key: string,
    end: string,
    startRevision: number,
    onBatch: (batch: WatchBatch) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const body = {
      create_request: {
        key: keyField(key),
        range_end: keyField(end),
        start_revision: String(startRevision),
        prev_kv: true,
        progress_notify: true,
      },
    };
    const res = await request(`${this.endpoint}/v3/watch`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
      dispatcher: this.agent,
      signal,
      bodyTimeout: 0,
    });
    if (res.statusCode !== 200) throw new EtcdError(`etcd watch: HTTP ${res.statusCode}`, -1);
    let buf = "";
    for await (const chunk of res.body) {
      buf += chunk.toString();
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (!line) continue;
        const msg = JSON.parse(line);
        if (msg.error) throw new EtcdError(`etcd watch: ${msg.error.message}`, msg.error.grpc_code ?? -1);
        const r = msg.result;
        if (!r) continue;
        if (r.canceled) {
          const compacted = Number(r.compact_revision ?? 0) > 0;
          throw new EtcdError(
            `etcd watch canceled${compacted ? `: revision ${startRevision} compacted (now ${r.compact_revision})` : ""}: ${r.cancel_reason ?? ""}`,
            compacted ? ETCD_COMPACTED : -1,
          );
        }
        const events: WatchEvent[] = (r.events ?? []).map((e: any) => ({
          type: e.type === "DELETE" ? "DELETE" : "PUT",
          kv: decodeKv(e.kv),
          prevKv: e.prev_kv ? decodeKv(e.prev_kv) : undefined,
        }));
        if (events.length || !r.created) onBatch({ revision: Number(r.header.revision), events });
      }
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
