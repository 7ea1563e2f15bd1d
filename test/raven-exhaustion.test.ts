// A full subnet: the pod that does not fit gets a Warning event and waits (no crash, no
// duplicate IP), and is served as soon as an address is released.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));
let sb: Sandbox;
let controller: ChildProcess | undefined;

before(async () => {
  sb = await startSandbox({ virtualNodes: 1, backend: "embedded", ravenController: false });
  // Namespaces get a /29: five assignable addresses (.2 to .6).
  controller = spawn(
    RAVEN,
    [
      "controller",
      "--kubeconfig",
      `${sb.dir}/raven-controller.kubeconfig`,
      "--listen",
      "127.0.0.1:0",
      "--no-leader-elect",
      "--namespace-prefix-length",
      "29",
    ],
    { stdio: "ignore" },
  );
});
after(async () => {
  controller?.kill("SIGKILL");
  await sb?.stop();
});

test("the sixth pod of a /29 namespace waits with an event until an address is freed", async () => {
  const k = async (args: string[], input?: string) => {
    const r = await sb.kubectl(args, { input });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  await k(["create", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata: {name: small}\n");
  for (let i = 1; i <= 6; i++) await k(["-n", "small", "run", `p${i}`, "--image=nginx"]);
  const ips = async () => {
    const pods = JSON.parse(await k(["-n", "small", "get", "pods", "-o", "json"])).items;
    return new Map<string, string>(pods.map((p: any) => [p.metadata.name, p.status.podIP ?? ""]));
  };
  await eventually(
    async () => [...(await ips()).values()].filter(Boolean).length === 5,
    30_000,
    "five pods with IPs",
  );
  const got = await ips();
  const assigned = [...got.values()].filter(Boolean);
  assert.equal(new Set(assigned).size, 5, "no duplicate IP");
  for (const ip of assigned) assert.match(ip, /^192\.168\.\d+\.[2-6]$/, "inside the pool");
  const waiting = [...got.entries()].find(([, ip]) => !ip)![0];
  await eventually(
    async () =>
      /FailedAllocateIP.*has no free address/.test(
        await k(["-n", "small", "get", "events", "--field-selector", `involvedObject.name=${waiting}`]),
      ),
    20_000,
    "a Warning event on the waiting pod",
  );
  const victim = [...got.entries()].find(([, ip]) => ip)![0];
  await k(["-n", "small", "delete", "pod", victim]);
  await eventually(
    async () => Boolean((await ips()).get(waiting)),
    60_000,
    "the waiting pod gets the freed address",
  );
  assert.equal(controller?.exitCode, null, "the controller is still running");
});
