// The sandbox's OpenStack: real neutron-server and Octavia (octavia-api, octavia-worker) from
// Debian's packages, with the PostgreSQL and RabbitMQ they need, all on 127.0.0.1 at ports
// picked for this instance, configs and logs under `dir`. Each process runs in its own process
// group (its workers with it) and is stopped by that group, never by name. Facts from
// ../shared/rigs/openstack: Octavia needs PostgreSQL (SQLite locks under its API and worker),
// the schemas are built from the models (alembic cannot run them quickly), the worker is ready
// once it consumes its RabbitMQ queue.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { cloudsYaml, neutronConf, type OpenStackPorts, octaviaConf, rabbitConf } from "./configs.ts";

const run = promisify(execFile);
const HERE = fileURLToPath(new URL(".", import.meta.url));
/** Debian's interpreter: the services' Python modules are installed for it (a pyenv python3 may shadow it). */
const PYTHON = "/usr/bin/python3";

/** What must be installed (scripts/setup.sh installs it). */
export const OPENSTACK_BINARIES = [
  "/usr/bin/neutron-server",
  "/usr/bin/octavia-api",
  "/usr/bin/octavia-worker",
  "/usr/lib/rabbitmq/bin/rabbitmq-server",
  "/usr/bin/openstack",
];

export interface OpenStackServicesOptions {
  /** Configs, logs, RabbitMQ's state, clouds.yaml. */
  dir: string;
  /** PostgreSQL's cluster: a directory the postgres user can reach (not under /root). */
  dataDir: string;
  /** Names this instance (RabbitMQ's node); letters, digits and dashes. */
  instance: string;
  /**
   * The address Neutron and Octavia listen on: 127.0.0.1 (default), or a host address the
   * sandbox's nodes reach (their underlay's gateway), never one that leaves the machine.
   */
  host?: string;
  /** The cloud's name in clouds.yaml. */
  cloud?: string;
  /** Told each step as it completes. */
  progress?: (step: string, ms: number) => void;
}

export interface OpenStackEndpoints {
  neutron: string;
  octavia: string;
  /** clouds.yaml with `cloud` in it (auth_type none, one endpoint per service). */
  cloudsYaml: string;
  cloud: string;
}

function postgresBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(a) - Number(b)) : [];
  const v = versions.at(-1);
  if (!v) throw new Error("PostgreSQL is not installed (scripts/setup.sh installs it)");
  return join(root, v, "bin");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function until(
  what: string,
  timeoutMs: number,
  alive: () => boolean,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (!alive()) throw new Error(`${what}: the process exited during start-up`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.ok;
}

export class OpenStackServices {
  readonly endpoints: OpenStackEndpoints;
  private readonly o: OpenStackServicesOptions;
  private readonly ports: OpenStackPorts;
  private readonly children = new Map<string, ChildProcess>();

  private constructor(o: OpenStackServicesOptions, ports: OpenStackPorts) {
    this.o = o;
    this.ports = ports;
    const cloud = o.cloud ?? "raven-sandbox";
    const host = o.host ?? "127.0.0.1";
    this.endpoints = {
      neutron: `http://${host}:${ports.neutron}`,
      octavia: `http://${host}:${ports.octavia}`,
      cloudsYaml: join(o.dir, "clouds.yaml"),
      cloud,
    };
  }

  /** Starts everything and waits until Neutron and Octavia serve; stops what it started if that fails. */
  static async start(o: OpenStackServicesOptions): Promise<OpenStackServices> {
    const missing = OPENSTACK_BINARIES.filter((b) => !existsSync(b));
    if (missing.length)
      throw new Error(
        `the OpenStack services are not installed (${missing.join(", ")}); run scripts/setup.sh`,
      );
    const ports: OpenStackPorts = {
      neutron: await freePort(),
      octavia: await freePort(),
      rabbit: await freePort(),
      rabbitDist: await freePort(),
      epmd: await freePort(),
      postgres: await freePort(),
    };
    const s = new OpenStackServices(o, ports);
    try {
      await s.startAll();
      return s;
    } catch (err) {
      await s.stop();
      throw err;
    }
  }

  /** The environment RabbitMQ's scripts (server and ctl) run with: loopback, this instance's dirs. */
  private rabbitEnv(): NodeJS.ProcessEnv {
    const r = join(this.o.dir, "rabbit");
    return {
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: join(r, "home"),
      RABBITMQ_CONF_ENV_FILE: "/dev/null",
      RABBITMQ_NODENAME: this.rabbitNode,
      RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
      RABBITMQ_NODE_PORT: String(this.ports.rabbit),
      RABBITMQ_DIST_PORT: String(this.ports.rabbitDist),
      ERL_EPMD_ADDRESS: "127.0.0.1",
      ERL_EPMD_PORT: String(this.ports.epmd),
      RABBITMQ_CONFIG_FILE: join(r, "rabbitmq.conf"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(r, "enabled_plugins"),
      RABBITMQ_MNESIA_BASE: join(r, "mnesia"),
      RABBITMQ_LOG_BASE: join(this.o.dir, "logs", "rabbit"),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
    };
  }

  private get host(): string {
    return this.o.host ?? "127.0.0.1";
  }

  private get rabbitNode(): string {
    return `${this.o.instance}@localhost`;
  }

  private async startAll(): Promise<void> {
    const { dir } = this.o;
    const t0 = Date.now();
    const step = (what: string) => this.o.progress?.(what, Date.now() - t0);
    for (const d of [
      "logs/rabbit",
      "neutron/lock",
      "octavia/lock",
      "octavia/certs",
      "octavia/certstore",
      "rabbit/home",
      "rabbit/mnesia",
    ])
      mkdirSync(join(dir, d), { recursive: true });

    // RabbitMQ boots slowest (~8 s): first, with its own epmd (ours to stop).
    const epmd = existsSync("/usr/bin/epmd") ? "/usr/bin/epmd" : "epmd";
    this.launch("epmd", epmd, ["-port", String(this.ports.epmd), "-address", "127.0.0.1"], {
      PATH: process.env.PATH,
    });
    // Listening before RabbitMQ looks for it (else Erlang starts a daemon of its own, not ours).
    await until(
      "epmd",
      10_000,
      () => this.alive("epmd"),
      () => tcpOpen(this.ports.epmd),
    );
    writeFileSync(join(dir, "rabbit", "rabbitmq.conf"), rabbitConf(this.ports.rabbit));
    writeFileSync(join(dir, "rabbit", "enabled_plugins"), "[].\n");
    this.launch("rabbitmq", "/usr/lib/rabbitmq/bin/rabbitmq-server", [], this.rabbitEnv());

    await this.startPostgres();
    step("postgresql");
    const db = (name: string) => `postgresql+psycopg2://postgres@127.0.0.1:${this.ports.postgres}/${name}`;
    await Promise.all([
      this.ensureDb("neutron", "neutron_mkdb.py"),
      this.ensureDb("octavia", "octavia_mkdb.py"),
    ]);
    step("databases");

    writeFileSync(
      join(dir, "neutron.conf"),
      neutronConf({ state: dir, host: this.host, port: this.ports.neutron, dbUrl: db("neutron") }),
    );
    this.launch("neutron-server", "/usr/bin/neutron-server", ["--config-file", join(dir, "neutron.conf")]);

    const certs = join(dir, "octavia", "certs");
    if (!existsSync(join(certs, "ca_01.pem")))
      // A throw-away CA: the amphora flow signs a certificate nothing uses.
      await run("openssl", [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=raven-sandbox-octavia-ca",
        "-keyout",
        join(certs, "ca_key.pem"),
        "-out",
        join(certs, "ca_01.pem"),
      ]);
    writeFileSync(
      join(dir, "octavia.conf"),
      octaviaConf({
        state: dir,
        host: this.host,
        port: this.ports.octavia,
        rabbitPort: this.ports.rabbit,
        dbUrl: db("octavia"),
      }),
    );
    this.launch("octavia-api", "/usr/bin/octavia-api", ["--config-file", join(dir, "octavia.conf")]);
    // The worker retries the broker every second until RabbitMQ is up.
    this.launch("octavia-worker", "/usr/bin/octavia-worker", ["--config-file", join(dir, "octavia.conf")]);
    writeFileSync(this.endpoints.cloudsYaml, cloudsYaml(this.endpoints.cloud, this.host, this.ports));

    const alive = (name: string) => () => this.alive(name);
    await until("neutron-server", 120_000, alive("neutron-server"), () =>
      httpOk(`${this.endpoints.neutron}/v2.0/networks`),
    );
    step("neutron-server");
    await until("octavia-api", 120_000, alive("octavia-api"), () => httpOk(`${this.endpoints.octavia}/`));
    // Octavia drops the API's casts until the worker has declared its queue.
    await until("octavia-worker", 120_000, alive("octavia-worker"), () => this.workerConsuming());
    step("octavia");
  }

  private async startPostgres(): Promise<void> {
    const bin = postgresBin();
    const data = join(this.o.dataDir, "pg");
    const sock = join(this.o.dataDir, "sock");
    const asPostgres = (cmd: string, args: string[]) =>
      run("setpriv", ["--reuid", "postgres", "--regid", "postgres", "--init-groups", cmd, ...args], {
        cwd: "/tmp",
      });
    if (!existsSync(join(data, "PG_VERSION"))) {
      mkdirSync(data, { recursive: true });
      mkdirSync(sock, { recursive: true });
      const { uid, gid } = await postgresIds();
      for (const d of [this.o.dataDir, data, sock]) chownSync(d, uid, gid);
      await asPostgres(join(bin, "initdb"), [
        "-D",
        data,
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
      ]);
    }
    // A test database: durability is not worth its fsyncs.
    this.launch(
      "postgresql",
      "setpriv",
      [
        "--reuid",
        "postgres",
        "--regid",
        "postgres",
        "--init-groups",
        join(bin, "postgres"),
        "-D",
        data,
        "-k",
        sock,
        "-h",
        "127.0.0.1",
        "-p",
        String(this.ports.postgres),
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=200",
        "-c",
        "shared_buffers=64MB",
      ],
      { PATH: process.env.PATH },
      "SIGINT", // the postmaster's fast shutdown
    );
    await until(
      "postgresql",
      60_000,
      () => this.alive("postgresql"),
      async () => {
        await run(join(bin, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(this.ports.postgres)]);
        return true;
      },
    );
  }

  /** Creates database `name` with its schema, once. */
  private async ensureDb(name: string, mkdb: string): Promise<void> {
    const bin = postgresBin();
    const pg = ["-h", "127.0.0.1", "-p", String(this.ports.postgres), "-U", "postgres"];
    const exists = await run(
      join(bin, "psql"),
      [...pg, "-tAc", `SELECT 1 FROM pg_database WHERE datname='${name}'`],
      { cwd: "/tmp" },
    );
    if (exists.stdout.trim() === "1") return;
    await run(join(bin, "createdb"), [...pg, name], { cwd: "/tmp" });
    await run(
      PYTHON,
      [join(HERE, mkdb), `postgresql+psycopg2://postgres@127.0.0.1:${this.ports.postgres}/${name}`],
      {
        cwd: "/tmp",
        env: { PATH: "/usr/bin:/bin" },
      },
    );
  }

  private async workerConsuming(): Promise<boolean> {
    const { stdout } = await run(
      "/usr/lib/rabbitmq/bin/rabbitmqctl",
      ["-n", this.rabbitNode, "-q", "list_queues", "name", "consumers"],
      { env: this.rabbitEnv(), timeout: 30_000 },
    );
    return stdout.split("\n").some((l) => {
      const [name, consumers] = l.trim().split(/\s+/);
      return name === "octavia_provisioning_v2" && Number(consumers) > 0;
    });
  }

  private readonly stopSignals = new Map<string, NodeJS.Signals>();

  /** Starts `cmd` in its own process group, output appended to logs/NAME.out. */
  private launch(
    name: string,
    cmd: string,
    args: string[],
    env?: NodeJS.ProcessEnv,
    stopSignal: NodeJS.Signals = "SIGTERM",
  ): void {
    const fd = openSync(join(this.o.dir, "logs", `${name}.out`), "a");
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ["ignore", fd, fd],
      cwd: "/tmp",
      env: env ?? { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: this.o.dir },
    });
    closeSync(fd);
    child.on("error", () => {});
    this.children.set(name, child);
    this.stopSignals.set(name, stopSignal);
    // For killLeftovers: the PID and a piece of its command line only ours has.
    if (child.pid) {
      mkdirSync(join(this.o.dir, "run"), { recursive: true });
      const token =
        args.find((a) => a.includes(this.o.dir) || a.includes(this.o.dataDir)) ??
        (args.length ? args.join(" ") : cmd);
      writeFileSync(
        join(this.o.dir, "run", `${name}.pid`),
        JSON.stringify({ pid: child.pid, token, exe: cmd }),
      );
    }
  }

  /**
   * Kills what a crashed supervisor left running of the services under `dir` (by the PIDs it
   * recorded, each checked against its command line, so a reused PID is never hit).
   */
  static killLeftovers(dir: string): void {
    const run = join(dir, "run");
    if (!existsSync(run)) return;
    for (const f of readdirSync(run)) {
      let rec: { pid: number; token: string };
      try {
        rec = JSON.parse(readFileSync(join(run, f), "utf8"));
        const cmdline = readFileSync(`/proc/${rec.pid}/cmdline`, "utf8").split("\0").join(" ");
        if (!cmdline.includes(rec.token)) continue;
      } catch {
        continue; // gone
      }
      for (const target of [-rec.pid, rec.pid])
        try {
          process.kill(target, "SIGKILL");
        } catch {
          // already gone
        }
    }
  }

  /** The PID of each process it started (the supervisor records them). */
  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, c] of this.children) if (c.pid) out[name] = c.pid;
    return out;
  }

  private alive(name: string): boolean {
    const c = this.children.get(name);
    return Boolean(c && c.exitCode === null && c.signalCode === null);
  }

  /** Stops every process group it started (TERM, then KILL after 20 s); the databases stay. */
  async stop(): Promise<void> {
    const order = [["neutron-server", "octavia-api", "octavia-worker"], ["rabbitmq", "postgresql"], ["epmd"]];
    for (const names of order) await Promise.all(names.map((n) => this.stopOne(n)));
  }

  private async stopOne(name: string): Promise<void> {
    const c = this.children.get(name);
    if (!c?.pid) return;
    const pid = c.pid;
    const groupAlive = () => {
      try {
        process.kill(-pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const signal = (s: NodeJS.Signals) => {
      try {
        // PostgreSQL's postmaster stops its own children; everything else by its group.
        if (s === "SIGINT") process.kill(pid, s);
        else process.kill(-pid, s);
      } catch {
        // already gone
      }
    };
    signal(this.stopSignals.get(name) ?? "SIGTERM");
    for (let i = 0; i < 100 && groupAlive(); i++) await new Promise((r) => setTimeout(r, 200));
    if (groupAlive()) signal("SIGKILL");
    this.children.delete(name);
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}
