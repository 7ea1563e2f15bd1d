import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../kube/log.ts";
import type { Port, PortState } from "../sdn/model.ts";
import { PortStatusReporter } from "./port-status.ts";

const port = (id: string, status: PortState) => ({ id, status }) as Port;

test("the wanted state reaches the backend, retried until it is written; the last wish wins", async () => {
  const written: string[] = [];
  let failures = 2;
  const reporter = new PortStatusReporter(
    {
      async setPortStatus(id, state) {
        if (failures-- > 0) throw new Error("apiserver unavailable");
        written.push(`${id} ${state}`);
      },
    },
    silentLogger,
  );
  const abort = new AbortController();
  const running = reporter.run(abort.signal);
  reporter.set("a", "ACTIVE");
  reporter.set("a", "DOWN");
  for (let i = 0; i < 400 && written.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(written, ["a DOWN"]);
  abort.abort();
  await running;
});

test("resync: bound ports ACTIVE, other ACTIVE ports of the node DOWN, DOWN ones left alone", async () => {
  const written: string[] = [];
  const reporter = new PortStatusReporter(
    { setPortStatus: async (id, state) => void written.push(`${id} ${state}`) },
    silentLogger,
  );
  reporter.resync(new Set(["bound"]), [port("bound", "DOWN"), port("stale", "ACTIVE"), port("idle", "DOWN")]);
  const abort = new AbortController();
  const running = reporter.run(abort.signal);
  for (let i = 0; i < 400 && written.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(written.sort(), ["bound ACTIVE", "stale DOWN"]);
  abort.abort();
  await running;
});
