// Runs Debian's etcd-server as a child process with its data dir under the sandbox dir.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { EtcdClient } from "./client.ts";

export interface EtcdProcessOptions {
  dataDir: string;
  logFile: string;
  clientPort: number;
  peerPort: number;
  /** How long to wait for the first healthy answer. */
  startTimeoutMs?: number;
  /** How often idle watches get a progress notification. Default 5 s. */
  progressNotifyIntervalMs?: number;
}

export interface RunningEtcd {
  endpoint: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startEtcd(opts: EtcdProcessOptions): Promise<RunningEtcd> {
  mkdirSync(opts.dataDir, { recursive: true });
  const endpoint = `http://127.0.0.1:${opts.clientPort}`;
  const peer = `http://127.0.0.1:${opts.peerPort}`;
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
  const client = new EtcdClient(endpoint);
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
