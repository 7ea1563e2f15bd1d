// A gRPC client over node:http2: unary calls and bidirectional streams, enough of the
// gRPC-over-HTTP/2 protocol for CRI (unix socket) and etcd (plaintext h2c over TCP). No
// compression, no TLS. One HTTP/2 session multiplexes every call; when it dies (server
// restarted, socket closed) the next call reconnects.
import http2 from "node:http2";
import net from "node:net";

export const GRPC_OK = 0;
export const GRPC_CANCELLED = 1;
export const GRPC_UNKNOWN = 2;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_UNIMPLEMENTED = 12;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAVAILABLE = 14;

/** A failed call: the gRPC status code and message. */
export class GrpcError extends Error {
  readonly code: number;
  readonly method: string;
  constructor(method: string, code: number, message: string) {
    super(`${method}: ${message} (grpc status ${code})`);
    this.name = "GrpcError";
    this.method = method;
    this.code = code;
  }
}

/** Builds the error a failed call rejects with, so each API can keep its own error class. */
export type GrpcErrorFactory = (method: string, code: number, message: string) => Error;

export interface GrpcClientOptions {
  /** Deadline used when a unary call does not give one. Default 2 minutes (the kubelet's CRI default). */
  defaultTimeoutMs?: number;
  /** Largest response message accepted. Default 16 MiB (containerd's send limit). */
  maxMessageBytes?: number;
  /** Sent as user-agent when set (each header costs a little on every call). */
  userAgent?: string;
  makeError?: GrpcErrorFactory;
  /**
   * HTTP/2 receive window, per stream and for the session. Large windows let a server stream
   * big responses (etcd range pages, watch bursts) without waiting for WINDOW_UPDATEs.
   * Default: HTTP/2's 64 KiB.
   */
  receiveWindowBytes?: number;
  /** For an https:// target: the CA to trust and the client certificate to present. */
  tls?: { ca: Buffer | string; cert?: Buffer | string; key?: Buffer | string };
}

/** gRPC's mapping of HTTP statuses that are not 200 to status codes. */
function codeForHttpStatus(status: number): number {
  switch (status) {
    case 400:
      return GRPC_INTERNAL;
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_UNAVAILABLE;
    default:
      return GRPC_UNKNOWN;
  }
}

/** grpc-timeout: at most 8 digits and a unit. */
export function formatGrpcTimeout(ms: number): string {
  const v = Math.max(0, Math.ceil(ms));
  if (v < 1e8) return `${v}m`;
  return `${Math.min(99999999, Math.ceil(v / 1000))}S`;
}

/** grpc-message is percent-encoded UTF-8. */
export function decodeGrpcMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Wraps a message in gRPC's length-prefixed frame: flag 0 (uncompressed), 4-byte big-endian length. */
export function frameMessage(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** Splits a response body into messages; throws on compressed or truncated frames. */
export function parseFrames(body: Buffer, maxMessageBytes = Number.POSITIVE_INFINITY): Buffer[] {
  const decoder = new FrameDecoder(maxMessageBytes);
  const out = decoder.push(body);
  if (decoder.inMessage) throw new Error("truncated gRPC message");
  if (decoder.buffered > 0) throw new Error("truncated gRPC frame header");
  return out;
}

/**
 * Reassembles gRPC messages from a byte stream that arrives in arbitrary chunks. Chunks are
 * only concatenated once a whole message is there, so a large message costs one copy.
 */
export class FrameDecoder {
  private readonly maxMessageBytes: number;
  private chunks: Buffer[] = [];
  /** Bytes held in `chunks`. */
  buffered = 0;
  /** Length of the message being assembled (-1: header not read yet). */
  private need = -1;

  constructor(maxMessageBytes = Number.POSITIVE_INFINITY) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** True between a message's header and its last byte. */
  get inMessage(): boolean {
    return this.need >= 0;
  }

  /** Adds a chunk and returns the messages it completes. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 5) return out;
        const head = this.take(5);
        if (head[0] !== 0) throw new Error("compressed gRPC message, but no compression was negotiated");
        this.need = head.readUInt32BE(1);
        if (this.need > this.maxMessageBytes)
          throw new Error(
            `gRPC message of ${this.need} bytes exceeds the ${this.maxMessageBytes} byte limit`,
          );
      }
      if (this.buffered < this.need) return out;
      out.push(this.take(this.need));
      this.need = -1;
    }
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}

function headerString(v: string | string[] | number | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : String(v);
}

/** The gRPC status of a finished HTTP/2 stream, from its response headers and trailers. */
class CallStatus {
  httpStatus = 0;
  grpcStatus: string | undefined;
  grpcMessage = "";

  take(h: http2.IncomingHttpHeaders): void {
    const s = headerString(h["grpc-status"]);
    if (s !== undefined) {
      this.grpcStatus = s;
      this.grpcMessage = decodeGrpcMessage(headerString(h["grpc-message"]) ?? "");
    }
  }

  /** The [code, message] of a stream that closed; code 0 when the call succeeded. */
  outcome(stream: http2.ClientHttp2Stream): [number, string] {
    if (this.httpStatus !== 0 && this.httpStatus !== 200)
      return [codeForHttpStatus(this.httpStatus), `HTTP status ${this.httpStatus}`];
    if (this.grpcStatus === undefined) {
      // A stream that ends before any response headers never reached a live server (socket
      // gone, session dying): UNAVAILABLE, as gRPC reports transport failures.
      const rst = stream.rstCode ?? 0;
      const refused = this.httpStatus === 0 || rst === http2.constants.NGHTTP2_REFUSED_STREAM;
      return [
        refused ? GRPC_UNAVAILABLE : GRPC_INTERNAL,
        `stream closed without a gRPC status (RST code ${rst})`,
      ];
    }
    const status = Number(this.grpcStatus);
    if (status === GRPC_OK) return [GRPC_OK, ""];
    return [Number.isInteger(status) ? status : GRPC_UNKNOWN, this.grpcMessage || "no message"];
  }
}

export interface GrpcStreamHandlers {
  /** One decoded response message (raw protobuf). An exception thrown here fails the call. */
  onMessage(message: Buffer): void;
  /** Called once when the call is over: no error when the server ended it with status OK. */
  onEnd(err: Error | undefined): void;
}

/** The client's side of a bidirectional streaming call. */
export interface GrpcStream {
  /** Sends one request message. */
  write(message: Buffer): void;
  /** Half-closes: no more requests; the server may still answer and then end the call. */
  end(): void;
  /** Cancels the call (RST_STREAM CANCEL); onEnd then reports CANCELLED. */
  cancel(): void;
}

export class GrpcClient {
  /** "http://host:port" (TCP, h2c), "https://host:port" (TLS) or the path of a unix socket. */
  readonly target: string;
  private readonly defaultTimeoutMs: number;
  private readonly maxMessageBytes: number;
  private readonly userAgent: string | undefined;
  private readonly makeError: GrpcErrorFactory;
  private readonly receiveWindowBytes: number | undefined;
  private readonly tls: GrpcClientOptions["tls"];
  private session: http2.ClientHttp2Session | undefined;
  /** Open streaming calls: while there are any, the session keeps the process alive. */
  private openStreams = 0;
  private closed = false;

  constructor(target: string, opts: GrpcClientOptions = {}) {
    this.target = target;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 120_000;
    this.maxMessageBytes = opts.maxMessageBytes ?? 16 * 1024 * 1024;
    this.userAgent = opts.userAgent;
    this.makeError = opts.makeError ?? ((m, c, msg) => new GrpcError(m, c, msg));
    this.receiveWindowBytes = opts.receiveWindowBytes;
    this.tls = opts.tls;
  }

  private get isTcp(): boolean {
    return this.target.startsWith("http://") || this.target.startsWith("https://");
  }

  private getSession(): http2.ClientHttp2Session {
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return s;
    const window = this.receiveWindowBytes;
    const options: http2.ClientSessionOptions = {
      // Buffered response data counts against this; the default 10 MB refuses new streams
      // under a burst of large responses.
      maxSessionMemory: 256,
      ...(window ? { settings: { initialWindowSize: window } } : {}),
      ...(this.tls ? { ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key } : {}),
    };
    const session = this.isTcp
      ? http2.connect(this.target, options)
      : http2.connect("http://localhost", { ...options, createConnection: () => net.connect(this.target) });
    if (window) session.once("connect", () => session.setLocalWindowSize(window));
    // Unary calls keep the process alive through their deadline timers; the session itself
    // does so only while a streaming call is open.
    if (this.openStreams > 0) session.ref();
    else session.unref();
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on("close", forget);
    session.on("goaway", forget);
    // Errors surface on the streams using the session; without a listener they would crash.
    session.on("error", forget);
    this.session = session;
    return session;
  }

  private open(path: string, extra: http2.OutgoingHttpHeaders): http2.ClientHttp2Stream {
    return this.getSession().request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...(this.userAgent ? { "user-agent": this.userAgent } : {}),
      ...extra,
    });
  }

  /**
   * Calls `path` (e.g. "/runtime.v1.RuntimeService/Version") with an encoded request and
   * resolves with the encoded response. Failures reject with the client's error type.
   */
  unary(path: string, request: Buffer, timeoutMs = this.defaultTimeoutMs): Promise<Buffer> {
    const method = methodOf(path);
    if (this.closed) return Promise.reject(this.makeError(method, GRPC_UNAVAILABLE, "client is closed"));
    return new Promise<Buffer>((resolve, reject) => {
      let settled = false;
      let stream: http2.ClientHttp2Stream | undefined;
      const finish = (err: Error | undefined, value?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value as Buffer);
      };
      const timer = setTimeout(() => {
        finish(this.makeError(method, GRPC_DEADLINE_EXCEEDED, `deadline of ${timeoutMs} ms exceeded`));
        stream?.close(http2.constants.NGHTTP2_CANCEL);
      }, timeoutMs);

      try {
        stream = this.open(path, { "grpc-timeout": formatGrpcTimeout(timeoutMs) });
      } catch (e) {
        finish(
          this.makeError(
            method,
            GRPC_UNAVAILABLE,
            `cannot connect to ${this.target}: ${(e as Error).message}`,
          ),
        );
        return;
      }

      const chunks: Buffer[] = [];
      let size = 0;
      const status = new CallStatus();
      stream.on("response", (headers) => {
        status.httpStatus = Number(headers[":status"]);
        // Trailers-only responses (errors, typically) carry the status in the headers.
        status.take(headers);
      });
      stream.on("trailers", (trailers) => status.take(trailers));
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxMessageBytes + 5) {
          finish(
            this.makeError(method, GRPC_RESOURCE_EXHAUSTED, `response exceeds ${this.maxMessageBytes} bytes`),
          );
          stream?.close(http2.constants.NGHTTP2_CANCEL);
          return;
        }
        chunks.push(chunk);
      });
      stream.on("error", (e: NodeJS.ErrnoException) => {
        const code = status.httpStatus === 0 ? GRPC_UNAVAILABLE : GRPC_INTERNAL;
        finish(this.makeError(method, code, `${e.message} (${this.target})`));
      });
      stream.on("close", () => {
        if (settled || !stream) return;
        const [code, message] = status.outcome(stream);
        if (code !== GRPC_OK) {
          finish(this.makeError(method, code, message));
          return;
        }
        let messages: Buffer[];
        try {
          messages = parseFrames(
            chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
            this.maxMessageBytes,
          );
        } catch (e) {
          finish(this.makeError(method, GRPC_INTERNAL, (e as Error).message));
          return;
        }
        if (messages.length !== 1) {
          finish(
            this.makeError(method, GRPC_INTERNAL, `expected one response message, got ${messages.length}`),
          );
          return;
        }
        finish(undefined, messages[0]);
      });
      stream.end(frameMessage(request));
    });
  }

  /**
   * Opens a bidirectional streaming call (e.g. "/etcdserverpb.Watch/Watch"). It has no
   * deadline: it lasts until either side ends it, the session dies, or `cancel()`.
   */
  stream(path: string, handlers: GrpcStreamHandlers): GrpcStream {
    const method = methodOf(path);
    let ended = false;
    let cancelled = false;
    const end = (err: Error | undefined) => {
      if (ended) return;
      ended = true;
      handlers.onEnd(err);
    };
    if (this.closed) {
      queueMicrotask(() => end(this.makeError(method, GRPC_UNAVAILABLE, "client is closed")));
      return { write() {}, end() {}, cancel() {} };
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.open(path, {});
    } catch (e) {
      const err = this.makeError(
        method,
        GRPC_UNAVAILABLE,
        `cannot connect to ${this.target}: ${(e as Error).message}`,
      );
      queueMicrotask(() => end(err));
      return { write() {}, end() {}, cancel() {} };
    }
    this.openStreams++;
    this.session?.ref();

    const status = new CallStatus();
    const decoder = new FrameDecoder(this.maxMessageBytes);
    const abort = (err: Error) => {
      end(err);
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    stream.on("response", (headers) => {
      status.httpStatus = Number(headers[":status"]);
      status.take(headers);
    });
    stream.on("trailers", (trailers) => status.take(trailers));
    stream.on("data", (chunk: Buffer) => {
      if (ended) return;
      let messages: Buffer[];
      try {
        messages = decoder.push(chunk);
      } catch (e) {
        abort(this.makeError(method, GRPC_INTERNAL, (e as Error).message));
        return;
      }
      for (const message of messages) {
        try {
          handlers.onMessage(message);
        } catch (e) {
          abort(e as Error);
        }
        if (ended) return;
      }
    });
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (cancelled) return;
      const code = status.httpStatus === 0 ? GRPC_UNAVAILABLE : GRPC_INTERNAL;
      end(this.makeError(method, code, `${e.message} (${this.target})`));
    });
    stream.on("close", () => {
      this.openStreams--;
      if (this.openStreams === 0) this.session?.unref();
      if (cancelled) {
        end(this.makeError(method, GRPC_CANCELLED, "call cancelled by the client"));
        return;
      }
      const [code, message] = status.outcome(stream);
      end(code === GRPC_OK ? undefined : this.makeError(method, code, message));
    });
    return {
      write: (message: Buffer) => {
        if (!ended && stream.writable) stream.write(frameMessage(message));
      },
      end: () => {
        if (!ended && stream.writable) stream.end();
      },
      cancel: () => {
        if (ended) return;
        cancelled = true;
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  /** Closes the session at once; calls in flight are failed, later calls reject. */
  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }

  /** Refuses new calls, lets the calls in flight finish, then closes the session. */
  async closeGracefully(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (!session || session.closed || session.destroyed) return;
    await new Promise<void>((resolve) => session.close(() => resolve()));
  }
}

function methodOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1) || path;
}
