// Test helpers for the streaming path: a fake CRI streaming server (answers upgrades the way
// containerd 1.6 does: 101 for SPDY and WebSocket v4, 403 for WebSocket v5, then echoes
// bytes) and a raw upgrade client that reads the answer head and keeps the socket.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";

export interface SeenUpgrade {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  streamProtocols: string[];
}

export interface FakeStreamingServer {
  port: number;
  seen: SeenUpgrade[];
  close(): Promise<void>;
}

export async function startFakeStreamingServer(): Promise<FakeStreamingServer> {
  const seen: SeenUpgrade[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(400).end("upgrade required"));
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const streamProtocols = req.headersDistinct["x-stream-protocol-version"] ?? [];
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, streamProtocols });
    const ws = req.headers["sec-websocket-protocol"];
    if (ws !== undefined && !ws.split(",").some((p) => p.trim() === "v4.channel.k8s.io")) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    const proto = ws
      ? `Sec-WebSocket-Protocol: v4.channel.k8s.io`
      : `X-Stream-Protocol-Version: ${streamProtocols[0] ?? ""}`;
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n${proto}\r\n\r\n`,
    );
    if (head.length) socket.write(head);
    socket.pipe(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface UpgradeAnswer {
  status: number;
  headers: Record<string, string>;
  /** Bytes after the answer head (a body, or the first stream bytes). */
  rest: Buffer;
  socket: Socket;
}

/** Sends a raw upgrade request and reads the answer's head; the socket stays open. */
export async function rawUpgrade(
  target: { host: string; port: number; ca?: string | Buffer; tls?: boolean },
  method: string,
  path: string,
  headers: [string, string][],
): Promise<UpgradeAnswer> {
  const socket: Socket =
    target.tls === false
      ? netConnect({ host: target.host, port: target.port })
      : tlsConnect({ host: target.host, port: target.port, ca: target.ca });
  await once(socket, target.tls === false ? "connect" : "secureConnect");
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${target.host}:${target.port}`,
    ...headers.map(([k, v]) => `${k}: ${v}`),
  ];
  socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  for (;;) {
    const end = buf.indexOf("\r\n\r\n");
    if (end >= 0) {
      const head = buf.subarray(0, end).toString().split("\r\n");
      const status = Number(head[0].split(" ")[1]);
      const hs: Record<string, string> = {};
      for (const l of head.slice(1)) {
        const i = l.indexOf(":");
        hs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      return { status, headers: hs, rest: buf.subarray(end + 4), socket };
    }
    const chunk = await new Promise<Buffer>((resolve, reject) => {
      const onData = (d: Buffer) => {
        cleanup();
        resolve(d);
      };
      const onEnd = () => {
        cleanup();
        reject(new Error(`connection closed before an answer: ${JSON.stringify(buf.toString())}`));
      };
      const cleanup = () => {
        socket.off("data", onData);
        socket.off("end", onEnd);
        socket.off("error", onEnd);
      };
      socket.on("data", onData);
      socket.once("end", onEnd);
      socket.once("error", onEnd);
    });
    buf = Buffer.concat([buf, chunk]);
  }
}

/** Reads from the socket until `n` bytes (counting `already`) have arrived. */
export async function readBytes(
  socket: Socket,
  n: number,
  already: Buffer = Buffer.alloc(0),
): Promise<Buffer> {
  let buf: Buffer = already;
  while (buf.length < n) {
    const [d] = (await once(socket, "data")) as [Buffer];
    buf = Buffer.concat([buf, d]);
  }
  return buf;
}

/** Reads everything until the peer closes. */
export async function readToEnd(socket: Socket, already: Buffer = Buffer.alloc(0)): Promise<string> {
  const chunks: Buffer[] = [already];
  socket.on("data", (d: Buffer) => chunks.push(d));
  await once(socket, "close");
  return Buffer.concat(chunks).toString();
}
