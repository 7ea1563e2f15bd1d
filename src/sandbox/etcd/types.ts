// The etcd client's public types, shared by the gRPC client and the JSON-gateway client
// that the benchmark compares it with.

export interface KeyValue {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: LeaseId;
}

export interface RangeOptions {
  /** Exclusive end key; use prefixEnd(prefix) for a prefix scan. */
  end?: string;
  limit?: number;
  /** Read at this past revision (0 = current). */
  revision?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface RangeResult {
  revision: number;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export type Compare =
  | { key: string; target: "CREATE"; createRevision: number }
  | { key: string; target: "MOD"; modRevision: number };

export type Op =
  | { put: { key: string; value: Buffer | string; lease?: LeaseId } }
  | { deleteRange: { key: string; end?: string } }
  | { range: { key: string; end?: string } };

export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** Range results of the executed branch, in op order (undefined for non-range ops). */
  ranges: (KeyValue[] | undefined)[];
}

export interface WatchEvent {
  type: "PUT" | "DELETE";
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface WatchBatch {
  revision: number;
  events: WatchEvent[];
}

/** etcd lease IDs are int64: kept as decimal strings, since they do not fit a JS number. */
export type LeaseId = string;

export class EtcdError extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** etcd's gRPC status code 11 (OutOfRange): the requested revision was compacted away. */
export const ETCD_COMPACTED = 11;

/** The smallest key greater than every key that starts with `prefix` (keys here are ASCII). */
export function prefixEnd(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  if (!(last < 0x7f)) throw new Error(`prefixEnd: unsupported prefix ${JSON.stringify(prefix)}`);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}
