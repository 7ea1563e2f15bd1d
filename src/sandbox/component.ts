// One supervised child process of the sandbox: started with its output appended to a log file,
// restarted with a doubling back-off when it dies, stopped with SIGTERM then SIGKILL.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { Logger } from "pino";

export interface Command {
  cmd: string;
  args: string[];
  /** Set in the child's environment on top of ours. */
  env?: Record<string, string>;
}

/** Our children need no extra CA bundle; loading the machine's costs every Node start ~70 ms. */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

export class Component {
  readonly name: string;
  private readonly command: Command;
  private readonly logFile: string;
  private readonly log: Logger;
  child?: ChildProcess;
  private stopping = false;
  private restarts = 0;
  private startedAt = 0;
  /** Called with each new child's PID (first start and restarts). */
  onStart?: (pid: number) => void;

  constructor(name: string, command: Command, logFile: string, log: Logger) {
    this.name = name;
    this.command = command;
    this.logFile = logFile;
    this.log = log;
  }

  start(): void {
    const fd = openSync(this.logFile, "a");
    this.startedAt = Date.now();
    const child = spawn(this.command.cmd, this.command.args, {
      stdio: ["ignore", fd, fd],
      env: { ...childEnv(), ...this.command.env },
    });
    closeSync(fd);
    this.child = child;
    child.once("error", (err) => this.log.error({ component: this.name, err }, "component failed to start"));
    if (child.pid) this.onStart?.(child.pid);
    child.once("exit", (code, signal) => {
      if (this.stopping) return;
      // Crash-looping components back off like a kubelet would.
      if (Date.now() - this.startedAt > 60_000) this.restarts = 0;
      const delay = Math.min(500 * 2 ** this.restarts++, 30_000);
      this.log.warn({ component: this.name, code, signal, delay }, "component exited; restarting");
      setTimeout(() => !this.stopping && this.start(), delay);
    });
  }

  get alive(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    c.kill("SIGTERM");
    const t = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(t);
  }
}
