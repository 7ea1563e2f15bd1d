import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { test } from "node:test";
import { systemClock } from "../../../kube/clock.ts";
import { FakeClock } from "../../../kube/fake-clock.ts";
import { tcpProbe } from "./tcp-probe.ts";
import { closedPort, tcpServer } from "./testing.ts";

test("an open port succeeds and the connection is closed again", async (t) => {
  const srv = await tcpServer();
  t.after(srv.close);
  assert.deepEqual(await tcpProbe("127.0.0.1", srv.port, 1000, systemClock), {
    result: "success",
    output: "",
  });
  assert.equal(srv.hits(), 1);
});

test("a closed port fails with Go's dial error", async () => {
  const port = await closedPort();
  assert.deepEqual(await tcpProbe("127.0.0.1", port, 1000, systemClock), {
    result: "failure",
    output: `dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
});

test("a connect that hangs fails at the timeout with Go's i/o timeout, leaving no timer", async (t) => {
  // A listener that never accepts, with its backlog filled: the kernel drops further SYNs, so a
  // connect hangs, all on 127.0.0.1. (Node accepts eagerly, hence the small Python helper.)
  const child = spawn("python3", [
    "-c",
    "import socket,sys\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()",
  ]);
  t.after(() => child.kill("SIGKILL"));
  const [line] = (await once(child.stdout, "data")) as [Buffer];
  const port = Number(line.toString().trim());
  const fillers: net.Socket[] = [];
  t.after(() => {
    for (const s of fillers) s.destroy();
  });
  for (let i = 0; i < 3; i++) {
    const s = net.connect({ host: "127.0.0.1", port });
    s.on("error", () => {});
    fillers.push(s);
  }
  await new Promise((r) => setTimeout(r, 100));
  const clock = new FakeClock();
  let settled = false;
  const pending = tcpProbe("127.0.0.1", port, 1000, clock).finally(() => {
    settled = true;
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(settled, false, "the connect hangs");
  await clock.advance(1000);
  assert.deepEqual(await pending, { result: "failure", output: `dial tcp 127.0.0.1:${port}: i/o timeout` });
  assert.equal(clock.pending(), 0);
});
