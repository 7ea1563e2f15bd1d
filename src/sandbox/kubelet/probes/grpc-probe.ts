// grpc probe (pkg/probe/grpc): the standard health check, grpc.health.v1.Health/Check, over
// plaintext HTTP/2 to the pod IP; SERVING succeeds. Spoken with node:http2 and a hand-written
// encoding of its two tiny messages (HealthCheckRequest{service=1}, HealthCheckResponse{status=1}).
import http2 from "node:http2";
import { type Clock, deadlineSignal } from "../../../kube/clock.ts";
import { goQuote, goSeconds, grpcErrorText, joinHostPort } from "./go-format.ts";
import { PROBE_USER_AGENT } from "./http-probe.ts";
import { failure, type ProbeOutcome, success } from "./outcome.ts";

const SERVING_STATUS_NAMES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
const GRPC_UNIMPLEMENTED = 12;
const GRPC_DEADLINE_EXCEEDED = 4;

export function grpcProbe(
  host: string,
  port: number,
  service: string,
  timeoutSeconds: number,
  clock: Clock,
  signal?: AbortSignal,
): Promise<ProbeOutcome> {
  const addr = joinHostPort(host, port);
  const within = goSeconds(timeoutSeconds);
  const connectFailed = () =>
    failure(
      `timeout: failed to connect service ${goQuote(addr)} within ${within}: context deadline exceeded`,
    );
  const deadline = deadlineSignal(clock, timeoutSeconds * 1000, signal);
  return new Promise<ProbeOutcome>((resolve) => {
    let connected = false;
    let settled = false;
    const session = http2.connect(`http://${addr}`);
    const done = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      deadline.signal.removeEventListener("abort", onAbort);
      deadline.dispose();
      session.destroy();
      resolve(outcome);
    };
    const onAbort = () =>
      done(connected ? failure(`timeout: health rpc did not complete within ${within}`) : connectFailed());
    if (deadline.signal.aborted) return onAbort();
    deadline.signal.addEventListener("abort", onAbort, { once: true });
    // grpc-go (WithBlock) keeps redialling until the deadline and then reports this same text.
    session.on("error", () =>
      done(connected ? failure("error: health rpc probe failed: connection closed") : connectFailed()),
    );
    session.once("connect", () => {
      connected = true;
      const req = session.request({
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Check",
        "content-type": "application/grpc",
        te: "trailers",
        "user-agent": PROBE_USER_AGENT,
        "grpc-timeout": `${timeoutSeconds * 1000}m`,
      });
      const chunks: Buffer[] = [];
      let grpcStatus: number | undefined;
      let grpcMessage = "";
      const takeStatus = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) {
          grpcStatus = Number(h["grpc-status"]);
          grpcMessage = decodeURIComponent(String(h["grpc-message"] ?? ""));
        }
      };
      req.on("response", takeStatus);
      req.on("trailers", takeStatus);
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("error", (err) => done(failure(`error: health rpc probe failed: ${err.message}`)));
      req.on("end", () => done(checkOutcome(grpcStatus, grpcMessage, Buffer.concat(chunks), within)));
      req.end(frame(service));
    });
  });
}

function checkOutcome(code: number | undefined, message: string, body: Buffer, within: string): ProbeOutcome {
  if (code === undefined) return failure("error: health rpc probe failed: missing grpc-status");
  if (code === GRPC_UNIMPLEMENTED) {
    return failure(
      `this server doesn't implement the grpc health protocol (grpc.health.v1.Health): ${message}`,
    );
  }
  if (code === GRPC_DEADLINE_EXCEEDED)
    return failure(`timeout: health rpc did not complete within ${within}`);
  if (code !== 0) return failure(`error: health rpc probe failed: ${grpcErrorText(code, message)}`);
  const status = servingStatus(body);
  if (status !== 1)
    return failure(
      `service unhealthy (responded with ${goQuote(SERVING_STATUS_NAMES[status] ?? String(status))})`,
    );
  return success("service healthy");
}

/** One length-prefixed gRPC message holding HealthCheckRequest{service}. */
function frame(service: string): Buffer {
  const s = Buffer.from(service, "utf8");
  const msg = s.length ? Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]) : Buffer.alloc(0);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** HealthCheckResponse.status (field 1, varint) from the first gRPC message; 0 when absent. */
function servingStatus(body: Buffer): number {
  if (body.length < 5) return 0;
  const len = body.readUInt32BE(1);
  const msg = body.subarray(5, 5 + len);
  let i = 0;
  let status = 0;
  while (i < msg.length) {
    const [key, afterKey] = readVarint(msg, i);
    i = afterKey;
    const wire = key & 7;
    if (wire === 0) {
      const [v, next] = readVarint(msg, i);
      if (key >>> 3 === 1) status = v;
      i = next;
    } else if (wire === 2) {
      const [n, next] = readVarint(msg, i);
      i = next + n;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else break;
  }
  return status;
}

function readVarint(b: Buffer, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  let i = at;
  while (i < b.length) {
    const byte = b[i++];
    v += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return [v, i];
}
