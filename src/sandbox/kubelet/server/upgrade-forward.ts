// Pass-through of an HTTP upgrade (WebSocket or SPDY/3.1 for exec, attach and port-forward):
// the client's request is re-sent to the backend with the client's headers (repeated ones such
// as X-Stream-Protocol-Version kept as separate lines), then both sockets are spliced. The
// backend's answer is not interpreted: a 101 starts the stream, anything else (kubectl 1.33
// falls back from WebSocket to SPDY on a non-101) reaches the client unchanged.
import type { IncomingMessage } from "node:http";
import { connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";

export interface UpgradeBackend {
  /** http(s) URL of the backend: its path and query replace the client's. */
  url: URL;
  /** TLS options for an https URL (CA, client identity). */
  tls?: ConnectionOptions;
  /** Headers to set (replacing the client's of the same name), e.g. Authorization. */
  setHeaders?: Record<string, string>;
  /** Client headers not to pass on (lower case); Host and Authorization never pass. */
  dropHeaders?: string[];
  /** Connect timeout in ms (default 10 s). */
  timeoutMs?: number;
}

/** Hop-by-hop or identity headers that must not reach the backend as the client sent them. */
const ALWAYS_DROPPED = ["host", "authorization", "content-length", "transfer-encoding"];

/** The request head sent to the backend. */
export function upgradeRequestHead(req: IncomingMessage, backend: UpgradeBackend): string {
  const { url } = backend;
  const drop = new Set([...ALWAYS_DROPPED, ...(backend.dropHeaders ?? [])]);
  for (const name of Object.keys(backend.setHeaders ?? {})) drop.add(name.toLowerCase());
  const lines = [`${req.method ?? "GET"} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (drop.has(raw[i].toLowerCase())) continue;
    lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  for (const [name, value] of Object.entries(backend.setHeaders ?? {})) lines.push(`${name}: ${value}`);
  // The SPDY upgrade is a POST without a body; say so, so no server waits for one.
  if (req.method === "POST") lines.push("Content-Length: 0");
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/**
 * Connects to the backend, sends the upgrade request and `head` (bytes the client sent after
 * its headers), then splices the sockets until either side closes. Resolves once connected;
 * rejects, without touching the client socket, when the backend cannot be reached.
 */
export function forwardUpgrade(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  backend: UpgradeBackend,
): Promise<void> {
  const { url } = backend;
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve, reject) => {
    const upstream: Socket =
      url.protocol === "https:" ? tlsConnect({ ...backend.tls, host, port }) : netConnect({ host, port });
    const connectEvent = url.protocol === "https:" ? "secureConnect" : "connect";
    let connected = false;
    const timer = setTimeout(
      () => upstream.destroy(new Error(`timed out connecting to ${url.host}`)),
      backend.timeoutMs ?? 10_000,
    );
    const clientGone = () => upstream.destroy();
    client.once("close", clientGone);
    upstream.once("error", (err) => {
      clearTimeout(timer);
      if (!connected) {
        client.off("close", clientGone);
        reject(err);
      } else client.destroy();
    });
    upstream.once(connectEvent, () => {
      connected = true;
      clearTimeout(timer);
      upstream.setNoDelay(true);
      if ("setNoDelay" in client) (client as Socket).setNoDelay(true);
      if ("setTimeout" in client) (client as Socket).setTimeout(0);
      upstream.write(upgradeRequestHead(req, backend));
      if (head.length) upstream.write(head);
      splice(client, upstream);
      resolve();
    });
  });
}

/**
 * Pipes both ways; an end is passed on, and when one side is gone the other is closed too,
 * after what was already written to it (e.g. a final error answer) has been flushed.
 */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  a.on("error", () => b.destroy());
  b.on("error", () => a.destroy());
  a.once("close", () => closeAfterFlush(b));
  b.once("close", () => closeAfterFlush(a));
}

function closeAfterFlush(s: Duplex): void {
  if (s.destroyed) return;
  if (s.writableFinished) return void s.destroy();
  s.once("finish", () => s.destroy());
  s.end();
  setTimeout(() => s.destroy(), 5_000).unref();
}

/** A plain HTTP error answer on a socket that asked for an upgrade. */
export function writeUpgradeError(
  socket: Duplex,
  code: number,
  message: string,
  contentType = "text/plain; charset=utf-8",
): void {
  const reason = STATUS_TEXT[code] ?? "Error";
  const body = Buffer.from(message);
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};
