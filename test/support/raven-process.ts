// raven-controller as a child process of a test: started with `bin/raven controller` against a
// sandbox started with `ravenController: false`, its JSON log lines collected, its /metrics
// read, and killed by PID (never by name). `stopAll()` ends every process a test started, for
// its `after` hook.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Sandbox } from "./sandbox.ts";

const RAVEN = fileURLToPath(new URL("../../bin/raven", import.meta.url));

export interface LogLine {
  /** pino's `time` (ms since the epoch, when the process logged it). */
  time: number;
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface RavenProcess {
  readonly name: string;
  readonly pid: number;
  readonly lines: LogLine[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** The first log line (already seen or still to come) matching `pred`. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs: number, what?: string): Promise<LogLine>;
  /** The /healthz, /readyz and /metrics address, once the process has logged it. */
  listen(timeoutMs?: number): Promise<string>;
  /** GET /metrics (text). */
  metrics(): Promise<string>;
  /** Sends a signal (by PID) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<RavenProcess>();

/**
 * Starts `raven controller` with the sandbox's raven-controller kubeconfig, a free port for
 * /metrics and `args` (e.g. `--no-leader-elect`, or `--identity a --lease-duration 6`).
 */
export function startRaven(
  sb: Sandbox,
  name: string,
  args: string[],
  opts: { logLevel?: "info" | "debug"; env?: Record<string, string> } = {},
): RavenProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  delete env.NODE_EXTRA_CA_CERTS;
  // Tests wait for info lines ("caches synced", "started leading").
  env.RAVEN_LOG_LEVEL = opts.logLevel ?? "info";
  const child: ChildProcess = spawn(
    RAVEN,
    [
      "controller",
      "--kubeconfig",
      join(sb.dir, "raven-controller.kubeconfig"),
      "--listen",
      "127.0.0.1:0",
      ...args,
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  if (!child.pid) throw new Error(`could not start raven controller (${name})`);
  const pid = child.pid;
  mkdirSync(join(sb.dir, "logs"), { recursive: true });
  const file: WriteStream = createWriteStream(join(sb.dir, "logs", `test-raven-${name}.log`));
  const lines: LogLine[] = [];
  const waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let exitedFlag = false;
  let rest = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    file.write(chunk);
    rest += chunk;
    const parts = rest.split("\n");
    rest = parts.pop() ?? "";
    for (const raw of parts) {
      if (!raw.trim()) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw);
      } catch {
        line = { time: Date.now(), level: 50, msg: raw };
      }
      lines.push(line);
      for (const w of [...waiters])
        if (w.pred(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
    }
  });
  child.stdout!.on("data", (chunk) => file.write(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      exitedFlag = true;
      running.delete(proc);
      resolve({ code, signal });
    };
    child.once("exit", done);
    child.once("error", (err) => {
      lines.push({ time: Date.now(), level: 60, msg: `spawn failed: ${err}` });
      done(null, null);
    });
  }).finally(() => new Promise<void>((r) => file.end(() => r())));

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs: number, what = "a log line") => {
    const seen = lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const w = {
        pred,
        resolve: (l: LogLine) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`raven controller ${name} (pid ${pid}): timed out waiting for ${what}`));
      }, timeoutMs);
      waiters.add(w);
    });
  };
  let address: string | undefined;
  const listen = async (timeoutMs = 30_000) => {
    address ??= String(
      (await waitForLog((l) => typeof l.listen === "string", timeoutMs, "the /metrics address")).listen,
    );
    return address;
  };
  const proc: RavenProcess = {
    name,
    pid,
    lines,
    exited,
    alive: () => !exitedFlag,
    waitForLog,
    listen,
    async metrics() {
      const res = await fetch(`http://${await listen()}/metrics`);
      if (!res.ok) throw new Error(`GET /metrics of ${name}: ${res.status}`);
      return res.text();
    },
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (!exitedFlag) {
        try {
          process.kill(pid, signal);
        } catch {
          // Exited in the meantime.
        }
      }
      await exited;
    },
  };
  running.add(proc);
  return proc;
}

/** SIGKILLs (by PID) every raven controller this test process started that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill("SIGKILL")));
}

/** The sum of a metric's samples in Prometheus text (0 when it has none). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = m[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
