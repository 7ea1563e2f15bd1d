// One etcd Watch call (a bidirectional gRPC stream) carrying any number of watchers, each
// created with a client-chosen watch_id so responses are matched by ID, not by order. The
// stream lives as long as it has watchers; when it fails, every watcher on it is failed and
// the client opens a fresh stream for the next watch.
import type { GrpcClient, GrpcStream } from "../../grpc/grpc.ts";
import { decodeMessage, encodeMessage } from "../../grpc/protowire.ts";
import * as M from "./messages.ts";
import { ETCD_COMPACTED, EtcdError, type WatchBatch, type WatchEvent } from "./types.ts";

interface Watcher {
  startRevision: number;
  onBatch: (batch: WatchBatch) => void;
  resolve: () => void;
  reject: (err: Error) => void;
  signal: AbortSignal;
  onAbort: () => void;
  /** Events of a response etcd split into fragments, until the last fragment arrives. */
  fragments: WatchEvent[];
}

export interface WatchSpec {
  key: string;
  end: string;
  startRevision: number;
  onBatch: (batch: WatchBatch) => void;
  signal: AbortSignal;
}

function toEvent(e: M.DecodedWatchResponse["events"][number]): WatchEvent {
  if (!e.kv) throw new EtcdError("etcd watch: event without a key-value", -1);
  return { type: e.type === 1 ? "DELETE" : "PUT", kv: e.kv, prevKv: e.prevKv };
}

export class WatchStream {
  private readonly call: GrpcStream;
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 1;
  /** Set once the stream has ended or has been given up; it then takes no new watchers. */
  dead = false;

  constructor(grpc: GrpcClient) {
    this.call = grpc.stream(M.WATCH, {
      onMessage: (message) => this.onMessage(message),
      onEnd: (err) => this.onEnd(err),
    });
  }

  /** Watches until the signal aborts (resolves) or the watch fails (rejects with EtcdError). */
  add(spec: WatchSpec): Promise<void> {
    if (spec.signal.aborted) return Promise.resolve();
    if (this.dead) return Promise.reject(new EtcdError("etcd watch: stream already closed", -1));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.remove(id, true);
        resolve();
      };
      this.watchers.set(id, {
        startRevision: spec.startRevision,
        onBatch: spec.onBatch,
        resolve,
        reject,
        signal: spec.signal,
        onAbort,
        fragments: [],
      });
      spec.signal.addEventListener("abort", onAbort, { once: true });
      this.call.write(
        encodeMessage(M.WatchRequest, {
          createRequest: {
            key: spec.key,
            rangeEnd: spec.end,
            startRevision: spec.startRevision,
            progressNotify: true,
            prevKv: true,
            watchId: id,
          },
        }),
      );
    });
  }

  /** Ends every watcher with `err` and the call itself. */
  shutdown(err: Error): void {
    this.failAll(err);
    this.call.cancel();
  }

  private remove(id: number, cancelOnServer: boolean): Watcher | undefined {
    const w = this.watchers.get(id);
    if (!w) return undefined;
    this.watchers.delete(id);
    w.signal.removeEventListener("abort", w.onAbort);
    if (this.watchers.size === 0) {
      // Nothing left to watch: end the call rather than keep an idle stream open.
      this.dead = true;
      this.call.cancel();
    } else if (cancelOnServer) {
      this.call.write(encodeMessage(M.WatchRequest, { cancelRequest: { watchId: id } }));
    }
    return w;
  }

  private onMessage(message: Buffer): void {
    const r = decodeMessage<M.DecodedWatchResponse>(M.WatchResponse, message);
    const w = this.watchers.get(r.watchId);
    if (!w) return; // a watcher we already cancelled, or a stream-wide progress response
    if (r.canceled) {
      this.remove(r.watchId, false);
      const compacted = r.compactRevision > 0;
      w.reject(
        new EtcdError(
          `etcd watch canceled${compacted ? `: revision ${w.startRevision} compacted (now ${r.compactRevision})` : ""}: ${r.cancelReason}`,
          compacted ? ETCD_COMPACTED : -1,
        ),
      );
      return;
    }
    let events: WatchEvent[];
    try {
      events = r.events.map(toEvent);
    } catch (err) {
      this.remove(r.watchId, true);
      w.reject(err as Error);
      return;
    }
    if (r.fragment) {
      w.fragments.push(...events);
      return;
    }
    if (w.fragments.length) {
      events = [...w.fragments, ...events];
      w.fragments = [];
    }
    // The "created" confirmation carries no events; progress notifications do reach the caller.
    if (!events.length && r.created) return;
    try {
      w.onBatch({ revision: r.header?.revision ?? 0, events });
    } catch (err) {
      this.remove(r.watchId, true);
      w.reject(err as Error);
    }
  }

  private onEnd(err: Error | undefined): void {
    this.dead = true;
    this.failAll(err ?? new EtcdError("etcd watch: stream ended by the server", -1));
  }

  private failAll(err: Error): void {
    this.dead = true;
    const all = [...this.watchers.values()];
    this.watchers.clear();
    for (const w of all) {
      w.signal.removeEventListener("abort", w.onAbort);
      w.reject(err);
    }
  }
}
