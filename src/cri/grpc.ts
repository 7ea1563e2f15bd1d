// A unary gRPC client over node:http2 on a unix socket: enough of the gRPC-over-HTTP/2 protocol
// for CRI (no streaming, no compression, no TLS). One HTTP/2 session multiplexes concurrent
// calls; when the session dies (containerd restarted, socket closed) the next call reconnects.
import http2 from "node:http2";
import net from "node:net";
import { CriError, GRPC_DEADLINE_EXCEEDED, GRPC_UNAVAILABLE } from "./types.ts";

export const GRPC_CANCELLED = 1;
export const GRPC_UNKNOWN = 2;
export const GRPC_INTERNAL = 13;
export const GRPC_UNIMPLEMENTED = 12;

export interface GrpcClientOptions {
  /** Deadline used when a call does not give one. Default 2 minutes (the kubelet's CRI default). */
  defaultTimeoutMs?: number;
  /** Largest response message accepted. Default 16 MiB (containerd's send limit). */
  maxMessageBytes?: number;
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
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (body.length - pos < 5) throw new Error("truncated gRPC frame header");
    const flag = body[pos];
    const len = body.readUInt32BE(pos + 1);
    if (flag !== 0) throw new Error("compressed gRPC message, but no compression was negotiated");
    if (len > maxMessageBytes)
      throw new Error(`gRPC message of ${len} bytes exceeds the ${maxMessageBytes} byte limit`);
    if (body.length - pos - 5 < len) throw new Error("truncated gRPC message");
    out.push(body.subarray(pos + 5, pos + 5 + len));
    pos += 5 + len;
  }
  return out;
}

function headerString(v: string | string[] | number | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : String(v);
}

export class GrpcClient {
  readonly socketPath: string;
  private readonly defaultTimeoutMs: number;
  private readonly maxMessageBytes: number;
  private session: http2.ClientHttp2Session | undefined;
  private closed = false;

  constructor(socketPath: string, opts: GrpcClientOptions = {}) {
    this.socketPath = socketPath;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 120_000;
    this.maxMessageBytes = opts.maxMessageBytes ?? 16 * 1024 * 1024;
  }

  private getSession(): http2.ClientHttp2Session {
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return s;
    const session = http2.connect("http://localhost", {
      createConnection: () => net.connect(this.socketPath),
    });
    // The session alone must not keep the process alive; each call's deadline timer does.
    session.unref();
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

  /**
   * Calls `path` (e.g. "/runtime.v1.RuntimeService/Version") with an encoded request and
   * resolves with the encoded response. Failures reject with CriError (gRPC status code).
   */
  unary(path: string, request: Buffer, timeoutMs = this.defaultTimeoutMs): Promise<Buffer> {
    const method = path.slice(path.lastIndexOf("/") + 1) || path;
    if (this.closed) return Promise.reject(new CriError(method, GRPC_UNAVAILABLE, "client is closed"));
    return new Promise<Buffer>((resolve, reject) => {
      let settled = false;
      let stream: http2.ClientHttp2Stream | undefined;
      const finish = (err: CriError | undefined, value?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value as Buffer);
      };
      const timer = setTimeout(() => {
        finish(new CriError(method, GRPC_DEADLINE_EXCEEDED, `deadline of ${timeoutMs} ms exceeded`));
        stream?.close(http2.constants.NGHTTP2_CANCEL);
      }, timeoutMs);

      try {
        stream = this.getSession().request({
          ":method": "POST",
          ":path": path,
          "content-type": "application/grpc",
          te: "trailers",
          "grpc-timeout": formatGrpcTimeout(timeoutMs),
          "grpc-accept-encoding": "identity",
          "user-agent": "raven-cri/1",
        });
      } catch (e) {
        finish(
          new CriError(
            method,
            GRPC_UNAVAILABLE,
            `cannot connect to ${this.socketPath}: ${(e as Error).message}`,
          ),
        );
        return;
      }

      const chunks: Buffer[] = [];
      let size = 0;
      let httpStatus = 0;
      let grpcStatus: string | undefined;
      let grpcMessage = "";
      const takeStatus = (h: http2.IncomingHttpHeaders) => {
        const s = headerString(h["grpc-status"]);
        if (s !== undefined) {
          grpcStatus = s;
          grpcMessage = decodeGrpcMessage(headerString(h["grpc-message"]) ?? "");
        }
      };

      stream.on("response", (headers) => {
        httpStatus = Number(headers[":status"]);
        // Trailers-only responses (errors, typically) carry the status in the headers.
        takeStatus(headers);
      });
      stream.on("trailers", (trailers) => takeStatus(trailers));
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxMessageBytes + 5) {
          finish(new CriError(method, 8, `response exceeds ${this.maxMessageBytes} bytes`)); // RESOURCE_EXHAUSTED
          stream?.close(http2.constants.NGHTTP2_CANCEL);
          return;
        }
        chunks.push(chunk);
      });
      // A stream that ends before any response headers never reached a live server (socket
      // gone, session dying): UNAVAILABLE, as gRPC reports transport failures.
      stream.on("error", (e: NodeJS.ErrnoException) => {
        const code = httpStatus === 0 ? GRPC_UNAVAILABLE : GRPC_INTERNAL;
        finish(new CriError(method, code, `${e.message} (${this.socketPath})`));
      });
      stream.on("close", () => {
        if (settled) return;
        if (httpStatus !== 0 && httpStatus !== 200) {
          finish(new CriError(method, codeForHttpStatus(httpStatus), `HTTP status ${httpStatus}`));
          return;
        }
        if (grpcStatus === undefined) {
          const rst = stream?.rstCode ?? 0;
          const refused = httpStatus === 0 || rst === http2.constants.NGHTTP2_REFUSED_STREAM;
          const code = refused ? GRPC_UNAVAILABLE : GRPC_INTERNAL;
          finish(new CriError(method, code, `stream closed without a gRPC status (RST code ${rst})`));
          return;
        }
        const status = Number(grpcStatus);
        if (status !== 0) {
          finish(
            new CriError(
              method,
              Number.isInteger(status) ? status : GRPC_UNKNOWN,
              grpcMessage || "no message",
            ),
          );
          return;
        }
        let messages: Buffer[];
        try {
          messages = parseFrames(Buffer.concat(chunks), this.maxMessageBytes);
        } catch (e) {
          finish(new CriError(method, GRPC_INTERNAL, (e as Error).message));
          return;
        }
        if (messages.length !== 1) {
          finish(
            new CriError(method, GRPC_INTERNAL, `expected one response message, got ${messages.length}`),
          );
          return;
        }
        finish(undefined, messages[0]);
      });
      stream.end(frameMessage(request));
    });
  }

  /** Closes the session; calls in flight are failed, later calls reject. */
  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }
}
