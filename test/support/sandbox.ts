// Test harness: a real sandbox (etcd, API server, controller-manager) in a temporary dir,
// the real kubectl against it, and clean-up that runs even when a test fails.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeClient } from "../../src/kube/client.ts";
import { SharedInformerFactory } from "../../src/kube/informer-factory.ts";
import { silentLogger } from "../../src/kube/log.ts";
import {
  type Controller,
  type ControllerContext,
  makeRecorders,
} from "../../src/sandbox/controllers/context.ts";
import { createLogger } from "../../src/util/log.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RAVEN = join(ROOT, "bin", "raven");
export const KUBECTL = (version: "1.33" | "1.27" = "1.33") =>
  `/usr/lib/google-cloud-sdk/bin/kubectl.${version}`;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === "number" ? (err as any).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export interface Sandbox {
  dir: string;
  kubeconfig: string;
  client: KubeClient;
  /** Runs the real kubectl (1.33 by default) against the sandbox, with a private HOME. */
  kubectl(
    args: string[],
    opts?: { version?: "1.33" | "1.27"; input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
  ): Promise<RunResult>;
  /** The warnings and errors Raven's processes logged (the last `max` lines): for a failure's message. */
  ravenWarnings(max?: number): string;
  stop(): Promise<void>;
}

/** A sandbox for a test; without `backend`, no raven-controller runs (tests of the cluster itself). */
export async function startSandbox(
  opts: {
    virtualNodes?: number;
    /** Nodes that run real containers (containerd + kubelet); 0 unless a test needs them. */
    nodes?: number;
    controllers?: string;
    backend?: "embedded" | "neutron" | "none";
    /** With a backend: false leaves raven-controller to the test. */
    ravenController?: boolean;
    audit?: boolean;
    /** Extra `raven sandbox up` arguments. */
    args?: string[];
  } = {},
): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), "raven-test-"));
  const home = join(dir, "home");
  const up = await run(
    RAVEN,
    [
      "sandbox",
      "up",
      "--detach",
      "--dir",
      dir,
      "--virtual-nodes",
      String(opts.virtualNodes ?? 0),
      "--nodes",
      String(opts.nodes ?? 0),
      "--controllers",
      opts.controllers ?? "*",
      "--backend",
      opts.backend ?? "none",
      ...(opts.ravenController === false ? ["--no-raven-controller"] : []),
      ...(opts.audit ? ["--audit"] : []),
      ...(opts.args ?? []),
    ],
    { timeoutMs: 120_000 },
  );
  const stop = async () => {
    // RAVEN_TEST_LOGS=DIR keeps each sandbox's logs there (to read after a failure).
    if (process.env.RAVEN_TEST_LOGS) {
      cpSync(join(dir, "logs"), join(process.env.RAVEN_TEST_LOGS, basename(dir)), { recursive: true });
      if (existsSync(join(dir, "openstack", "logs")))
        cpSync(
          join(dir, "openstack", "logs"),
          join(process.env.RAVEN_TEST_LOGS, basename(dir), "openstack"),
          {
            recursive: true,
          },
        );
    }
    await run(RAVEN, ["sandbox", "down", "--dir", dir], { timeoutMs: 120_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  if (up.code !== 0) {
    await stop();
    throw new Error(`sandbox up failed (${up.code}): ${up.stderr}${up.stdout}`);
  }
  const kubeconfig = join(dir, "kubeconfig");
  const client = await KubeClient.fromKubeConfig({ path: kubeconfig });
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig, HOME: home };
  delete env.NODE_EXTRA_CA_CERTS;
  return {
    dir,
    kubeconfig,
    client,
    kubectl: (args, o = {}) =>
      run(KUBECTL(o.version), args, { env: { ...env, ...o.env }, input: o.input, timeoutMs: o.timeoutMs }),
    ravenWarnings: (max = 30) => ravenWarnings(join(dir, "logs"), max),
    stop: async () => {
      await client.close();
      await stop();
    },
  };
}

/** Runs controllers in this process against a sandbox; returns a function that stops them. */
export async function runControllers(sb: Sandbox, controllers: Controller[]): Promise<() => Promise<void>> {
  const abort = new AbortController();
  const log = createLogger("test-controllers", { level: process.env.RAVEN_LOG_LEVEL ?? "warn" });
  const informers = new SharedInformerFactory(sb.client, { logger: silentLogger });
  const recorders = makeRecorders(sb.client, log);
  const ctx: ControllerContext = {
    client: sb.client,
    informers,
    log,
    signal: abort.signal,
    recorder: recorders.recorder,
  };
  for (const c of controllers) c.setup(ctx);
  informers.start(abort.signal);
  await informers.waitForCacheSync(abort.signal);
  const running = Promise.all(controllers.map((c) => c.run(ctx)));
  return async () => {
    abort.abort();
    await running;
    await recorders.close();
  };
}

/** Polls `fn` until it returns a truthy value (returned) or the timeout passes (throws with the last value). */
export async function eventually<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 20_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; last value: ${JSON.stringify(last)}${lastErr ? `; last error: ${lastErr}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The lines of level warn (40) and above in a sandbox's raven-* logs (pino JSON), each file's last `max`. */
function ravenWarnings(logs: string, max: number): string {
  if (!existsSync(logs)) return "";
  return readdirSync(logs)
    .filter((f) => f.startsWith("raven-") && f.endsWith(".log"))
    .flatMap((f) => {
      const lines = readFileSync(join(logs, f), "utf8")
        .split("\n")
        .filter((l) => /"level":(4|5|6)\d/.test(l));
      return lines.length ? [`${f}:`, ...lines.slice(-max).map((l) => `  ${l.slice(0, 400)}`)] : [];
    })
    .join("\n");
}
