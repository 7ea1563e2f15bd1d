// The etcd v3 API messages the client uses (api/etcdserverpb/rpc.proto, api/mvccpb/kv.proto),
// as protowire schemas: the proto's field numbers, JS names in lowerCamelCase. Keys are ASCII
// here, so they are declared as strings (same bytes on the wire as proto `bytes`). Revisions and
// counts decode to numbers (exact below 2^49); lease IDs use all 64 bits and stay decimal strings.
import type { Schema } from "../../grpc/protowire.ts";
import type { Compare as CompareSpec, Op } from "./types.ts";

export const KV_RANGE = "/etcdserverpb.KV/Range";
export const KV_PUT = "/etcdserverpb.KV/Put";
export const KV_DELETE_RANGE = "/etcdserverpb.KV/DeleteRange";
export const KV_TXN = "/etcdserverpb.KV/Txn";
export const KV_COMPACT = "/etcdserverpb.KV/Compact";
export const WATCH = "/etcdserverpb.Watch/Watch";
export const LEASE_GRANT = "/etcdserverpb.Lease/LeaseGrant";
export const MAINTENANCE_STATUS = "/etcdserverpb.Maintenance/Status";

// ---------------------------------------------------------------- mvccpb

export const KeyValue: Schema = {
  key: { no: 1, type: "string" },
  createRevision: { no: 2, type: "int64" },
  modRevision: { no: 3, type: "int64" },
  version: { no: 4, type: "int64" },
  value: { no: 5, type: "bytes" },
  lease: { no: 6, type: "int64", asString: true },
};

/** type: 0 = PUT, 1 = DELETE */
export const Event: Schema = {
  type: { no: 1, type: "enum" },
  kv: { no: 2, type: "message", schema: () => KeyValue },
  prevKv: { no: 3, type: "message", schema: () => KeyValue },
};

// ---------------------------------------------------------------- etcdserverpb

export const ResponseHeader: Schema = {
  clusterId: { no: 1, type: "uint64", asString: true },
  memberId: { no: 2, type: "uint64", asString: true },
  revision: { no: 3, type: "int64" },
  raftTerm: { no: 4, type: "uint64" },
};

const header = { no: 1, type: "message", schema: () => ResponseHeader } as const;

export const RangeRequest: Schema = {
  key: { no: 1, type: "string" },
  rangeEnd: { no: 2, type: "string" },
  limit: { no: 3, type: "int64" },
  revision: { no: 4, type: "int64" },
  sortOrder: { no: 5, type: "enum" },
  sortTarget: { no: 6, type: "enum" },
  serializable: { no: 7, type: "bool" },
  keysOnly: { no: 8, type: "bool" },
  countOnly: { no: 9, type: "bool" },
};

export const RangeResponse: Schema = {
  header,
  kvs: { no: 2, type: "message", schema: () => KeyValue, repeated: true },
  more: { no: 3, type: "bool" },
  count: { no: 4, type: "int64" },
};

export const PutRequest: Schema = {
  key: { no: 1, type: "string" },
  value: { no: 2, type: "bytes" },
  lease: { no: 3, type: "int64" },
  prevKv: { no: 4, type: "bool" },
};

export const PutResponse: Schema = {
  header,
  prevKv: { no: 2, type: "message", schema: () => KeyValue },
};

export const DeleteRangeRequest: Schema = {
  key: { no: 1, type: "string" },
  rangeEnd: { no: 2, type: "string" },
  prevKv: { no: 3, type: "bool" },
};

export const DeleteRangeResponse: Schema = {
  header,
  deleted: { no: 2, type: "int64" },
  prevKvs: { no: 3, type: "message", schema: () => KeyValue, repeated: true },
};

/** A oneof: exactly one of the fields is set. */
export const RequestOp: Schema = {
  requestRange: { no: 1, type: "message", schema: () => RangeRequest },
  requestPut: { no: 2, type: "message", schema: () => PutRequest },
  requestDeleteRange: { no: 3, type: "message", schema: () => DeleteRangeRequest },
  requestTxn: { no: 4, type: "message", schema: () => TxnRequest },
};

export const ResponseOp: Schema = {
  responseRange: { no: 1, type: "message", schema: () => RangeResponse },
  responsePut: { no: 2, type: "message", schema: () => PutResponse },
  responseDeleteRange: { no: 3, type: "message", schema: () => DeleteRangeResponse },
  responseTxn: { no: 4, type: "message", schema: () => TxnResponse },
};

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;

/**
 * version .. lease form the oneof target_union: they are sent even when zero, so that
 * "create_revision = 0" (the key does not exist) is explicit on the wire.
 */
export const Compare: Schema = {
  result: { no: 1, type: "enum" },
  target: { no: 2, type: "enum" },
  key: { no: 3, type: "string" },
  version: { no: 4, type: "int64", oneof: true },
  createRevision: { no: 5, type: "int64", oneof: true },
  modRevision: { no: 6, type: "int64", oneof: true },
  value: { no: 7, type: "bytes", oneof: true },
  lease: { no: 8, type: "int64", oneof: true },
  rangeEnd: { no: 64, type: "string" },
};

export const TxnRequest: Schema = {
  compare: { no: 1, type: "message", schema: () => Compare, repeated: true },
  success: { no: 2, type: "message", schema: () => RequestOp, repeated: true },
  failure: { no: 3, type: "message", schema: () => RequestOp, repeated: true },
};

export const TxnResponse: Schema = {
  header,
  succeeded: { no: 2, type: "bool" },
  responses: { no: 3, type: "message", schema: () => ResponseOp, repeated: true },
};

export const CompactionRequest: Schema = {
  revision: { no: 1, type: "int64" },
  physical: { no: 2, type: "bool" },
};

export const CompactionResponse: Schema = { header };

/** A oneof: create, cancel or progress request. */
export const WatchRequest: Schema = {
  createRequest: { no: 1, type: "message", schema: () => WatchCreateRequest },
  cancelRequest: { no: 2, type: "message", schema: () => WatchCancelRequest },
  progressRequest: { no: 3, type: "message", schema: () => WatchProgressRequest },
};

export const WatchCreateRequest: Schema = {
  key: { no: 1, type: "string" },
  rangeEnd: { no: 2, type: "string" },
  startRevision: { no: 3, type: "int64" },
  progressNotify: { no: 4, type: "bool" },
  /** 0 = NOPUT, 1 = NODELETE */
  filters: { no: 5, type: "enum", repeated: true },
  prevKv: { no: 6, type: "bool" },
  /** Client-chosen ID (etcd >= 3.4), so responses can be matched without relying on order. */
  watchId: { no: 7, type: "int64" },
  fragment: { no: 8, type: "bool" },
};

export const WatchCancelRequest: Schema = {
  watchId: { no: 1, type: "int64" },
};

export const WatchProgressRequest: Schema = {};

export const WatchResponse: Schema = {
  header,
  watchId: { no: 2, type: "int64" },
  created: { no: 3, type: "bool" },
  canceled: { no: 4, type: "bool" },
  compactRevision: { no: 5, type: "int64" },
  cancelReason: { no: 6, type: "string" },
  fragment: { no: 7, type: "bool" },
  events: { no: 11, type: "message", schema: () => Event, repeated: true },
};

export const LeaseGrantRequest: Schema = {
  TTL: { no: 1, type: "int64" },
  ID: { no: 2, type: "int64" },
};

export const LeaseGrantResponse: Schema = {
  header,
  ID: { no: 2, type: "int64", asString: true },
  TTL: { no: 3, type: "int64" },
  error: { no: 4, type: "string" },
};

export const StatusRequest: Schema = {};

export const StatusResponse: Schema = {
  header,
  version: { no: 2, type: "string" },
  dbSize: { no: 3, type: "int64" },
  leader: { no: 4, type: "uint64", asString: true },
  raftIndex: { no: 5, type: "uint64" },
  raftTerm: { no: 6, type: "uint64" },
  raftAppliedIndex: { no: 7, type: "uint64" },
  errors: { no: 8, type: "string", repeated: true },
  dbSizeInUse: { no: 9, type: "int64" },
  isLearner: { no: 10, type: "bool" },
};

/** The RequestOp message (as an object for encodeMessage) of a transaction operation. */
export function requestOpOf(op: Op): object {
  if ("put" in op) return { requestPut: { key: op.put.key, value: op.put.value, lease: op.put.lease } };
  if ("deleteRange" in op)
    return { requestDeleteRange: { key: op.deleteRange.key, rangeEnd: op.deleteRange.end } };
  return { requestRange: { key: op.range.key, rangeEnd: op.range.end } };
}

/** The Compare message of a transaction guard: the key's create or mod revision EQUAL to a value. */
export function compareOf(c: CompareSpec): object {
  return c.target === "CREATE"
    ? {
        key: c.key,
        target: CompareTarget.CREATE,
        result: CompareResult.EQUAL,
        createRevision: c.createRevision,
      }
    : { key: c.key, target: CompareTarget.MOD, result: CompareResult.EQUAL, modRevision: c.modRevision };
}

// ---------------------------------------------------------------- decoded shapes

export interface DecodedKeyValue {
  key: string;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Buffer;
  lease: string;
}

export interface DecodedHeader {
  revision: number;
}

export interface DecodedRangeResponse {
  header?: DecodedHeader;
  kvs: DecodedKeyValue[];
  more: boolean;
  count: number;
}

export interface DecodedTxnResponse {
  header?: DecodedHeader;
  succeeded: boolean;
  responses: { responseRange?: DecodedRangeResponse }[];
}

export interface DecodedWatchResponse {
  header?: DecodedHeader;
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  fragment: boolean;
  events: { type: number; kv?: DecodedKeyValue; prevKv?: DecodedKeyValue }[];
}
