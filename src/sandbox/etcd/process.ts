// Runs Debian's etcd-server as a child process with its data dir under the sandbox dir. It serves
// TLS only, on loopback, and only to clients with a certificate from the sandbox CA (the API
// server's): a local user cannot read or write the cluster's data behind the API server.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import type { EtcdPki } from "../pki.ts";
import { EtcdClient, type EtcdClientOptions } from "./client.ts";

export interface EtcdProcessOptions {
  dataDir: string;
  logFile: string;
  clientPort: number;
  peerPort: number;
  /** How long to wait for the first healthy answer. */
  startTimeoutMs?: number;
  /** How often idle watches get a progress notification. Default 5 s. */
  progressNotifyIntervalMs?: number;
  /** Its certificates (pki.ts ensureEtcdPki). */
  pki: EtcdPki;
}

export interface RunningEtcd {
  endpoint: string;
  /** What a client needs to be let in. */
  tls: NonNullable<EtcdClientOptions["tls"]>;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startEtcd(opts: EtcdProcessOptions): Promise<RunningEtcd> {
  mkdirSync(opts.dataDir, { recursive: true });
  const endpoint = `https://127.0.0.1:${opts.clientPort}`;
  const peer = `https://127.0.0.1:${opts.peerPort}`;
  const { pki } = opts;
  const tls = { caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey };
  const log = openSync(opts.logFile, "a");
  const child = spawn(
    "etcd",
    [
      "--name=raven",
      `--data-dir=${join(opts.dataDir)}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=raven=${peer}`,
      "--initial-cluster-state=new",
      `--cert-file=${pki.serverCert}`,
      `--key-file=${pki.serverKey}`,
      `--trusted-ca-file=${pki.caCert}`,
      "--client-cert-auth",
      `--peer-cert-file=${pki.serverCert}`,
      `--peer-key-file=${pki.serverKey}`,
      `--peer-trusted-ca-file=${pki.caCert}`,
      "--peer-client-cert-auth",
      "--logger=zap",
      "--log-outputs=stderr",
      // The apiserver compacts history itself; keep etcd's own bounded as a safety net.
      "--auto-compaction-mode=periodic",
      "--auto-compaction-retention=10m",
      "--quota-backend-bytes=4294967296",
      `--experimental-watch-progress-notify-interval=${opts.progressNotifyIntervalMs ?? 5000}ms`,
    ],
    { stdio: ["ignore", log, log] },
  );
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
  });
  const client = new EtcdClient(endpoint, { tls });
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  try {
    for (;;) {
      if (exited) throw new Error(`etcd exited during start-up; see ${opts.logFile}`);
      try {
        await client.status();
        break;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`etcd not healthy after start-up timeout; see ${opts.logFile}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  } finally {
    await client.close();
  }
  return {
    endpoint,
    tls,
    child,
    async stop() {
      if (exited) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
