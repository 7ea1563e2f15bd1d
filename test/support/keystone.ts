// A real Keystone (Debian's keystone package) for tests: SQLite and Fernet keys in a temp dir,
// bootstrapped with an admin user, project and the identity endpoint, served on 127.0.0.1 by
// the package's own keystone-wsgi-public test server. Stopped by PID.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../src/util/ports.ts";
import { eventually } from "./sandbox.ts";

const run = promisify(execFile);

export interface Keystone {
  url: string;
  adminPassword: string;
  region: string;
  /** The openstack CLI as the admin (password auth). */
  osc(args: string[]): Promise<any>;
  stop(): Promise<void>;
}

export async function startKeystone(dir: string): Promise<Keystone> {
  mkdirSync(join(dir, "fernet-keys"), { recursive: true });
  mkdirSync(join(dir, "credential-keys"), { recursive: true });
  const conf = join(dir, "keystone.conf");
  writeFileSync(
    conf,
    `[DEFAULT]
log_file = ${join(dir, "keystone.log")}
use_stderr = false
[database]
connection = sqlite:///${join(dir, "keystone.sqlite")}
[token]
provider = fernet
[fernet_tokens]
key_repository = ${join(dir, "fernet-keys")}
[credential]
key_repository = ${join(dir, "credential-keys")}
`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/v3`;
  const adminPassword = "raven-test-secret";
  const region = "RegionOne";
  const manage = (args: string[]) =>
    run("/usr/bin/keystone-manage", ["--config-file", conf, ...args], { cwd: dir });
  await manage(["db_sync"]);
  await manage(["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"]);
  await manage(["credential_setup", "--keystone-user", "root", "--keystone-group", "root"]);
  await manage([
    "bootstrap",
    "--bootstrap-password",
    adminPassword,
    "--bootstrap-admin-url",
    url,
    "--bootstrap-public-url",
    url,
    "--bootstrap-internal-url",
    url,
    "--bootstrap-region-id",
    region,
  ]);
  const out = openSync(join(dir, "keystone.out"), "a");
  const child: ChildProcess = spawn(
    "/usr/bin/keystone-wsgi-public",
    ["--host", "127.0.0.1", "--port", String(port)],
    {
      stdio: ["ignore", out, out],
      env: { PATH: "/usr/bin:/bin", OS_KEYSTONE_CONFIG_FILES: conf },
      cwd: dir,
    },
  );
  closeSync(out);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`keystone exited (${child.exitCode}); see ${dir}/keystone.out`);
        const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
        await r.arrayBuffer();
        return r.ok;
      },
      60_000,
      "keystone answers",
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const env = {
    PATH: "/usr/bin:/bin",
    HOME: dir,
    OS_AUTH_URL: url,
    OS_USERNAME: "admin",
    OS_PASSWORD: adminPassword,
    OS_PROJECT_NAME: "admin",
    OS_USER_DOMAIN_NAME: "Default",
    OS_PROJECT_DOMAIN_NAME: "Default",
    OS_REGION_NAME: region,
    OS_IDENTITY_API_VERSION: "3",
  };
  return {
    url,
    adminPassword,
    region,
    osc: async (args) =>
      JSON.parse((await run("openstack", [...args, "-f", "json"], { env, cwd: dir })).stdout || "null"),
    stop,
  };
}
