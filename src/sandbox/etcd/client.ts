// etcd v3 client over etcd's native gRPC API (etcdserverpb), spoken over HTTP/2 (TLS with a
// client certificate, as the sandbox's etcd requires; or plaintext) on the client URL, where
// etcd serves gRPC next to its JSON gateway. Protobuf rather than the
// gateway's JSON + base64 spares etcd a JSON<->protobuf conversion per request and per watch
// event, and spares us JSON.parse and base64. One HTTP/2 session carries every call; all
// watches share one Watch stream (watch-stream.ts).

import { readFileSync } from "node:fs";
import { GrpcClient } from "../../grpc/grpc.ts";
import { decodeMessage, encodeMessage, type Schema } from "../../grpc/protowire.ts";
import * as M from "./messages.ts";
import {
  type Compare,
  EtcdError,
  type KeyValue,
  type LeaseId,
  type Op,
  type RangeOptions,
  type RangeResult,
  type TxnResult,
  type WatchBatch,
} from "./types.ts";
import { WatchStream } from "./watch-stream.ts";

export * from "./types.ts";

export interface EtcdClientOptions {
  /** Deadline of each unary call. Default 2 minutes: etcd on a busy 2-core machine can be slow. */
  timeoutMs?: number;
  /** For an https:// endpoint: the files of the CA and of the client certificate and key. */
  tls?: { caFile: string; certFile: string; keyFile: string };
}

export class EtcdClient {
  readonly endpoint: string;
  private readonly grpc: GrpcClient;
  private readonly timeoutMs: number;
  private watchStream: WatchStream | undefined;

  constructor(endpoint: string, opts: EtcdClientOptions = {}) {
    this.endpoint = endpoint.replace(/\/$/, "");
    if (!/^https?:\/\/[^/]+$/.test(this.endpoint))
      throw new Error(`etcd endpoint must be http(s)://host:port, got ${JSON.stringify(endpoint)}`);
    if (this.endpoint.startsWith("https://") && !opts.tls)
      throw new Error("an https:// etcd endpoint needs the CA and a client certificate (tls)");
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.grpc = new GrpcClient(this.endpoint, {
      defaultTimeoutMs: this.timeoutMs,
      // etcd sends up to 2 GiB by default; our largest answers are range pages and watch bursts.
      maxMessageBytes: 512 * 1024 * 1024,
      receiveWindowBytes: 8 * 1024 * 1024,
      makeError: (method, code, message) => new EtcdError(`etcd ${method}: ${message}`, code),
      tls: opts.tls && {
        ca: readFileSync(opts.tls.caFile),
        cert: readFileSync(opts.tls.certFile),
        key: readFileSync(opts.tls.keyFile),
      },
    });
  }

  private async call<T>(path: string, reqSchema: Schema, req: object, resSchema: Schema): Promise<T> {
    const res = await this.grpc.unary(path, encodeMessage(reqSchema, req), this.timeoutMs);
    return decodeMessage<T>(resSchema, res);
  }

  async range(key: string, opts: RangeOptions = {}): Promise<RangeResult> {
    const r = await this.call<M.DecodedRangeResponse>(
      M.KV_RANGE,
      M.RangeRequest,
      {
        key,
        rangeEnd: opts.end,
        limit: opts.limit,
        revision: opts.revision,
        keysOnly: opts.keysOnly,
        countOnly: opts.countOnly,
      },
      M.RangeResponse,
    );
    return { revision: r.header?.revision ?? 0, kvs: r.kvs, more: r.more, count: r.count };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return (await this.range(key)).kvs[0];
  }

  async put(key: string, value: Buffer | string, lease?: LeaseId): Promise<number> {
    const r = await this.call<{ header?: M.DecodedHeader }>(
      M.KV_PUT,
      M.PutRequest,
      { key, value, lease },
      M.PutResponse,
    );
    return r.header?.revision ?? 0;
  }

  async deleteRange(key: string, end?: string): Promise<{ revision: number; deleted: number }> {
    const r = await this.call<{ header?: M.DecodedHeader; deleted: number }>(
      M.KV_DELETE_RANGE,
      M.DeleteRangeRequest,
      { key, rangeEnd: end },
      M.DeleteRangeResponse,
    );
    return { revision: r.header?.revision ?? 0, deleted: r.deleted };
  }

  async txn(compare: Compare[], success: Op[], failure: Op[] = []): Promise<TxnResult> {
    const r = await this.call<M.DecodedTxnResponse>(
      M.KV_TXN,
      M.TxnRequest,
      {
        compare: compare.map(M.compareOf),
        success: success.map(M.requestOpOf),
        failure: failure.map(M.requestOpOf),
      },
      M.TxnResponse,
    );
    return {
      succeeded: r.succeeded,
      revision: r.header?.revision ?? 0,
      ranges: r.responses.map((op) => op.responseRange?.kvs),
    };
  }

  async leaseGrant(ttlSeconds: number): Promise<LeaseId> {
    const r = await this.call<{ ID: string; error: string }>(
      M.LEASE_GRANT,
      M.LeaseGrantRequest,
      { TTL: ttlSeconds },
      M.LeaseGrantResponse,
    );
    if (r.error) throw new EtcdError(`etcd LeaseGrant: ${r.error}`, -1);
    return r.ID;
  }

  async compact(revision: number): Promise<void> {
    await this.call(M.KV_COMPACT, M.CompactionRequest, { revision }, M.CompactionResponse);
  }

  async status(): Promise<{ revision: number; dbSize: number }> {
    const r = await this.call<{ header?: M.DecodedHeader; dbSize: number }>(
      M.MAINTENANCE_STATUS,
      M.StatusRequest,
      {},
      M.StatusResponse,
    );
    return { revision: r.header?.revision ?? 0, dbSize: r.dbSize };
  }

  /**
   * Watches [key, end) from startRevision, delivering batches in revision order (and, with no
   * events, etcd's progress notifications) until the signal aborts (resolves) or the watch
   * fails (rejects). Rejects with EtcdError(ETCD_COMPACTED) when startRevision has been
   * compacted, with EtcdError(14 UNAVAILABLE, ...) when the connection to etcd is lost.
   */
  watch(
    key: string,
    end: string,
    startRevision: number,
    onBatch: (batch: WatchBatch) => void,
    signal: AbortSignal,
  ): Promise<void> {
    if (!this.watchStream || this.watchStream.dead) this.watchStream = new WatchStream(this.grpc);
    return this.watchStream.add({ key, end, startRevision, onBatch, signal });
  }

  /** Fails open watches, lets calls in flight finish, and closes the connection. */
  async close(): Promise<void> {
    this.watchStream?.shutdown(new EtcdError("etcd watch: client closed", 1));
    this.watchStream = undefined;
    await this.grpc.closeGracefully();
  }
}
