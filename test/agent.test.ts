// raven-agent and raven-cni on a real node, with the real kubectl: seed 000 step 4 (inside the
// container, eth0 has exactly the port's address and MAC; status.podIP is the port's address),
// and a pod created with a forged port annotation naming another pod's port does not start with
// that address (the agent refuses; a Warning Event says why).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { PODS } from "../src/kube/resource.ts";
import { type RavenProcess, startRaven, stopAll } from "./support/raven-process.ts";
import { eventually, run, type Sandbox, startSandbox } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));

let sb: Sandbox;
let controller: RavenProcess;
before(async () => {
  sb = await startSandbox({ nodes: 1, backend: "embedded", ravenController: false });
  controller = startRaven(sb, "agent-test", ["--no-leader-elect"]);
});
after(async () => {
  await stopAll();
  await sb?.stop();
});

const k = async (args: string[], input?: string) => {
  const r = await sb.kubectl(args, { input, timeoutMs: 90_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

test("seed 000 step 4 on a real node: the container's eth0 is the port (address and MAC), and so is status.podIP", async () => {
  await k(["run", "nginx", "--image=nginx"]);
  await k(["wait", "--for=condition=Ready", "pod/nginx", "--timeout=90s"]);
  const port = JSON.parse(
    await k(["get", "pod", "nginx", "-o", "jsonpath={.metadata.annotations.raven\\.io/port}"]),
  );
  const ip = port.fixed_ips[0].ip_address;
  const ipv4 = await k(["exec", "nginx", "--", "ip", "-4", "a"]);
  const inets = [...ipv4.matchAll(/inet (\S+)/g)].map((m) => m[1]);
  assert.deepEqual(inets.sort(), ["127.0.0.1/8", `${ip}/24`].sort(), ipv4);
  assert.match(
    await k(["exec", "nginx", "--", "ip", "link", "show", "eth0"]),
    new RegExp(`link/ether ${port.mac_address} `),
  );
  assert.equal(await k(["get", "pod", "nginx", "-o", "template", "--template", "{{.status.podIP}}"]), ip);
  // The agent marked the port ACTIVE once bound: `raven net ports` says so, and so does the annotation.
  const listed = await eventually(
    async () => {
      const r = await run(RAVEN, [
        "net",
        "ports",
        "-o",
        "json",
        "--name",
        "nginx",
        "--kubeconfig",
        sb.kubeconfig,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const [p] = JSON.parse(r.stdout);
      return p?.status === "ACTIVE" ? p : undefined;
    },
    30_000,
    "the port ACTIVE in raven net ports",
  );
  assert.equal(listed.id, port.id);
  await eventually(
    async () =>
      JSON.parse(await k(["get", "pod", "nginx", "-o", "jsonpath={.metadata.annotations.raven\\.io/port}"]))
        .status === "ACTIVE",
    30_000,
    "the port annotation showing ACTIVE",
  );
  // The node reaches it at that address (through the network's bridge, whose gateway it holds).
  const page = await k(["exec", "nginx", "--", "wget", "-qO-", `http://${ip}/`]);
  assert.match(page, /Welcome to nginx!/);
});

test("a forged port annotation naming another pod's port is refused: the pod never gets that address", async () => {
  const victim = await sb.client.get(PODS, "default", "nginx");
  const forged = victim.metadata.annotations!["raven.io/port"];
  const stolen = JSON.parse(forged).fixed_ips[0].ip_address;
  // No controller to overwrite the forgery with the thief's own port.
  await controller.kill("SIGTERM");
  await sb.client.create(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "thief", namespace: "default", annotations: { "raven.io/port": forged } },
    spec: { containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"] }] },
  });
  const event = await eventually(
    async () => {
      const events = JSON.parse(
        await k([
          "get",
          "events",
          "--field-selector",
          "involvedObject.name=thief,reason=PortRejected",
          "-o",
          "json",
        ]),
      ).items;
      return events[0];
    },
    90_000,
    "a PortRejected event on the thief",
  );
  assert.equal(event.type, "Warning");
  assert.match(event.message, /is not a port of pod default\/thief/);
  assert.equal(event.source?.component ?? event.reportingComponent, "raven-agent");
  const thief = await sb.client.get(PODS, "default", "thief");
  assert.notEqual(thief.status?.podIP, stolen, "the thief never has the victim's address");
  assert.notEqual(thief.status?.phase, "Running");
  await sb.client.delete(PODS, "default", "thief", { gracePeriodSeconds: 0 });
});
