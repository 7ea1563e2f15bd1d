// The sandbox's images, built for real from this machine's Debian packages: the OCI archives are
// well formed (every digest matches its blob), the programs in them behave, and a private
// containerd imports them (once) and runs each one with `ctr run`.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { type BuiltImage, buildImages } from "../src/sandbox/images/build.ts";
import { IMAGE_CATALOG, type ImageName } from "../src/sandbox/images/catalog.ts";
import { importImages, listImages } from "../src/sandbox/images/import.ts";
import { freePort } from "../src/util/ports.ts";

const exec = promisify(execFile);

let work: string;
let images: BuiltImage[];
let buildMillis: number;
const byName = (name: ImageName) => images.find((i) => i.name === name)!;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "raven-images-test-"));
  const t0 = performance.now();
  images = await buildImages({ cacheDir: join(work, "cache") });
  buildMillis = performance.now() - t0;
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

interface Unpacked {
  index: any;
  manifest: any;
  config: any;
  /** Path of the layer tar. */
  layer: string;
  /** `tar -tvf` of the layer. */
  listing: string;
}

/** Extracts an OCI archive and checks that every descriptor's digest and size match its blob. */
async function unpack(image: BuiltImage): Promise<Unpacked> {
  const dir = join(work, "unpacked", image.name);
  mkdirSync(dir, { recursive: true });
  await exec("tar", ["-xf", image.tarball, "-C", dir, "--no-same-owner"]);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8")), {
    imageLayoutVersion: "1.0.0",
  });
  const blob = (desc: { digest: string; size: number }) => {
    const path = join(dir, "blobs", "sha256", desc.digest.replace(/^sha256:/, ""));
    const data = readFileSync(path);
    assert.equal(sha256(data), desc.digest, `${image.name}: blob ${desc.digest} hashes to its name`);
    assert.equal(
      data.length,
      desc.size,
      `${image.name}: blob ${desc.digest} has the size its descriptor says`,
    );
    return { path, data };
  };
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  assert.equal(index.manifests.length, 1);
  const md = index.manifests[0];
  assert.equal(md.digest, image.manifestDigest);
  const manifest = JSON.parse(blob(md).data.toString());
  assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
  assert.equal(manifest.config.digest, image.configDigest);
  const config = JSON.parse(blob(manifest.config).data.toString());
  assert.equal(manifest.layers.length, 1);
  assert.equal(manifest.layers[0].mediaType, "application/vnd.oci.image.layer.v1.tar");
  const layer = blob(manifest.layers[0]).path;
  // uncompressed layer: its digest is its diff_id
  assert.deepEqual(config.rootfs, { type: "layers", diff_ids: [manifest.layers[0].digest] });
  assert.deepEqual(
    readdirSync(join(dir, "blobs", "sha256")).sort(),
    [md.digest, manifest.config.digest, manifest.layers[0].digest].map((d: string) => d.slice(7)).sort(),
  );
  const { stdout: listing } = await exec("tar", ["-tvf", layer], { maxBuffer: 8 << 20 });
  return { index, manifest, config, layer, listing };
}

test("every catalog image is built, and a second build comes from the cache", async () => {
  console.log(`build (cold cache): ${buildMillis.toFixed(0)} ms`);
  for (const i of images)
    console.log(`  ${i.name}: ${i.millis.toFixed(0)} ms, ${(i.size / 1e6).toFixed(1)} MB`);
  assert.deepEqual(
    images.map((i) => [i.name, i.ref]),
    IMAGE_CATALOG.map((c) => [c.name, c.ref]),
  );
  assert.ok(images.every((i) => !i.cached));
  const t0 = performance.now();
  const again = await buildImages({ cacheDir: join(work, "cache") });
  const warm = performance.now() - t0;
  console.log(`build (warm cache): ${warm.toFixed(0)} ms`);
  assert.ok(again.every((i) => i.cached));
  assert.deepEqual(
    again.map((i) => [i.tarball, i.manifestDigest]),
    images.map((i) => [i.tarball, i.manifestDigest]),
  );
  assert.ok(warm < 1000, `a cached build took ${warm} ms`);
});

test("the build is reproducible: a fresh cache gives the same digests", async () => {
  const other = await buildImages({ cacheDir: join(work, "cache2"), only: ["busybox", "hello-app"] });
  for (const o of other) {
    assert.equal(o.cached, false);
    assert.equal(o.manifestDigest, byName(o.name).manifestDigest, o.name);
  }
});

test("the OCI archives are well formed, named, and hold what each image needs", async () => {
  for (const image of images) {
    const u = await unpack(image);
    const ann = u.index.manifests[0].annotations;
    assert.equal(ann["io.containerd.image.name"], image.ref);
    assert.equal(ann["org.opencontainers.image.ref.name"], image.ref.split(":").pop());
    assert.equal(u.config.os, "linux");
    assert.match(u.config.config.Env.join("\n"), /^PATH=.*\/bin/m);
    // deterministic: owned by root, mtime 0
    for (const line of u.listing.trim().split("\n")) assert.match(line, / root\/root .* 1970-01-01 00:00 /);
  }
  const busybox = await unpack(byName("busybox"));
  assert.deepEqual(busybox.config.config.Cmd, ["sh"]);
  for (const applet of ["sh", "sleep", "ip", "killall", "wget", "nc", "httpd"]) {
    assert.match(busybox.listing, new RegExp(` bin/${applet} -> /bin/busybox$`, "m"), applet);
  }
  assert.match(busybox.listing, /^-rwxr-xr-x .* bin\/busybox$/m);
  assert.match(busybox.listing, /^drwxrwxrwt .* tmp\/$/m);

  const nginx = await unpack(byName("nginx"));
  assert.deepEqual(nginx.config.config.Cmd, ["nginx", "-g", "daemon off;"]);
  assert.deepEqual(nginx.config.config.ExposedPorts, { "80/tcp": {} });
  for (const path of [
    "usr/sbin/nginx",
    "lib64/ld-linux-x86-64.so.2",
    "lib/x86_64-linux-gnu/libc.so.6",
    "etc/nginx/nginx.conf",
    "etc/nginx/mime.types",
    "usr/share/nginx/html/index.html",
    "var/lib/nginx/",
    "bin/sh -> /bin/busybox",
  ]) {
    assert.ok(nginx.listing.includes(` ${path}`), `nginx image has ${path}`);
  }
  const { stdout: passwd } = await exec("tar", ["-xOf", nginx.layer, "etc/passwd"]);
  assert.match(passwd, /^nginx:x:101:101:/m);
  assert.match(passwd, /^www-data:x:33:/m);
  assert.match(passwd, /^nobody:x:65534:/m);

  const hello = await unpack(byName("hello-app"));
  assert.deepEqual(hello.config.config.Cmd, ["/hello-app"]);
  assert.ok(hello.config.config.Env.includes("PORT=8080"));
  assert.match(hello.listing, / hello-app$/m);
  for (const path of ["usr/bin/killall", "bin/killall", "sbin/ip", "bin/sh"]) {
    assert.match(hello.listing, new RegExp(` ${path} -> /bin/busybox$`, "m"), path);
  }

  const pause = await unpack(byName("pause"));
  assert.deepEqual(pause.config.config.Entrypoint, ["/pause"]);
  assert.match(pause.listing, /^-rwxr-xr-x .* pause$/m);
});

/** Copies a static binary out of an image's layer onto the host. */
async function extractBinary(name: ImageName, path: string): Promise<string> {
  const layer = (await unpack(byName(name))).layer;
  const { stdout } = await exec("tar", ["-xOf", layer, path], { encoding: "buffer", maxBuffer: 16 << 20 });
  const out = join(work, `${name}-bin`);
  writeFileSync(out, stdout);
  chmodSync(out, 0o755);
  return out;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

test("hello-app answers like gcr.io/google-samples/hello-app:1.0, logs requests, dies by SIGTERM", async (t) => {
  const bin = await extractBinary("hello-app", "hello-app");
  const { stdout: file } = await exec("file", [bin]);
  assert.match(file, /statically linked/);
  const port = await freePort();
  const child = spawn(bin, [], { env: { PORT: String(port) }, stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill("SIGKILL"));
  const exited = exitOf(child);
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  const deadline = Date.now() + 5000;
  let res: Response | undefined;
  while (!res) {
    res = await fetch(`http://127.0.0.1:${port}/hello?x=1`).catch(() => undefined);
    if (!res) {
      assert.ok(Date.now() < deadline, "hello-app did not listen within 5 s");
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(await res.text(), `Hello, world!\nVersion: 1.0.0\nHostname: ${hostname()}\n`);
  // a second request on the kept-alive connection, with a body to discard
  const post = await fetch(`http://127.0.0.1:${port}/second`, { method: "POST", body: "x".repeat(20000) });
  assert.match(await post.text(), /^Hello, world!\n/);
  // the log lines travel through a pipe: wait for them
  const logDeadline = Date.now() + 5000;
  while (!/Serving request: \/second$/m.test(out)) {
    assert.ok(Date.now() < logDeadline, `no log line for /second in ${JSON.stringify(out)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(out, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Server listening on port \d+$/m);
  assert.match(out, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Serving request: \/hello$/m);
  assert.match(out, /Serving request: \/second$/m);
  // like a Go program without a handler: killed by the signal (a pod's container: exit 143, Error)
  child.kill("SIGTERM");
  assert.deepEqual(await exited, { code: null, signal: "SIGTERM" });

  const bad = await exec(bin, [], { env: { PORT: "notaport" } }).catch((e) => e);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid PORT notaport/);
});

test("pause sleeps until SIGTERM or SIGINT and then exits 0", async () => {
  const bin = await extractBinary("pause", "pause");
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    const child = spawn(bin, [], { stdio: "ignore" });
    const exited = exitOf(child);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(child.exitCode, null, "pause must still be running");
    child.kill(sig);
    assert.deepEqual(await exited, { code: 0, signal: null }, sig);
  }
});

// ---- a private containerd (own root, state, socket; not in any netns) ----

interface Containerd {
  dir: string;
  socket: string;
  runcRoot: string;
  /** For ctr's IO FIFOs (default /run/containerd/fifo, shared with every other containerd). */
  fifoDir: string;
  stop(): Promise<void>;
}

async function startContainerd(): Promise<Containerd> {
  const dir = mkdtempSync(join(tmpdir(), "rvimg-ctd-"));
  const socket = join(dir, "containerd.sock");
  const runcRoot = join(dir, "runc");
  const fifoDir = join(dir, "fifo");
  writeFileSync(
    join(dir, "config.toml"),
    `version = 2
root = "${dir}/root"
state = "${dir}/state"
# only images and ctr run are needed here: no CRI plugin (and so no CNI)
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
`,
  );
  const child = spawn("containerd", ["--config", join(dir, "config.toml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (d) => {
    log = (log + d).slice(-4000);
  });
  const exited = exitOf(child);
  const stop = async () => {
    // tasks and containers left by a failed test, then the daemon, then its shims
    for (const id of await ctrLines(socket, ["tasks", "ls", "-q"])) {
      await exec("ctr", ["-a", socket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", id]).catch(() => {});
      await exec("ctr", ["-a", socket, "-n", "k8s.io", "tasks", "rm", "-f", id]).catch(() => {});
    }
    for (const id of await ctrLines(socket, ["containers", "ls", "-q"])) {
      await exec("ctr", ["-a", socket, "-n", "k8s.io", "containers", "rm", id]).catch(() => {});
    }
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    for (const pid of shimsOf(socket)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    const mounts = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1])
      .filter((m) => m?.startsWith(`${dir}/`))
      .sort()
      .reverse();
    for (const m of mounts) await exec("umount", ["-l", m]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    // containerd 1.6 always makes these; remove them only if no other containerd uses them
    for (const d of ["/run/containerd/s", "/run/containerd/fifo", "/run/containerd"]) {
      await exec("rmdir", [d]).catch(() => {});
    }
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await exec("ctr", ["-a", socket, "version"]).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`containerd did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { dir, socket, runcRoot, fifoDir, stop };
}

async function ctrLines(socket: string, args: string[]): Promise<string[]> {
  const r = await exec("ctr", ["-a", socket, "-n", "k8s.io", ...args]).catch(() => ({ stdout: "" }));
  return r.stdout.split("\n").filter(Boolean);
}

/** PIDs of containerd-shim processes serving this containerd (their argv names its socket). */
function shimsOf(socket: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      if (argv[0]?.includes("containerd-shim") && argv.includes(socket)) pids.push(Number(p));
    } catch {}
  }
  return pids;
}

test("a private containerd imports the images once and runs each of them", async (t) => {
  const ctd = await startContainerd();
  t.after(() => ctd.stop());

  const first = await importImages(ctd.socket, images);
  console.log(`import into a fresh containerd: ${first.millis.toFixed(0)} ms`);
  assert.deepEqual(first.imported.sort(), images.map((i) => i.ref).sort());
  assert.deepEqual(first.skipped, []);
  const present = await listImages(ctd.socket);
  for (const i of images) assert.equal(present.get(i.ref), i.manifestDigest, i.ref);

  // a restarted node: nothing to import
  const second = await importImages(ctd.socket, images);
  console.log(`import again (all present): ${second.millis.toFixed(0)} ms`);
  assert.deepEqual(second.imported, []);
  assert.equal(second.skipped.length, images.length);

  /** `ctr run --rm` of `ref` as container `id` in our containerd (the k8s.io namespace). */
  const ctrRunArgs = (ref: string, id: string, cmd: string[], extra: string[] = []) => [
    ...["-a", ctd.socket, "-n", "k8s.io", "run", "--runc-root", ctd.runcRoot, "--fifo-dir", ctd.fifoDir],
    ...["--rm", ...extra, ref, id, ...cmd],
  ];
  const ctrRun = async (ref: string, id: string, cmd: string[], extra: string[] = []) => {
    const r = await exec("ctr", ctrRunArgs(ref, id, cmd, extra)).catch((e) => e);
    return { code: r.code ?? 0, stdout: String(r.stdout), stderr: String(r.stderr) };
  };

  const bb = await ctrRun(byName("busybox").ref, "t-busybox", ["sh", "-c", "echo ok; ip -o link show lo"]);
  assert.equal(bb.code, 0, bb.stderr);
  assert.match(bb.stdout, /^ok\n\d+: lo: /);

  const hv = await ctrRun(byName("hello-app").ref, "t-hello-version", ["hello-app", "--version"]);
  assert.equal(hv.code, 0, hv.stderr);
  assert.equal(hv.stdout, "hello-app 1.0.0\n");

  // hello-app serving inside the container (own netns with lo only... so use the host's, on a free port)
  const port = await freePort();
  const hs = await ctrRun(
    byName("hello-app").ref,
    "t-hello-serve",
    [
      "sh",
      "-c",
      `hello-app & sleep 0.3; wget -qO- http://127.0.0.1:${port}/in-container; killall hello-app; wait $!; echo exit=$?`,
    ],
    ["--net-host", "--env", `PORT=${port}`],
  );
  assert.equal(hs.code, 0, hs.stderr);
  assert.match(hs.stdout, /Serving request: \/in-container\n/);
  assert.match(hs.stdout, /Hello, world!\nVersion: 1\.0\.0\nHostname: /);
  assert.match(hs.stdout, /exit=143\n$/);

  const ng = await ctrRun(byName("nginx").ref, "t-nginx", ["nginx", "-t"]);
  assert.equal(ng.code, 0, ng.stderr);
  assert.match(ng.stderr, /configuration file \/etc\/nginx\/nginx.conf test is successful/);

  /** Runs `ref` as the container's process, waits for it to run, hits it, and returns ctr's exit code. */
  const runThenHit = async (ref: string, id: string, cmd: string[], hit: () => Promise<unknown>) => {
    const child = spawn("ctr", ctrRunArgs(ref, id, cmd), { stdio: "ignore" });
    t.after(() => child.kill("SIGKILL"));
    const exited = exitOf(child);
    const deadline = Date.now() + 10_000;
    const running = new RegExp(`^${id}\\s+\\d+\\s+RUNNING`);
    while (!(await ctrLines(ctd.socket, ["tasks", "ls"])).some((l) => running.test(l))) {
      assert.ok(Date.now() < deadline, `${id} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await hit();
    return (await exited).code;
  };

  // pause: runs until SIGTERM, then exits 0 (ctr run exits with the task's status)
  const pauseCode = await runThenHit(byName("pause").ref, "t-pause", [], () =>
    exec("ctr", ["-a", ctd.socket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGTERM", "t-pause"]),
  );
  assert.equal(pauseCode, 0);

  // seed 004: `kubectl exec pod -- /usr/bin/killall hello-app` with hello-app as the container's
  // PID 1 ends the container with a failure (Go's exit 2), so OnFailure restarts it
  const helloCode = await runThenHit(byName("hello-app").ref, "t-hello-pid1", [], () =>
    exec("ctr", [
      ...[
        "-a",
        ctd.socket,
        "-n",
        "k8s.io",
        "tasks",
        "exec",
        "--fifo-dir",
        ctd.fifoDir,
        "--exec-id",
        "killall",
      ],
      ...["t-hello-pid1", "/usr/bin/killall", "hello-app"],
    ]).catch((e: { code?: number }) => {
      // killall may be SIGKILLed (137) with the rest of the PID namespace when its victim, PID 1, dies
      if (e.code !== 137) throw e;
    }),
  );
  assert.equal(helloCode, 2);
});
