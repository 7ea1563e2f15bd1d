// The raven-cni bundle as the runtime runs it: one file of Node builtins and the CNI contract,
// behind a wrapper in the CNI bin dir.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildCniBundle, installCniPlugin, ravenConflist } from "./cni-plugin.ts";

let dir: string;
let inputs: string[];
let plugin: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "raven-cni-bundle-"));
  const bundle = join(dir, "lib", "raven-cni.cjs");
  inputs = await buildCniBundle(bundle);
  plugin = installCniPlugin(join(dir, "bin"), bundle);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const runPlugin = (env: Record<string, string>, stdin: string) =>
  new Promise<{ code: number; stdout: string }>((resolve) => {
    const child = execFile(plugin, [], { env: { PATH: process.env.PATH, ...env } }, (err, stdout) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout) }),
    );
    child.stdin?.end(stdin);
  });

test("the bundle holds raven-cni and the CNI contract, and nothing else", () => {
  assert.deepEqual(inputs.sort(), ["src/api/cni.ts", "src/cni/main.ts", "src/cni/shim.ts"]);
});

test("the installed plugin answers VERSION, and 'try again later' while no agent listens", async () => {
  const v = await runPlugin({ CNI_COMMAND: "VERSION" }, "");
  assert.equal(v.code, 0);
  assert.equal(JSON.parse(v.stdout).cniVersion, "1.1.0");
  const config = ravenConflist({ agentSocket: join(dir, "no-agent.sock") }) as { plugins: object[] };
  const add = await runPlugin(
    {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "c1",
      CNI_NETNS: "/var/run/netns/x",
      CNI_IFNAME: "eth0",
      CNI_ARGS: "K8S_POD_NAME=p",
      CNI_PATH: join(dir, "bin"),
    },
    JSON.stringify({ cniVersion: "1.0.0", name: "raven", ...config.plugins[0] }),
  );
  assert.equal(add.code, 1);
  assert.equal(JSON.parse(add.stdout).code, 11);
});
