// CniExec against stand-in plugins (shell scripts that echo what they were given); the
// reference plugins themselves run in test/attachments.test.ts.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CniError, CniExec } from "./cni-exec.ts";

const dir = mkdtempSync(join(tmpdir(), "raven-cni-exec-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function plugin(name: string, body: string): void {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}
// Echoes its parameters and configuration as the result; logs each call to calls.log.
plugin(
  "echo",
  `conf=$(cat); echo "$CNI_COMMAND $CNI_IFNAME" >> ${dir}/calls.log
printf '{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.2/24"}],"seen":{"command":"%s","containerId":"%s","netns":"%s","ifname":"%s","args":"%s","path":"%s"},"conf":%s}' "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_ARGS" "$CNI_PATH" "$conf"`,
);
plugin(
  "fails",
  `cat >/dev/null; printf '{"cniVersion":"1.0.0","code":11,"msg":"try again","details":"busy"}'; exit 1`,
);
plugin("mute", "cat >/dev/null; echo oops >&2; exit 3");

const exec = new CniExec({ path: ["/nonexistent", dir] });
const inv = {
  containerId: "sandbox-1",
  netns: "/run/netns/x",
  ifname: "net1",
  args: { K8S_POD_NAME: "web", K8S_POD_NETWORK: "data" },
  runtimeConfig: { ips: ["10.9.0.5/24"], mac: "02:00:00:00:00:01" },
};

test("ADD sets the CNI_* variables and the configuration as a runtime does; runtimeConfig only for declared capabilities", async () => {
  const r = (await exec.add(
    { cniVersion: "1.0.0", name: "data", type: "echo", capabilities: { ips: true }, bridge: "br9" },
    inv,
  )) as any;
  assert.deepEqual(r.seen, {
    command: "ADD",
    containerId: "sandbox-1",
    netns: "/run/netns/x",
    ifname: "net1",
    args: "IgnoreUnknown=1;K8S_POD_NAME=web;K8S_POD_NETWORK=data",
    path: `/nonexistent:${dir}`,
  });
  assert.deepEqual(r.conf, {
    cniVersion: "1.0.0",
    name: "data",
    type: "echo",
    bridge: "br9",
    runtimeConfig: { ips: ["10.9.0.5/24"] },
  });
});

test("a conflist chains ADD results as prevResult, and DELs in reverse with the ADD's result", async () => {
  rmSync(join(dir, "calls.log"), { force: true });
  const list = {
    cniVersion: "1.0.0",
    name: "chain",
    plugins: [
      { type: "echo", n: 1 },
      { type: "echo", n: 2 },
    ],
  };
  const r = (await exec.add(list, inv)) as any;
  assert.equal(r.conf.n, 2);
  assert.equal(r.conf.name, "chain");
  assert.equal(r.conf.prevResult.conf.n, 1, "the second plugin got the first one's result");
  await exec.del(list, inv, { cniVersion: "1.0.0", ips: [{ address: "10.9.0.2/24" }] });
  assert.deepEqual(readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n"), [
    "ADD net1",
    "ADD net1",
    "DEL net1",
    "DEL net1",
  ]);
});

test("a plugin's JSON error keeps its code, message and details; a plugin without one says what it printed", async () => {
  await assert.rejects(
    exec.add({ type: "fails", name: "x" }, inv),
    (e: unknown) =>
      e instanceof CniError && e.code === 11 && /ADD failed: try again \(busy\)/.test(e.message),
  );
  await assert.rejects(
    exec.add({ type: "mute", name: "x" }, inv),
    (e: unknown) => e instanceof CniError && /oops/.test(e.message),
  );
  assert.throws(() => exec.find("nope"), /no plugin "nope" in \/nonexistent:/);
  assert.throws(() => exec.find("../echo"), /not a plugin name/);
});
