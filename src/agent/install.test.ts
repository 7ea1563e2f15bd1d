// What the DaemonSet's agent installs on a node, run by the "runtime" from the host's paths.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CONFLIST_NAME, installCni } from "./install.ts";

const host = mkdtempSync(join(tmpdir(), "raven-install-"));
after(() => rmSync(host, { recursive: true, force: true }));

test("the plugin, its own Node and the conflist land in the host's dirs; the plugin runs from there", async () => {
  // The host's / is `host` as the container sees it; the runtime sees /opt/cni/bin etc.
  const o = {
    hostRoot: host,
    cniBinDir: "/opt/cni/bin",
    cniConfDir: "/etc/cni/net.d",
    agentSocket: "/run/raven/agent.sock",
  };
  const r = await installCni(o);
  assert.deepEqual(r, { plugin: "/opt/cni/bin/raven-cni", conflist: `/etc/cni/net.d/${CONFLIST_NAME}` });
  const wrapper = readFileSync(join(host, "opt/cni/bin/raven-cni"), "utf8");
  assert.match(
    wrapper,
    /exec '\/opt\/cni\/bin\/raven-cni\.d\/node' '\/opt\/cni\/bin\/raven-cni\.d\/raven-cni\.cjs'/,
  );
  const conflist = JSON.parse(readFileSync(join(host, "etc/cni/net.d", CONFLIST_NAME), "utf8"));
  assert.equal(conflist.plugins[0].type, "raven-cni");
  assert.equal(conflist.plugins[0].agentSocket, "/run/raven/agent.sock");
  // Run it as the runtime would, with the host's paths mapped to where they are here.
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      join(host, "opt/cni/bin/raven-cni.d/node"),
      [join(host, "opt/cni/bin/raven-cni.d/raven-cni.cjs")],
      { env: { CNI_COMMAND: "VERSION" }, timeout: 30_000 },
      (err, stdout) => (err ? reject(err) : resolve(String(stdout))),
    );
    child.stdin?.end("{}");
  });
  assert.ok(JSON.parse(out).supportedVersions.includes("1.1.0"));
  // A second install (the agent restarted) replaces what is there.
  await installCni(o);
});
