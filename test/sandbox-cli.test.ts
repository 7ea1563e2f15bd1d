// The `raven sandbox` commands: help, detach, status, state surviving a restart, Ctrl-C on a
// foreground sandbox (human output; everything stopped, pods included, and back on the next
// up), and `down` leaving no process or file behind.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { deployedNodeOptions } from "../src/sandbox/deployed-node-options.ts";
import { eventually, KUBECTL, run } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function pidsOf(dir: string): number[] {
  const s = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  return [s.pid, ...Object.values(s.children as Record<string, number>)];
}

test("every subcommand answers --help", async () => {
  for (const args of [
    [],
    ["sandbox"],
    ["sandbox", "up"],
    ["sandbox", "down"],
    ["sandbox", "stop"],
    ["sandbox", "status"],
    ["sandbox", "apiserver"],
    ["sandbox", "controller-manager"],
  ]) {
    const r = await run(RAVEN, [...args, "--help"]);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: raven/);
  }
  const bad = await run(RAVEN, ["sandbox", "up", "--virtual-nodes", "-3"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /must be a non-negative integer/);
});

test("detached sandbox: status, state across a restart, and down removes everything", async () => {
  const dir = mkdtempSync(join(tmpdir(), "raven-cli-"));
  const env = { ...process.env, KUBECONFIG: join(dir, "kubeconfig"), HOME: join(dir, "home") };
  try {
    const up = await run(RAVEN, ["sandbox", "up", "--detach", "--dir", dir], { timeoutMs: 120_000 });
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout.trim(), `export KUBECONFIG=${join(dir, "kubeconfig")}`);
    const st = await run(RAVEN, ["sandbox", "status", "--dir", dir]);
    assert.match(st.stdout, /running \(supervisor pid \d+\)/);
    assert.match(st.stdout, /apiserver\s+running/);
    const again = await run(RAVEN, ["sandbox", "up", "--detach", "--dir", dir]);
    assert.notEqual(again.code, 0, "a second up on a running sandbox is refused");
    assert.match(again.stderr, /already running/);

    let r = await run(KUBECTL(), ["create", "-f", "-"], {
      env,
      input: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\ndata: {a: '1'}\n",
    });
    assert.equal(r.code, 0, r.stderr);
    const uid = (await run(KUBECTL(), ["get", "cm", "keep", "-o", "jsonpath={.metadata.uid}"], { env }))
      .stdout;
    const firstPids = pidsOf(dir);
    // raven-controller runs with deploy/controller.yaml's V8 options, as deployed
    const controllerPid = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).children[
      "raven-controller"
    ];
    const cmdline = readFileSync(`/proc/${controllerPid}/cmdline`, "utf8").split("\0");
    for (const flag of deployedNodeOptions().split(/\s+/))
      assert.ok(cmdline.includes(flag), `${flag} in ${cmdline}`);
    assert.equal((await run(RAVEN, ["sandbox", "stop", "--dir", dir], { timeoutMs: 60_000 })).code, 0);
    for (const pid of firstPids) assert.equal(alive(pid), false, `pid ${pid} stopped`);
    assert.match((await run(RAVEN, ["sandbox", "status", "--dir", dir])).stdout, /not running/);

    assert.equal(
      (await run(RAVEN, ["sandbox", "up", "--detach", "--dir", dir], { timeoutMs: 120_000 })).code,
      0,
    );
    r = await run(KUBECTL(), ["get", "cm", "keep", "-o", "jsonpath={.metadata.uid} {.data.a}"], { env });
    assert.equal(r.stdout, `${uid} 1`, "state survives a restart");

    const pids = pidsOf(dir);
    const down = await run(RAVEN, ["sandbox", "down", "--dir", dir], { timeoutMs: 60_000 });
    assert.equal(down.code, 0, down.stderr);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} stopped`);
    assert.equal(existsSync(dir), false, "down removes the sandbox dir");
  } finally {
    await run(RAVEN, ["sandbox", "down", "--dir", dir], { timeoutMs: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Ctrl-C on a foreground sandbox stops everything it started, pods included; the next up brings the pods back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "raven-fg-"));
  const env = { ...process.env, KUBECONFIG: join(dir, "kubeconfig"), HOME: join(dir, "home") };
  const kubectl = async (args: string[], input?: string) => {
    const r = await run(KUBECTL(), args, { env, input });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const child = spawn(RAVEN, ["sandbox", "up", "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    err += d;
  });
  try {
    await eventually(() => out.includes("export KUBECONFIG="), 120_000, "ready line");
    // A person reads the start-up: short lines with timings, not JSON.
    for (const step of ["etcd", "API server", "controllers", "node-1", "ready"])
      assert.match(err, new RegExp(`^  ${step} +\\d+\\.\\d s`, "m"), `a line for ${step} in:\n${err}`);
    assert.doesNotMatch(err, /"level":/, "no JSON on the terminal");
    // The file logger writes asynchronously: the line follows the terminal's shortly.
    await eventually(
      () => /"msg":"sandbox ready"/.test(readFileSync(join(dir, "logs", "sandbox.log"), "utf8")),
      10_000,
      "JSON logs in the file",
    );

    await kubectl(["run", "survivor", "--image=busybox", "--", "sleep", "3600"]);
    await kubectl(["wait", "--for=condition=Ready", "pod/survivor", "--timeout=90s"]);
    const before = JSON.parse(await kubectl(["get", "pod", "survivor", "-o", "json"]));
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const pids = pidsOf(dir);
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGINT");
    assert.equal(await exited, 0);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} stopped`);
    assert.match(err, /^ {2}stopped +\d+\.\d s/m);
    // Nothing of it runs or routes: no process names the dir (containers and their shims
    // included), no network namespace or link of its instance is left.
    const mentioning = (await run("pgrep", ["-f", dir])).stdout.trim();
    assert.equal(mentioning, "", "no process of the sandbox is left");
    assert.doesNotMatch((await run("ip", ["netns", "list"])).stdout, new RegExp(cfg.instanceId));
    assert.doesNotMatch((await run("ip", ["-o", "link", "show"])).stdout, new RegExp(cfg.instanceId));
    assert.equal(existsSync(join(dir, "state.json")), false);
    assert.ok(existsSync(join(dir, "etcd")), "stopping keeps the data");

    // The next up: the pod runs again, in a new sandbox, as after a reboot.
    const again = await run(RAVEN, ["sandbox", "up", "--detach", "--dir", dir], { timeoutMs: 120_000 });
    assert.equal(again.code, 0, again.stderr);
    await eventually(
      async () => {
        const p = JSON.parse(await kubectl(["get", "pod", "survivor", "-o", "json"]));
        const started = p.status?.containerStatuses?.[0]?.state?.running?.startedAt;
        return (
          p.status?.phase === "Running" &&
          started &&
          started > before.status.containerStatuses[0].state.running.startedAt
        );
      },
      120_000,
      "the pod running again, started anew",
    );
    assert.equal((await run(RAVEN, ["sandbox", "stop", "--dir", dir], { timeoutMs: 120_000 })).code, 0);
    assert.equal((await run("pgrep", ["-f", dir])).stdout.trim(), "", "stop leaves no process either");
  } finally {
    child.kill("SIGKILL");
    await run(RAVEN, ["sandbox", "down", "--dir", dir], { timeoutMs: 120_000 });
    rmSync(dir, { recursive: true, force: true });
  }
});
