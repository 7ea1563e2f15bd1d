// With --annotation-prefix kuryr.org --annotation-names kuryr, the seeds' annotation keys
// come out literally (kuryr.org/neutron-port, -subnet, -vip, -pool).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

let sb: Sandbox;
before(async () => {
  sb = await startSandbox({
    virtualNodes: 1,
    backend: "embedded",
    args: ["--annotation-prefix", "kuryr.org", "--annotation-names", "kuryr"],
  });
});
after(async () => {
  await sb?.stop();
});

test("the seeds' kubectl template output, key for key", async () => {
  const k = async (args: string[], input?: string) => {
    const r = await sb.kubectl(args, { input });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  await k(
    ["create", "-f", "-"],
    "apiVersion: v1\nkind: Pod\nmetadata: {name: nginx, labels: {app: demo}}\nspec: {containers: [{name: nginx, image: nginx}]}\n",
  );
  await eventually(
    async () =>
      (await k(["get", "pod", "nginx", "-o", "template", "--template={{.status.podIP}}"])) === "192.168.0.2",
    20_000,
    "podIP from the port",
  );
  const pod = await k(["get", "pod", "nginx", "-o", "template", "--template={{.metadata.annotations}}"]);
  assert.match(
    pod,
    /^map\[kuryr\.org\/neutron-port:\{"id":"[0-9a-f-]{36}","name":"nginx",.*"ip_address":"192\.168\.0\.2".*\} kuryr\.org\/neutron-subnet:\{.*"cidr":"192\.168\.0\.0\/24".*\}\]$/,
  );
  await k(
    ["create", "-f", "-"],
    "apiVersion: v1\nkind: Service\nmetadata: {name: demo}\nspec: {ports: [{port: 80}], selector: {app: demo}}\n",
  );
  await eventually(
    async () => {
      const svc = await k([
        "get",
        "service",
        "demo",
        "-o",
        "template",
        "--template={{.metadata.annotations}}",
      ]);
      return /^map\[kuryr\.org\/neutron-pool:\{.*"lb_method":"ROUND_ROBIN".*\} kuryr\.org\/neutron-vip:\{.*"protocol_port":80.*\}\]$/.test(
        svc,
      );
    },
    20_000,
    "neutron-pool and neutron-vip annotations",
  );
});
