// The agent's CNI socket as raven-cni uses it: a request, a half-close, then the answer.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "../kube/log.ts";
import { serveCni } from "./cni-server.ts";

function ask(socket: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket, () => conn.end(body));
    let out = "";
    conn.on("data", (d) => {
      out += d;
    });
    conn.on("close", () => resolve(out));
    conn.on("error", reject);
  });
}

test("the answer comes after the plugin half-closes, however long the binder takes; only root may connect", async () => {
  const dir = mkdtempSync(join(tmpdir(), "raven-agent-sock-"));
  const socket = join(dir, "run", "agent.sock");
  const server = await serveCni(
    socket,
    async (req) => {
      await new Promise((r) => setTimeout(r, 50));
      return { result: { cniVersion: "1.0.0", seen: req.command } };
    },
    silentLogger,
  );
  try {
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    const req = { command: "ADD", containerId: "c", netns: "/x", ifname: "eth0", args: {}, config: {} };
    assert.deepEqual(JSON.parse(await ask(socket, JSON.stringify(req))), {
      result: { cniVersion: "1.0.0", seen: "ADD" },
    });
    const bad = JSON.parse(await ask(socket, "{nope"));
    assert.equal(bad.error.code, 6);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
