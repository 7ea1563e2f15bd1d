// deploy/controller.yaml's RBAC against what raven-controller really does: the sandbox's audit
// log records every request of the controller's identity during a seed-like workload; each
// must be allowed, and every permission granted must have been used (least privilege).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { allowed, type Request, rulesFor } from "./support/rbac.ts";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

const MANIFEST = fileURLToPath(new URL("../deploy/controller.yaml", import.meta.url));
const USER = "system:serviceaccount:kube-system:raven-controller";

let sb: Sandbox;
before(async () => {
  sb = await startSandbox({ virtualNodes: 1, backend: "embedded", audit: true });
});
after(async () => {
  await sb?.stop();
});

test("raven-controller needs exactly the permissions deploy/controller.yaml grants", async () => {
  const k = async (args: string[], input?: string) => {
    const r = await sb.kubectl(args, { input });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  // A workload touching every path: namespaces, pods, Services with externalIPs and type
  // LoadBalancer, readiness changes, deletions.
  await k(["create", "namespace", "rbac"]);
  await k(["-n", "rbac", "create", "deployment", "web", "--image=nginx", "--replicas=2", "--port=80"]);
  await k(
    ["-n", "rbac", "create", "-f", "-"],
    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: LoadBalancer, selector: {app: web}, externalIPs: [172.16.0.9, 10.1.1.1], ports: [{port: 80}]}\n",
  );
  await eventually(
    async () =>
      (await k([
        "-n",
        "rbac",
        "get",
        "svc",
        "web",
        "-o",
        "jsonpath={.status.loadBalancer.ingress[0].ip}",
      ])) !== "",
    30_000,
    "ingress",
  );
  await eventually(
    async () =>
      (await k(["-n", "rbac", "get", "svc", "web", "-o", "jsonpath={.metadata.annotations}"])).includes(
        "floating-ip",
      ),
    30_000,
    "FIP annotation",
  );
  await k(["-n", "rbac", "delete", "svc", "web"]);
  await k(["delete", "namespace", "rbac", "--timeout=60s"]);

  const rules = rulesFor(MANIFEST, "kube-system", "raven-controller");
  const requests: Request[] = readFileSync(`${sb.dir}/logs/audit.log`, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((e) => e.user === USER);
  assert.ok(requests.length > 20, `the controller made requests (${requests.length})`);
  const denied = requests.filter((q) => !allowed(rules, q));
  assert.deepEqual(
    [
      ...new Set(
        denied.map(
          (q) =>
            `${q.verb} ${q.apiGroup}/${q.resource}${q.subresource ? `/${q.subresource}` : ""} ${q.namespace}/${q.name}`,
        ),
      ),
    ],
    [],
    "every request is allowed",
  );
  // Least privilege: each granted (group, resource, verb) was used, except grants for paths
  // this workload cannot reach.
  const rarely = new Set([
    "/events/patch", // the same event again within ten minutes
    // Conflict paths: re-reading an object another writer changed or claimed first.
    "raven.io/networks/get",
    "raven.io/subnets/get",
    "raven.io/ports/get",
    "raven.io/loadbalancers/get",
    "raven.io/floatingips/get",
    "raven.io/networks/update", // a namespace's network losing its CIDR race to another replica
    "raven.io/ports/update", // a port re-bound to another node
    "raven.io/floatingips/update", // a floating IP re-pointed to a new VIP
    // Removing finalizers of earlier versions (none in this workload).
    "/namespaces/patch",
    // Races with the garbage collector: a deleted pod's or Service's Port or LoadBalancer may
    // be removed through its ownerReference before the controller releases it.
    "raven.io/ports/delete",
    "raven.io/loadbalancers/delete",
    "raven.io/loadbalancers/update", // members changing while the Service's LB converges
  ]);
  const used = new Set(
    requests.map((q) => `${q.apiGroup}/${q.resource}${q.subresource ? `/${q.subresource}` : ""}/${q.verb}`),
  );
  const unused: string[] = [];
  for (const r of rules)
    for (const g of r.apiGroups)
      for (const res of r.resources)
        for (const v of r.verbs) {
          const key = `${g}/${res}/${v}`;
          if (!used.has(key) && !rarely.has(key)) unused.push(key);
        }
  assert.deepEqual(unused, [], "no permission is granted that the controller never uses");
});
