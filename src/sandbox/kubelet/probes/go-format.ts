// The real kubelet's probe messages are Go error strings (net.OpError, url.Error, %q quoting);
// `kubectl describe` readers and the seeds expect them verbatim, so Node's errors are rewritten
// into the shapes Go prints.

/** Go's strconv.Quote (%q) for the strings probes deal with: JSON's escaping is the same for them. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** net.JoinHostPort: IPv6 literals get brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The text after "dial tcp ADDR: " for a failed connect, as Go's syscall errors read. */
const DIAL_ERRNO: Record<string, string> = {
  ECONNREFUSED: "connect: connection refused",
  EHOSTUNREACH: "connect: no route to host",
  ENETUNREACH: "connect: network is unreachable",
  EADDRNOTAVAIL: "connect: cannot assign requested address",
  EACCES: "connect: permission denied",
  EPERM: "connect: operation not permitted",
  EINVAL: "connect: invalid argument",
  ETIMEDOUT: "connect: connection timed out",
  ECONNRESET: "connect: connection reset by peer",
};

/** Go's message for a TCP dial that failed: `dial tcp 10.244.1.5:8081: connect: connection refused`. */
export function dialError(host: string, port: number, err: unknown): string {
  const e = err as NodeJS.ErrnoException & { hostname?: string; address?: string };
  if (e?.code === "ENOTFOUND" || e?.code === "EAI_AGAIN")
    return `dial tcp: lookup ${e.hostname ?? host}: no such host`;
  const addr = joinHostPort(e?.address ?? host, port);
  const text = (e?.code && DIAL_ERRNO[e.code]) ?? e?.message ?? String(err);
  return `dial tcp ${addr}: ${text}`;
}

export function dialTimeout(host: string, port: number): string {
  return `dial tcp ${joinHostPort(host, port)}: i/o timeout`;
}

/** Whether a socket error happened while connecting (as opposed to reading or writing). */
export function isDialError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  return e?.syscall === "connect" || e?.code === "ENOTFOUND" || e?.code === "EAI_AGAIN";
}

/** Go's time.Duration String() for whole seconds: 1s, 1m0s, 1h0m0s. */
export function goSeconds(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

const GRPC_CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

/** grpc-go's status error text: `rpc error: code = NotFound desc = ...`. */
export function grpcErrorText(code: number, desc: string): string {
  return `rpc error: code = ${GRPC_CODE_NAMES[code] ?? `Code(${code})`} desc = ${desc}`;
}
