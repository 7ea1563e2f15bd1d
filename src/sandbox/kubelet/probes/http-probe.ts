// httpGet probe (pkg/probe/http): GET with the kubelet's headers, redirects followed only to the
// same host, at most 10 KiB of body read; 200-299 succeeds, 300-399 succeeds with a warning
// (a redirect the prober did not follow), anything else fails. The timeout covers the whole
// exchange (Go's http.Client.Timeout), and failure texts are Go's url.Error strings.
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { type Clock, deadlineSignal } from "../../../kube/clock.ts";
import { dialError, goQuote, isDialError, joinHostPort } from "./go-format.ts";
import { failure, MAX_OUTPUT_BYTES, ProbeError, type ProbeOutcome, success } from "./outcome.ts";

/** The kubelet's User-Agent: kube-probe/<major>.<minor> of the kubelet version we mimic. */
export const PROBE_USER_AGENT = "kube-probe/1.33";

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REQUESTS = 10;

export interface HttpProbeTarget {
  scheme: "http" | "https";
  host: string;
  port: number;
  /** As written in the probe (may be empty, relative, or carry a query). */
  path: string;
  headers: { name: string; value: string }[];
}

/** Go's url.String() of the probe URL, as printed in failure messages. */
export function probeUrl(t: HttpProbeTarget): string {
  const path = t.path === "" || t.path.startsWith("/") ? t.path : `/${t.path}`;
  return `${t.scheme}://${joinHostPort(t.host, t.port)}${path}`;
}

export async function httpProbe(
  target: HttpProbeTarget,
  timeoutMs: number,
  clock: Clock,
  signal?: AbortSignal,
): Promise<ProbeOutcome> {
  const deadline = deadlineSignal(clock, timeoutMs, signal);
  try {
    const first = probeUrl(target);
    const origin = new URL(first);
    let url = origin;
    let urlText = first;
    let requests = 0;
    let headers = requestHeaders(target.headers, joinHostPort(target.host, target.port));
    for (;;) {
      requests++;
      let res: http.IncomingMessage;
      try {
        res = await sendGet(url, headers, deadline.signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        const text = deadline.signal.aborted
          ? "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
          : requestErrorText(err, url);
        return failure(`Get ${goQuote(urlText)}: ${text}`);
      }
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (REDIRECT_STATUSES.has(status) && location) {
        let next: URL;
        try {
          next = new URL(location, url);
        } catch (err) {
          res.destroy();
          return failure(
            `Get ${goQuote(urlText)}: failed to parse Location header ${goQuote(location)}: ${(err as Error).message}`,
          );
        }
        // Another host: the response is the answer (http.ErrUseLastResponse), read below.
        if (next.hostname === origin.hostname) {
          res.destroy();
          if (next.protocol !== "http:" && next.protocol !== "https:") {
            return failure(
              `Get ${goQuote(location)}: unsupported protocol scheme ${goQuote(next.protocol.slice(0, -1))}`,
            );
          }
          if (requests >= MAX_REQUESTS)
            return failure(`Get ${goQuote(location)}: stopped after 10 redirects`);
          // A Host override only holds for the host it named; an absolute Location names its own.
          if (/^[a-z][a-z0-9+.-]*:/i.test(location)) headers = { ...headers, Host: [next.host] };
          url = next;
          urlText = next.href;
          continue;
        }
      }
      const body = await readAtMost(res, MAX_OUTPUT_BYTES, deadline.signal, signal);
      if (status >= 200 && status < 400) {
        if (status >= 300)
          return { result: "warning", output: `Probe terminated redirects, Response body: ${body}` };
        return success(body);
      }
      // Upstream keeps the body out of this message on purpose (kubernetes#99425).
      return failure(`HTTP probe failed with statuscode: ${status}`);
    }
  } finally {
    deadline.dispose();
  }
}

/** Header set of newProbeRequest: the probe's headers, then User-Agent and Accept unless given. */
function requestHeaders(list: { name: string; value: string }[], hostPort: string): Record<string, string[]> {
  const byKey = new Map<string, { name: string; values: string[] }>();
  for (const { name, value } of list) {
    const key = name.toLowerCase();
    const entry = byKey.get(key) ?? { name, values: [] };
    entry.values.push(value);
    byKey.set(key, entry);
  }
  if (!byKey.has("user-agent")) byKey.set("user-agent", { name: "User-Agent", values: [PROBE_USER_AGENT] });
  const accept = byKey.get("accept");
  if (!accept) byKey.set("accept", { name: "Accept", values: ["*/*"] });
  else if (accept.values[0] === "") byKey.delete("accept");
  const host = byKey.get("host");
  byKey.set("host", { name: "Host", values: [host?.values[0] ? host.values[0] : hostPort] });
  const out: Record<string, string[]> = {};
  for (const { name, values } of byKey.values()) out[name] = values;
  return out;
}

function sendGet(
  url: URL,
  headers: Record<string, string[]>,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const tls = url.protocol === "https:";
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const req = (tls ? https : http).request(
      {
        method: "GET",
        hostname,
        port: url.port || (tls ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        // Node folds a single-valued array into one header line anyway; Host must be a string.
        headers: Object.fromEntries(
          Object.entries(headers).map(([k, v]) => [k, k.toLowerCase() === "host" ? v[0] : v]),
        ),
        agent: false, // one connection per probe, closed after it (Go: DisableKeepAlives)
        signal,
        ...(tls ? { rejectUnauthorized: false } : {}),
      },
      resolve,
    );
    req.on("socket", (socket: Socket) => {
      socket.once("connect", () => {
        (req as RequestWithAddrs).addrs =
          `${socket.localAddress}:${socket.localPort}->${socket.remoteAddress}:${socket.remotePort}`;
      });
    });
    req.on("error", (err) => {
      (err as ErrorWithAddrs).addrs = (req as RequestWithAddrs).addrs;
      reject(err);
    });
    req.end();
  });
}

type RequestWithAddrs = http.ClientRequest & { addrs?: string };
type ErrorWithAddrs = Error & { addrs?: string };

/** Go's text for an error of http.Client.Do (after the `Get "url": ` prefix). */
function requestErrorText(err: unknown, url: URL): string {
  const e = err as NodeJS.ErrnoException & { addrs?: string };
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  if (isDialError(e)) return dialError(url.hostname.replace(/^\[(.*)\]$/, "$1"), port, e);
  if (e.message === "socket hang up") return "EOF";
  if (e.code === "ECONNRESET") return `read tcp ${e.addrs ?? "?"}: read: connection reset by peer`;
  if (e.code === "EPIPE") return `write tcp ${e.addrs ?? "?"}: write: broken pipe`;
  if (e.code?.startsWith("HPE_"))
    return "net/http: HTTP/1.x transport connection broken: malformed HTTP response";
  if (/wrong version number|packet length too long|http request/i.test(e.message)) {
    return "http: server gave HTTP response to HTTPS client";
  }
  return e.message;
}

/** utilio.ReadAtMost: up to `limit` bytes; more is cut off silently, read errors are errors. */
function readAtMost(
  res: http.IncomingMessage,
  limit: number,
  deadline: AbortSignal,
  parent: AbortSignal | undefined,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      deadline.removeEventListener("abort", onAbort);
      res.removeListener("data", onData);
      res.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).subarray(0, limit).toString("utf8"));
    };
    const onAbort = () =>
      finish(
        parent?.aborted
          ? new ProbeError("probe cancelled")
          : new ProbeError(
              "context deadline exceeded (Client.Timeout or context cancellation while reading body)",
              "failure",
            ),
      );
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) finish();
    };
    if (deadline.aborted) return onAbort();
    deadline.addEventListener("abort", onAbort, { once: true });
    res.on("data", onData);
    res.once("end", () => finish());
    res.once("error", (err) =>
      finish(new ProbeError(err.message === "aborted" ? "unexpected EOF" : err.message, "failure")),
    );
    // A connection closed mid-body without an error event: Go's reader sees an unexpected EOF.
    res.once("close", () => finish(res.complete ? undefined : new ProbeError("unexpected EOF", "failure")));
  });
}
