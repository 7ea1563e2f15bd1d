// Test support only: local servers standing in for a pod on 127.0.0.1, and a RuntimeService
// whose ExecSync is scripted. Production code never imports this file.
import http from "node:http";
import net from "node:net";
import type { ExecSyncResponse, RuntimeService } from "../../../cri/types.ts";

export interface TestServer {
  port: number;
  /** Requests (or connections, for TCP) received so far. */
  hits: () => number;
  close: () => Promise<void>;
}

export async function httpServer(handler: http.RequestListener): Promise<TestServer> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    hits: () => hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function tcpServer(): Promise<TestServer> {
  let hits = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    hits++;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    hits: () => hits,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export type ExecScript = (containerId: string, cmd: string[], timeout: number) => Promise<ExecSyncResponse>;

/** A RuntimeService that only answers ExecSync, through `script`, and logs each call. */
export function fakeRuntime(script: ExecScript): {
  runtime: RuntimeService;
  calls: { containerId: string; cmd: string[]; timeout: number }[];
} {
  const calls: { containerId: string; cmd: string[]; timeout: number }[] = [];
  const runtime = new Proxy({} as RuntimeService, {
    get(_t, prop) {
      if (prop === "execSync") {
        return (containerId: string, cmd: string[], timeout: number) => {
          calls.push({ containerId, cmd, timeout });
          return script(containerId, cmd, timeout);
        };
      }
      if (prop === "then") return undefined;
      return () => Promise.reject(new Error(`fake runtime: ${String(prop)} is not scripted`));
    },
  });
  return { runtime, calls };
}

export const execResult = (exitCode: number, stdout = "", stderr = ""): ExecSyncResponse => ({
  exitCode,
  stdout: Buffer.from(stdout),
  stderr: Buffer.from(stderr),
});
