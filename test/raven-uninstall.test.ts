// `raven controller --uninstall`: with the controller stopped, it releases everything Raven
// owns and removes its marks, so a namespace with pods and Services (carrying the finalizers an
// earlier Raven version added) then finishes deleting. While a replica leads it refuses.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isNotFound } from "../src/kube/errors.ts";
import { NAMESPACES, PODS, SERVICES } from "../src/kube/resource.ts";
import { FLOATINGIPS, LOADBALANCERS, NETWORKS, PORTS, SUBNETS } from "../src/sdn/embedded/resources.ts";
import { startRaven, stopAll } from "./support/raven-process.ts";
import { eventually, run, type Sandbox, startSandbox } from "./support/sandbox.ts";

const RAVEN = fileURLToPath(new URL("../bin/raven", import.meta.url));
const LEGACY = {
  pod: "raven.io/port-cleanup",
  service: "raven.io/lb-cleanup",
  namespace: "raven.io/network-cleanup",
};

let sb: Sandbox;
before(async () => {
  sb = await startSandbox({ virtualNodes: 1, backend: "embedded", ravenController: false });
});
after(async () => {
  await stopAll();
  await sb?.stop();
});

const uninstall = (leaseSeconds: number) => {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return run(
    RAVEN,
    [
      "controller",
      "--uninstall",
      "--kubeconfig",
      join(sb.dir, "raven-controller.kubeconfig"),
      "--lease-duration",
      String(leaseSeconds),
    ],
    { env, timeoutMs: 120_000 },
  );
};

test("uninstall refuses while a replica leads, then releases everything; a namespace with legacy finalizers finishes deleting", async () => {
  const k = async (args: string[], input?: string) => {
    const r = await sb.kubectl(args, { input });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const ctl = startRaven(sb, "ctl", ["--identity", "ctl", "--lease-duration", "6"]);
  await ctl.waitForLog((l) => l.msg === "started leading", 60_000, "the controller leads");
  await k(["create", "namespace", "bye"]);
  await k(["-n", "bye", "run", "web", "--image=nginx", "--labels=app=web"]);
  await k(
    ["-n", "bye", "create", "-f", "-"],
    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: LoadBalancer, selector: {app: web}, externalIPs: [172.16.0.40], ports: [{port: 80}]}\n",
  );
  await eventually(
    async () => (await sb.client.get(SERVICES, "bye", "web")).status?.loadBalancer?.ingress?.length === 1,
    30_000,
    "the Service's ingress",
  );
  await eventually(
    async () => (await sb.client.get(PODS, "bye", "web")).metadata.annotations?.["raven.io/port"],
    30_000,
    "the pod's port annotation",
  );
  const refused = await uninstall(2);
  assert.notEqual(refused.code, 0, "no uninstall under a running leader");
  assert.match(refused.stderr, /held by ctl: stop raven-controller first/);
  assert.ok((await sb.client.list(PORTS)).items.length > 0, "nothing was released");

  await ctl.kill("SIGTERM");
  // What an earlier Raven version left on its objects (this version removes them as it goes,
  // so they are added once it is stopped).
  const addFinalizer = (res: typeof PODS, ns: string, name: string, f: string) =>
    sb.client.patch(res, ns, name, "merge", { metadata: { finalizers: [f] } });
  await addFinalizer(PODS, "bye", "web", LEGACY.pod);
  await addFinalizer(SERVICES, "bye", "web", LEGACY.service);
  await addFinalizer(NAMESPACES, "", "bye", LEGACY.namespace);
  const done = await uninstall(6);
  assert.equal(done.code, 0, done.stderr);
  assert.match(
    done.stdout,
    // The load balancers: web's and the kubernetes Service's (whose annotations are cleaned too).
    /raven uninstalled: released 2 floating IPs, 2 load balancers, 1 ports, \d+ networks; cleaned 4 /,
  );
  for (const res of [PORTS, LOADBALANCERS, FLOATINGIPS, NETWORKS, SUBNETS])
    assert.deepEqual(
      (await sb.client.list(res)).items.map((o) => o.metadata.name),
      [],
      `no ${res.plural} remain`,
    );
  const pod = await sb.client.get(PODS, "bye", "web");
  assert.equal(pod.metadata.annotations?.["raven.io/port"], undefined);
  assert.deepEqual(pod.metadata.finalizers ?? [], []);
  const svc = await sb.client.get(SERVICES, "bye", "web");
  assert.equal(svc.metadata.annotations?.["raven.io/lb-vip"], undefined);
  assert.deepEqual(svc.metadata.finalizers ?? [], []);
  assert.deepEqual(svc.status?.loadBalancer?.ingress ?? [], []);

  await k(["delete", "namespace", "bye", "--timeout=60s"]);
  await eventually(
    async () => {
      try {
        await sb.client.get(NAMESPACES, "", "bye");
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    },
    60_000,
    "the namespace gone",
  );
});
