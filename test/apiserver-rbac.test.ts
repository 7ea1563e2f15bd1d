// The sandbox authorizes: RBAC enforced for every request, with the real kubectl. Tokens map to
// users and groups (an unknown one is 401), grants come from Roles and ClusterRoles through
// their bindings (a known user without one gets upstream's 403), `kubectl --as` impersonates
// only with an impersonate grant, `kubectl auth can-i` and `auth whoami` answer, and
// `kubectl apply -f deploy/` (Raven's RBAC included) works.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { KubeClient } from "../src/kube/client.ts";
import { KubeApiError } from "../src/kube/errors.ts";
import { NAMESPACES, PODS } from "../src/kube/resource.ts";
import { type Sandbox, startSandbox } from "./support/sandbox.ts";

const DEPLOY = fileURLToPath(new URL("../deploy/", import.meta.url));
const CONTROLLER = "system:serviceaccount:kube-system:raven-controller";

let sb: Sandbox;
before(async () => {
  sb = await startSandbox({ virtualNodes: 1, backend: "embedded" });
});
after(async () => {
  await sb?.stop();
});

const kubectl = (args: string[], kubeconfig?: string) =>
  sb.kubectl(args, kubeconfig ? { env: { KUBECONFIG: kubeconfig } } : {});
const canI = async (args: string[]) => {
  const r = await kubectl(["auth", "can-i", ...args]);
  return r.stdout.trim();
};

test("kubectl auth can-i answers for raven-controller's service account as deploy/ grants it", async () => {
  assert.equal(await canI(["delete", "namespaces", `--as=${CONTROLLER}`]), "no");
  assert.equal(await canI(["patch", "pods", `--as=${CONTROLLER}`]), "yes");
  assert.equal(await canI(["list", "pods", "--all-namespaces", `--as=${CONTROLLER}`]), "yes");
  assert.equal(await canI(["create", "pods", `--as=${CONTROLLER}`]), "no");
  assert.equal(
    await canI(["update", "leases/raven-controller", "-n", "kube-system", `--as=${CONTROLLER}`]),
    "yes",
  );
  assert.equal(await canI(["update", "leases/another", "-n", "kube-system", `--as=${CONTROLLER}`]), "no");
  assert.equal(await canI(["get", "secrets", `--as=${CONTROLLER}`]), "no");
  const list = await kubectl(["auth", "can-i", "--list", `--as=${CONTROLLER}`, "-n", "kube-system"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /leases\.coordination\.k8s\.io\s+\[\]\s+\[raven-controller\]\s+\[get update\]/);
  assert.match(list.stdout, /ports\.raven\.io\s+\[\]\s+\[\]\s+\[get list watch create update delete\]/);
});

test("an unknown token is 401; a known one without the grant is 403 in Kubernetes' words", async () => {
  const cfg = await KubeClient.fromKubeConfig({ path: join(sb.dir, "raven-controller.kubeconfig") });
  const { apiserverPort } = JSON.parse(readFileSync(join(sb.dir, "config.json"), "utf8"));
  const stranger = new KubeClient({
    server: `https://127.0.0.1:${apiserverPort}`,
    ca: readFileSync(join(sb.dir, "pki", "ca.crt")),
    headers: { Authorization: "Bearer not-a-token" },
  });
  try {
    await assert.rejects(stranger.list(PODS), (e: unknown) => e instanceof KubeApiError && e.code === 401);
    await assert.rejects(cfg.delete(NAMESPACES, "", "default"), (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.equal(e.code, 403);
      assert.equal(e.reason, "Forbidden");
      assert.equal(
        e.status.message,
        `namespaces "default" is forbidden: User "${CONTROLLER}" cannot delete resource "namespaces" in API group "" in the namespace "default"`,
      );
      return true;
    });
    // What it is granted, it may.
    assert.ok((await cfg.list(PODS)).items !== undefined);
  } finally {
    await stranger.close();
    await cfg.close();
  }
});

test("a RoleBinding grants in its namespace only; kubectl shows the 403", async () => {
  assert.equal((await kubectl(["create", "namespace", "team"])).code, 0);
  const bind = await kubectl([
    "create",
    "rolebinding",
    "alice-view",
    "--clusterrole=view",
    "--user=alice",
    "-n",
    "team",
  ]);
  assert.equal(bind.code, 0, bind.stderr);
  assert.equal(await canI(["list", "pods", "-n", "team", "--as=alice"]), "yes");
  assert.equal(await canI(["list", "pods", "-n", "default", "--as=alice"]), "no");
  assert.equal(await canI(["delete", "pods", "-n", "team", "--as=alice"]), "no");
  const denied = await kubectl(["get", "pods", "-n", "default", "--as=alice"]);
  assert.notEqual(denied.code, 0);
  assert.match(
    denied.stderr,
    /Error from server \(Forbidden\): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"/,
  );
  const shown = await kubectl(["get", "rolebinding", "alice-view", "-n", "team", "-o", "wide"]);
  assert.match(shown.stdout, /alice-view\s+ClusterRole\/view\s+\S+\s+alice/);
});

test("impersonation needs its own grant; auth whoami names the identity", async () => {
  const asController = join(sb.dir, "raven-controller.kubeconfig");
  const r = await kubectl(["get", "pods", "--as=admin"], asController);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    new RegExp(
      `users "admin" is forbidden: User "${CONTROLLER}" cannot impersonate resource "users" in API group "" at the cluster scope`,
    ),
  );
  const who = await kubectl(["auth", "whoami"], asController);
  assert.equal(who.code, 0, who.stderr);
  assert.match(who.stdout, new RegExp(`Username\\s+${CONTROLLER}`));
  assert.match(who.stdout, /system:serviceaccounts:kube-system/);
});

test("kubectl apply -f deploy/ applies Raven's manifests, RBAC included", async () => {
  const r = await kubectl(["apply", "-f", DEPLOY]);
  assert.equal(r.code, 0, r.stderr);
  for (const what of [
    "serviceaccount/raven-controller",
    "clusterrole.rbac.authorization.k8s.io/raven-controller",
    "clusterrolebinding.rbac.authorization.k8s.io/raven-controller",
    "role.rbac.authorization.k8s.io/raven-controller-leader-election",
    "rolebinding.rbac.authorization.k8s.io/raven-controller-leader-election",
    "deployment.apps/raven-controller",
    "serviceaccount/raven-agent",
    "clusterrole.rbac.authorization.k8s.io/raven-agent",
    "clusterrolebinding.rbac.authorization.k8s.io/raven-agent",
    "daemonset.apps/raven-agent",
  ])
    assert.match(r.stdout, new RegExp(`^${what.replace(/\./g, "\\.")} `, "m"));
  assert.doesNotMatch(r.stderr, /Warning/, "the sandbox applied them as kubectl does");
});
