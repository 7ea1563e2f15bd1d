// CRI client against a real private containerd in its own network namespace: the pod and
// container lifecycle the sandbox kubelet drives, end to end (CNI bridge + host-local included).
import assert from "node:assert/strict";
import { type ChildProcess, execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { CriClient } from "../src/cri/client.ts";
import {
  CONTAINER_EXITED,
  CONTAINER_RUNNING,
  CriError,
  GRPC_NOT_FOUND,
  type PodSandboxConfig,
  SANDBOX_NOTREADY,
  SANDBOX_READY,
} from "../src/cri/types.ts";
import {
  cleanupContainerdState,
  mountsUnder,
  startContainerd,
  stopContainerd,
  waitContainerdReady,
} from "../src/sandbox/node/containerd.ts";
import { nodeLayout } from "../src/sandbox/node/layout.ts";

const run = promisify(execFile);

const BUSYBOX_IMAGE = "localhost/raven/busybox:test";
const PAUSE_IMAGE = "localhost/raven/pause:test";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * A tiny OCI image-layout tarball: one uncompressed layer with /bin/busybox (busybox-static) and
 * its applet symlinks, named by the io.containerd.image.name annotation (what `ctr import` uses).
 */
async function buildBusyboxImage(workDir: string, name: string, cmd: string[]): Promise<string> {
  const dir = await mkdtemp(join(workDir, "img-"));
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev"])
    await mkdir(join(rootfs, d), { recursive: true });
  await copyFile("/bin/busybox", join(rootfs, "bin/busybox"));
  const { stdout } = await run("/bin/busybox", ["--list"]);
  for (const applet of stdout.split("\n").filter((a) => a && a !== "busybox")) {
    await symlink("busybox", join(rootfs, "bin", applet));
  }
  await writeFile(join(rootfs, "etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
  await writeFile(join(rootfs, "etc/group"), "root:x:0:\n");
  const layerTar = join(dir, "layer.tar");
  await run("tar", [
    "--sort=name",
    "--mtime=@0",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "-C",
    rootfs,
    "-cf",
    layerTar,
    ".",
  ]);

  const layout = join(dir, "layout");
  const blobs = join(layout, "blobs/sha256");
  await mkdir(blobs, { recursive: true });
  const blob = async (data: Buffer) => {
    const digest = sha256(data);
    await writeFile(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const layerData = await readFile(layerTar);
  const layerDigest = sha256(layerData);
  await rename(layerTar, join(blobs, layerDigest));
  const config = await blob(
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Env: ["PATH=/bin"], Cmd: cmd, WorkingDir: "/" },
        rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
      }),
    ),
  );
  const manifest = await blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [
          {
            mediaType: "application/vnd.oci.image.layer.v1.tar",
            digest: `sha256:${layerDigest}`,
            size: layerData.length,
          },
        ],
      }),
    ),
  );
  await writeFile(join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          platform: { architecture: "amd64", os: "linux" },
          annotations: {
            "io.containerd.image.name": name,
            "org.opencontainers.image.ref.name": name.split(":").pop(),
          },
        },
      ],
    }),
  );
  const out = join(dir, "image.tar");
  await run("tar", ["-C", layout, "-cf", out, "oci-layout", "index.json", "blobs"]);
  return out;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("CRI client drives a real containerd through the pod and container lifecycle", {
  timeout: 180_000,
}, async (t) => {
  const suffix = randomBytes(3).toString("hex");
  const netns = `rvcri${suffix}`;
  const bridge = `rvcri${suffix}`; // 11 chars, inside the netns only
  const subnetOctet = randomBytes(1)[0];
  const podSubnet = `10.250.${subnetOctet}.0/24`;
  const tmp = await mkdtemp(`/tmp/rvcri-${suffix}-`);

  // The layout only lends its directory names here; the netns is the test's own.
  const base = nodeLayout(
    tmp,
    { instanceId: `rvcri${suffix}`, nodeCidr: "10.249.0.0/24", nodePodCidr: "10.250.0.0/16" },
    1,
  );
  const layout = { ...base, netns, netnsPath: `/run/netns/${netns}` };
  const logFile = join(tmp, "containerd.log");
  let started: { child: ChildProcess; cri: CriClient } | undefined;

  // One teardown, in order, each step attempted even if an earlier one failed: pods (CNI DEL),
  // containerd, its leftovers (mounts, shims), the netns, and only then the directory.
  t.after(async () => {
    const errors: unknown[] = [];
    const step = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    const child = started?.child;
    if (started && child?.exitCode === null) {
      const c = started.cri;
      await step(async () => {
        for (const ctr of await c.listContainers()) await c.removeContainer(ctr.id).catch(() => undefined);
        for (const p of await c.listPodSandbox()) {
          await c.stopPodSandbox(p.id).catch(() => undefined);
          await c.removePodSandbox(p.id).catch(() => undefined);
        }
      });
    }
    started?.cri.close();
    if (child) {
      const c = child;
      await step(() => stopContainerd(c));
    }
    await step(async () => assert.deepEqual(await cleanupContainerdState(layout), []));
    await step(async () =>
      assert.deepEqual(mountsUnder(tmp), [], "nothing stays mounted under the test dir"),
    );
    await step(() => run("ip", ["netns", "del", netns]));
    if (mountsUnder(tmp).length === 0) await step(() => rm(tmp, { recursive: true, force: true }));
    if (errors.length > 0) throw errors[0];
  });

  await run("ip", ["netns", "add", netns]);
  await run("ip", ["-n", netns, "link", "set", "lo", "up"]);

  await mkdir(layout.cniConfDir, { recursive: true });
  await writeFile(
    join(layout.cniConfDir, "10-test.conflist"),
    JSON.stringify({
      cniVersion: "1.0.0",
      name: `rvcri${suffix}`,
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: podSubnet }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: layout.cniDataDir,
          },
        },
      ],
    }),
  );

  const child = await startContainerd(layout, { sandboxImage: PAUSE_IMAGE, logFile });
  const cri = CriClient.connect(layout.containerdSocket);
  started = { child, cri };
  await waitContainerdReady(layout, { child, logFile });

  // Version and Status (NetworkReady once the CNI config has been read).
  const version = await cri.version();
  assert.equal(version.runtimeName, "containerd");
  assert.equal(version.runtimeApiVersion, "v1");
  assert.match(version.runtimeVersion, /^1\.6\./);
  const status = await until("NetworkReady", async () => {
    const s = await cri.status();
    return s.status.conditions.find((c) => c.type === "NetworkReady")?.status ? s : undefined;
  });
  assert.equal(status.status.conditions.find((c) => c.type === "RuntimeReady")?.status, true);

  // Images: imported with ctr, then seen through CRI.
  for (const [name, cmd] of [
    [BUSYBOX_IMAGE, ["sh"]],
    [PAUSE_IMAGE, ["sleep", "2147483647"]],
  ] as const) {
    const tar = await buildBusyboxImage(tmp, name, [...cmd]);
    await run("ctr", ["-a", layout.containerdSocket, "-n", "k8s.io", "images", "import", tar]);
  }
  const images = await cri.listImages();
  const tags = images.flatMap((i) => i.repoTags);
  assert.ok(tags.includes(BUSYBOX_IMAGE) && tags.includes(PAUSE_IMAGE), `images: ${tags.join(", ")}`);
  const bb = await cri.imageStatus({ image: BUSYBOX_IMAGE });
  assert.ok(bb, "busybox image present");
  assert.match(bb.id, /^sha256:[0-9a-f]{64}$/);
  assert.ok(bb.size > 100_000, `size ${bb.size}`);
  assert.equal(await cri.imageStatus({ image: "localhost/raven/absent:1" }), undefined);
  // (containerd 1.6 ignores ListImages' filter, so it is not checked here.)

  // A pod sandbox with a labelled identity.
  const runLabel = `run-${suffix}`;
  const podLogDir = join(tmp, "pod-logs", `default_web_${suffix}`);
  await mkdir(join(podLogDir, "main"), { recursive: true });
  const sandboxConfig: PodSandboxConfig = {
    metadata: { name: "web", uid: `uid-${suffix}`, namespace: "default", attempt: 0 },
    hostname: "web",
    logDirectory: podLogDir,
    labels: { "raven-test": runLabel, app: "web" },
    annotations: { "raven.io/test": "yes" },
    linux: { securityContext: { namespaceOptions: { network: 0, pid: 1, ipc: 0 } } },
  };
  const podId = await cri.runPodSandbox(sandboxConfig);
  assert.match(podId, /^[0-9a-f]{64}$/);
  const podStatus = await cri.podSandboxStatus(podId, true);
  assert.equal(podStatus.status.id, podId);
  assert.equal(podStatus.status.state, SANDBOX_READY);
  assert.deepEqual(podStatus.status.metadata, sandboxConfig.metadata);
  assert.equal(podStatus.status.labels.app, "web");
  assert.equal(podStatus.status.annotations["raven.io/test"], "yes");
  assert.ok(podStatus.status.createdAt > Date.UTC(2020, 0) * 1e6, "createdAt in nanoseconds");
  const podIp = podStatus.status.network?.ip ?? "";
  assert.ok(podIp.startsWith(`10.250.${subnetOctet}.`), `pod IP ${podIp} in ${podSubnet}`);
  const info = JSON.parse(podStatus.info.info ?? "{}");
  const netnsPath: string =
    info.runtimeSpec?.linux?.namespaces?.find((n: { type: string }) => n.type === "network")?.path ?? "";
  assert.ok(netnsPath.startsWith(tmp), `pod netns ${netnsPath} under the node's state dir`);

  // A container with command, args, env, workingDir, a read-only mount and a log file.
  const hostDir = join(tmp, "volume");
  await mkdir(hostDir);
  await writeFile(join(hostDir, "hello.txt"), "from-the-host\n");
  const containerId = await cri.createContainer(
    podId,
    {
      metadata: { name: "main", attempt: 0 },
      image: { image: BUSYBOX_IMAGE },
      command: ["sh", "-c"],
      args: ['echo "$GREETING from $(pwd)"; cat /data/hello.txt; echo oops >&2; exec sleep 3600'],
      workingDir: "/tmp",
      envs: [{ key: "GREETING", value: "hello" }],
      mounts: [{ containerPath: "/data", hostPath: hostDir, readonly: true }],
      labels: { "raven-test": runLabel, role: "main" },
      annotations: { note: "kept" },
      logPath: "main/0.log",
    },
    sandboxConfig,
  );
  await cri.startContainer(containerId);
  const running = await cri.containerStatus(containerId);
  assert.equal(running.status.state, CONTAINER_RUNNING);
  assert.equal(running.status.metadata.name, "main");
  assert.equal(running.status.annotations.note, "kept");
  assert.equal(running.status.logPath, join(podLogDir, "main/0.log"));
  assert.ok(running.status.startedAt >= running.status.createdAt && running.status.startedAt > 0);
  assert.ok(
    running.status.mounts.some((m) => m.containerPath === "/data" && m.hostPath === hostDir && m.readonly),
  );

  // ExecSync: the pod's network is the container's; exit codes come back.
  const ipA = await cri.execSync(containerId, ["ip", "a"], 10);
  assert.equal(ipA.exitCode, 0);
  assert.match(ipA.stdout.toString(), new RegExp(`inet ${podIp.replaceAll(".", "\\.")}/24`));
  const exit3 = await cri.execSync(containerId, ["sh", "-c", "echo out; echo err >&2; exit 3"], 10);
  assert.equal(exit3.exitCode, 3);
  assert.equal(exit3.stdout.toString(), "out\n");
  assert.equal(exit3.stderr.toString(), "err\n");
  const ro = await cri.execSync(containerId, ["sh", "-c", "touch /data/x"], 10);
  assert.notEqual(ro.exitCode, 0, "the mount is read-only");

  // The log file is in the CRI format: <RFC3339Nano> <stream> <F|P> <text>.
  const logLines = await until("container log lines", async () => {
    const text = await readFile(join(podLogDir, "main/0.log"), "utf8").catch(() => "");
    const lines = text.trimEnd().split("\n").filter(Boolean);
    return lines.length >= 3 ? lines : undefined;
  });
  for (const line of logLines) assert.match(line, /^\d{4}-\d\d-\d\dT\S+Z (stdout|stderr) [FP] /);
  assert.ok(
    logLines.some((l) => / stdout F hello from \/tmp$/.test(l)),
    logLines.join("\n"),
  );
  assert.ok(logLines.some((l) => / stdout F from-the-host$/.test(l)));
  assert.ok(logLines.some((l) => / stderr F oops$/.test(l)));

  // Exec hands back a streaming URL on the node's loopback.
  const url = new URL(await cri.exec({ containerId, cmd: ["sh"], stdin: true, stdout: true, tty: true }));
  assert.equal(url.hostname, "127.0.0.1");
  assert.ok(Number(url.port) > 0, `stream server port in ${url}`);
  assert.match(url.pathname, /^\/exec\//);
  const pf = new URL(await cri.portForward(podId, [80]));
  assert.match(pf.pathname, /^\/portforward\//);

  // A container that fails by itself: exit code 1, reason Error.
  const failingId = await cri.createContainer(
    podId,
    {
      metadata: { name: "fails", attempt: 0 },
      image: { image: BUSYBOX_IMAGE },
      command: ["sh", "-c", "exit 1"],
      labels: { "raven-test": runLabel, role: "fails" },
      logPath: "fails/0.log",
    },
    sandboxConfig,
  );
  await cri.startContainer(failingId);
  const failed = await until("the failing container to exit", async () => {
    const s = await cri.containerStatus(failingId);
    return s.status.state === CONTAINER_EXITED ? s.status : undefined;
  });
  assert.equal(failed.exitCode, 1);
  assert.equal(failed.reason, "Error");
  // (A container this quick can finish before containerd records its start, so compare with creation.)
  assert.ok(failed.finishedAt >= failed.createdAt && failed.finishedAt > 0);

  // Filters: by label, by sandbox, by state.
  const pods = await cri.listPodSandbox({ labelSelector: { "raven-test": runLabel } });
  assert.deepEqual(
    pods.map((p) => p.id),
    [podId],
  );
  assert.deepEqual(await cri.listPodSandbox({ labelSelector: { "raven-test": "someone-else" } }), []);
  const mains = await cri.listContainers({ labelSelector: { "raven-test": runLabel, role: "main" } });
  assert.deepEqual(
    mains.map((c) => [c.id, c.podSandboxId, c.state, c.metadata.name]),
    [[containerId, podId, CONTAINER_RUNNING, "main"]],
  );
  const exited = await cri.listContainers({ podSandboxId: podId, state: { state: CONTAINER_EXITED } });
  assert.deepEqual(
    exited.map((c) => c.id),
    [failingId],
  );

  // Stop with a 1 s grace period.
  await cri.stopContainer(containerId, 1);
  const stopped = await cri.containerStatus(containerId);
  assert.equal(stopped.status.state, CONTAINER_EXITED);
  // SIGTERM (143) or, after the grace period, SIGKILL (137).
  assert.ok([137, 143].includes(stopped.status.exitCode), `exit code ${stopped.status.exitCode}`);
  assert.ok(stopped.status.finishedAt > 0);

  await cri.removeContainer(containerId);
  await cri.removeContainer(failingId);
  assert.deepEqual(await cri.listContainers({ podSandboxId: podId }), []);
  await assert.rejects(cri.containerStatus(containerId), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.code, GRPC_NOT_FOUND);
    return true;
  });

  await cri.stopPodSandbox(podId);
  assert.equal((await cri.podSandboxStatus(podId)).status.state, SANDBOX_NOTREADY);
  assert.equal(existsSync(netnsPath), false, "the pod netns file is gone after StopPodSandbox");
  await cri.removePodSandbox(podId);
  await assert.rejects(cri.podSandboxStatus(podId), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.code, GRPC_NOT_FOUND);
    assert.equal(e.method, "PodSandboxStatus");
    return true;
  });
  // Idempotent removal, as the CRI requires.
  await cri.removePodSandbox(podId);
});
