// raven-cni against an agent on a real unix socket (a fake that answers what a test says).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { CniReply, CniRequest } from "../api/cni.ts";
import { callAgent, runCni } from "./shim.ts";

let dir: string;
let server: Server;
let socket: string;
let seen: CniRequest[] = [];
let answer: (r: CniRequest) => CniReply | "hang" | "garbage" = () => ({});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "raven-cni-"));
  socket = join(dir, "agent.sock");
  // Half-open: the agent may keep the connection after the plugin's request (a slow or stuck agent).
  server = createServer({ allowHalfOpen: true }, (conn) => {
    let text = "";
    conn.on("data", (d) => {
      text += d;
    });
    conn.on("end", () => {
      const req = JSON.parse(text) as CniRequest;
      seen.push(req);
      const a = answer(req);
      if (a === "hang") return;
      conn.end(a === "garbage" ? "{not json" : JSON.stringify(a));
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: "1.0.0", name: "raven", type: "raven-cni", agentSocket: socket, ...extra });
const env = (command: string, extra: Record<string, string> = {}) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: "c1",
  CNI_NETNS: "/var/run/netns/cni-1",
  CNI_IFNAME: "eth0",
  CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx;K8S_POD_UID=u1",
  CNI_PATH: "/usr/lib/cni",
  ...extra,
});

test("ADD goes to the agent with the environment and config; its result is printed as is", async () => {
  seen = [];
  const result = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "eth0" }],
    ips: [{ address: "192.168.0.2/24" }],
  };
  answer = () => ({ result });
  const out = await runCni(env("ADD"), config());
  assert.equal(out.exitCode, 0);
  assert.deepEqual(JSON.parse(out.stdout), result);
  assert.equal(seen.length, 1);
  assert.deepEqual(
    { ...seen[0], config: undefined },
    {
      command: "ADD",
      containerId: "c1",
      netns: "/var/run/netns/cni-1",
      ifname: "eth0",
      args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "default", K8S_POD_NAME: "nginx", K8S_POD_UID: "u1" },
      config: undefined,
    },
  );
  assert.equal(seen[0].config.name, "raven");
});

test("containerd's second DEL (no netns, no prevResult) is handed on and prints nothing", async () => {
  seen = [];
  answer = () => ({});
  const out = await runCni(env("DEL", { CNI_NETNS: "" }), config());
  assert.deepEqual(out, { stdout: "", exitCode: 0 });
  assert.equal(seen[0].netns, "");
});

test("an agent's error is printed in the config's CNI version, exit 1", async () => {
  answer = () => ({ error: { cniVersion: "1.1.0", code: 11, msg: "no port for pod default/nginx yet" } });
  const out = await runCni(env("ADD"), config());
  assert.equal(out.exitCode, 1);
  assert.deepEqual(JSON.parse(out.stdout), {
    cniVersion: "1.0.0",
    code: 11,
    msg: "no port for pod default/nginx yet",
  });
});

test("an unreachable agent: try again later (11), and for STATUS not available (50)", async () => {
  const gone = JSON.stringify({
    cniVersion: "1.1.0",
    name: "raven",
    type: "raven-cni",
    agentSocket: join(dir, "none.sock"),
  });
  const add = await runCni(env("ADD"), gone);
  assert.equal(add.exitCode, 1);
  assert.equal(JSON.parse(add.stdout).code, 11);
  assert.match(JSON.parse(add.stdout).msg, /not reachable/);
  const status = await runCni({ CNI_COMMAND: "STATUS" }, gone);
  assert.equal(JSON.parse(status.stdout).code, 50);
});

test("it never hangs: an agent that does not answer is 'try again later' at the deadline", async () => {
  answer = () => "hang";
  const out = await runCni(env("ADD"), config({ timeoutSeconds: 0.2 }));
  assert.equal(out.exitCode, 1);
  assert.equal(JSON.parse(out.stdout).code, 11);
  assert.match(JSON.parse(out.stdout).details, /no answer within 200 ms/);
});

test("an unreadable answer is an error, not a result", async () => {
  answer = () => "garbage";
  await assert.rejects(
    callAgent(
      socket,
      { command: "CHECK", containerId: "c", netns: "n", ifname: "eth0", args: {}, config: {} },
      5000,
    ),
    /unreadable answer/,
  );
});

test("VERSION is answered without the agent; bad input gets the spec's codes", async () => {
  seen = [];
  const v = await runCni({ CNI_COMMAND: "VERSION" }, "");
  assert.equal(v.exitCode, 0);
  assert.deepEqual(JSON.parse(v.stdout), {
    cniVersion: "1.1.0",
    supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
  });
  const code = async (e: Record<string, string>, stdin: string) =>
    JSON.parse((await runCni(e, stdin)).stdout).code;
  assert.equal(await code(env("ADD"), "{nope"), 6, "undecodable config");
  assert.equal(await code(env("ADD"), config({ cniVersion: "9.9.9" })), 1, "unknown CNI version");
  assert.equal(await code(env("FLY"), config()), 4, "unknown command");
  assert.equal(await code(env("ADD", { CNI_NETNS: "" }), config()), 4, "ADD without a netns");
  assert.equal(await code(env("ADD", { CNI_CONTAINERID: "" }), config()), 4, "ADD without a container");
  assert.equal(await code(env("ADD", { CNI_ARGS: "K8S_POD_NAME" }), config()), 4, "malformed CNI_ARGS");
  assert.deepEqual(seen, [], "none of these reached the agent");
});
