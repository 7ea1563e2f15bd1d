// End to end: the garbage collector, namespace controller and ServiceAccount controller,
// run in this process against a sandbox, driven through the real kubectl.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isNotFound } from "../src/kube/errors.ts";
import type { KubeObject, OwnerReference } from "../src/kube/objects.ts";
import {
  type ApiResource,
  CONFIGMAPS,
  NAMESPACES,
  PODS,
  SECRETS,
  SERVICEACCOUNTS,
} from "../src/kube/resource.ts";
import { GarbageCollector } from "../src/sandbox/controllers/garbage-collector.ts";
import { NamespaceController } from "../src/sandbox/controllers/namespace.ts";
import { ServiceAccountController } from "../src/sandbox/controllers/serviceaccount.ts";
import { EtcdClient } from "../src/sandbox/etcd/client.ts";
import { etcdClientTls } from "../src/sandbox/pki.ts";
import { eventually, runControllers, type Sandbox, startSandbox } from "./support/sandbox.ts";

const WIDGETS: ApiResource = { group: "example.com", version: "v1", plural: "widgets", namespaced: true };
const WIDGET_CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;

let sb: Sandbox;
let stopControllers: (() => Promise<void>) | undefined;

const startControllers = async () => {
  stopControllers = await runControllers(sb, [
    new GarbageCollector({ discoveryIntervalMs: 5000 }),
    new NamespaceController(),
    new ServiceAccountController(),
  ]);
};

before(async () => {
  sb = await startSandbox({
    virtualNodes: 1,
    controllers: "*,-garbagecollector,-namespace-controller,-serviceaccount-controller",
  });
  await startControllers();
  const crd = await sb.kubectl(["apply", "-f", "-"], { input: WIDGET_CRD });
  assert.equal(crd.code, 0, crd.stderr);
  await eventually(
    async () => (await sb.kubectl(["get", "widgets", "-A"])).code === 0,
    20_000,
    "widgets served",
  );
});

after(async () => {
  await stopControllers?.();
  await sb?.stop();
});

// ------------------------------------------------------------------ helpers

async function namespace(name: string): Promise<void> {
  await sb.client.create(NAMESPACES, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

const ref = (owner: KubeObject, block = true): OwnerReference => ({
  apiVersion: owner.apiVersion!,
  kind: owner.kind!,
  name: owner.metadata.name!,
  uid: owner.metadata.uid!,
  blockOwnerDeletion: block,
});

const meta = (ns: string, name: string, owners: OwnerReference[] = [], extra: object = {}) => ({
  name,
  namespace: ns,
  ...(owners.length ? { ownerReferences: owners } : {}),
  ...extra,
});

const configMap = (ns: string, name: string, owners: OwnerReference[] = [], extra: object = {}) =>
  sb.client.create<KubeObject>(CONFIGMAPS, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(ns, name, owners, extra),
  });

const pod = (ns: string, name: string, owners: OwnerReference[] = []) =>
  sb.client.create<KubeObject>(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta(ns, name, owners),
    spec: { containers: [{ name: "c", image: "nginx" }], terminationGracePeriodSeconds: 30 },
  });

const secret = (ns: string, name: string, owners: OwnerReference[] = [], extra: object = {}) =>
  sb.client.create<KubeObject>(SECRETS, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(ns, name, owners, extra),
  });

async function find(res: ApiResource, ns: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await sb.client.get(res, ns, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const gone = async (res: ApiResource, ns: string, name: string) => (await find(res, ns, name)) === undefined;

/** An owner chain: ConfigMap `owner` → pods p1, p2 → Secret `s` (owned by p1). */
async function chain(ns: string) {
  await namespace(ns);
  const owner = await configMap(ns, "owner");
  const p1 = await pod(ns, "p1", [ref(owner)]);
  const p2 = await pod(ns, "p2", [ref(owner)]);
  const s = await secret(ns, "s", [ref(p1)]);
  return { owner, p1, p2, s };
}

// ------------------------------------------------------------------ garbage collector

test("deleting an owner (kubectl's default, background) deletes its dependents, transitively", async () => {
  await chain("gc-bg");
  const r = await sb.kubectl(["delete", "configmap", "owner", "-n", "gc-bg"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await gone(CONFIGMAPS, "gc-bg", "owner"), true);
  await eventually(
    async () =>
      (await gone(PODS, "gc-bg", "p1")) &&
      (await gone(PODS, "gc-bg", "p2")) &&
      (await gone(SECRETS, "gc-bg", "s")),
    30_000,
    "pods and secret collected",
  );
});

test("foreground deletion keeps the owner until its dependents are gone", async () => {
  const ns = "gc-fg";
  const { p1 } = await chain(ns);
  // A second, finalizer-held dependent of p1 keeps the whole chain waiting.
  await secret(ns, "held", [ref(p1)], { finalizers: ["example.com/hold"] });
  const r = await sb.kubectl([
    "delete",
    "configmap",
    "owner",
    "-n",
    ns,
    "--cascade=foreground",
    "--wait=false",
  ]);
  assert.equal(r.code, 0, r.stderr);
  await eventually(
    async () => (await gone(PODS, ns, "p2")) && (await gone(SECRETS, ns, "s")),
    30_000,
    "unblocked dependents deleted",
  );
  const owner = await find(CONFIGMAPS, ns, "owner");
  assert.ok(owner?.metadata.deletionTimestamp, "owner still there, being deleted");
  assert.deepEqual(owner.metadata.finalizers, ["foregroundDeletion"]);
  const waiting = await find(PODS, ns, "p1");
  assert.ok(waiting?.metadata.deletionTimestamp, "p1 waits for its held secret");
  assert.ok((await find(SECRETS, ns, "held"))?.metadata.deletionTimestamp);
  // Release the hold: everything goes, the owner last.
  const patch = await sb.kubectl([
    "patch",
    "secret",
    "held",
    "-n",
    ns,
    "--type=merge",
    "-p",
    '{"metadata":{"finalizers":null}}',
  ]);
  assert.equal(patch.code, 0, patch.stderr);
  await eventually(async () => gone(CONFIGMAPS, ns, "owner"), 30_000, "owner deleted");
  assert.equal(await gone(PODS, ns, "p1"), true);
  assert.equal(await gone(SECRETS, ns, "held"), true);
});

test("kubectl delete --cascade=foreground waits and returns once the dependents are gone", async () => {
  const ns = "gc-fg2";
  await chain(ns);
  const r = await sb.kubectl(["delete", "configmap", "owner", "-n", ns, "--cascade=foreground"], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await gone(CONFIGMAPS, ns, "owner"), true);
  assert.equal(await gone(PODS, ns, "p1"), true);
  assert.equal(await gone(PODS, ns, "p2"), true);
  assert.equal(await gone(SECRETS, ns, "s"), true);
});

test("orphan deletion strips the owner references and keeps the dependents", async () => {
  const ns = "gc-orphan";
  const { owner } = await chain(ns);
  const r = await sb.kubectl(["delete", "configmap", "owner", "-n", ns, "--cascade=orphan"], {
    version: "1.27",
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await gone(CONFIGMAPS, ns, "owner"), true);
  for (const name of ["p1", "p2"]) {
    const p = await find(PODS, ns, name);
    assert.ok(p && !p.metadata.deletionTimestamp, `${name} kept`);
    assert.ok(!(p.metadata.ownerReferences ?? []).some((o) => o.uid === owner.metadata.uid));
  }
  // p1 is still the secret's owner.
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(await find(SECRETS, ns, "s"));
});

test("a dependent whose owner never existed is collected; one with a live owner only loses the dangling reference", async () => {
  const ns = "gc-ghost";
  await namespace(ns);
  const ghost = { apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: randomUUID() };
  await secret(ns, "orphan", [ghost]);
  // A ConfigMap with the owner's name, but another UID, is not the owner.
  await configMap(ns, "impostor");
  await secret(ns, "fooled", [{ ...ghost, name: "impostor" }]);
  const live = await configMap(ns, "live");
  await secret(ns, "mixed", [ghost, ref(live, false)]);
  await eventually(
    async () => (await gone(SECRETS, ns, "orphan")) && (await gone(SECRETS, ns, "fooled")),
    30_000,
    "orphans collected",
  );
  await eventually(
    async () => {
      const mixed = await find(SECRETS, ns, "mixed");
      return (
        mixed?.metadata.ownerReferences?.length === 1 &&
        mixed.metadata.ownerReferences[0].uid === live.metadata.uid
      );
    },
    30_000,
    "dangling reference removed",
  );
  assert.ok(await find(CONFIGMAPS, ns, "impostor"));
});

test("a custom resource owned by a pod is collected when the pod goes", async () => {
  const ns = "gc-cr";
  await namespace(ns);
  const p = await pod(ns, "p", []);
  await sb.client.create(WIDGETS, {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: meta(ns, "w", [ref(p)]),
    spec: { size: 3 },
  });
  const r = await sb.kubectl(["delete", "pod", "p", "-n", ns]);
  assert.equal(r.code, 0, r.stderr);
  await eventually(async () => gone(WIDGETS, ns, "w"), 30_000, "widget collected");
});

// ------------------------------------------------------------------ namespaces

async function etcdKeysOf(ns: string): Promise<string[]> {
  const cfg = JSON.parse(readFileSync(join(sb.dir, "config.json"), "utf8"));
  const etcd = new EtcdClient(`https://127.0.0.1:${cfg.etcdClientPort}`, {
    tls: etcdClientTls(join(sb.dir, "pki")),
  });
  try {
    const { kvs } = await etcd.range("/registry/", { end: "/registry0", keysOnly: true });
    return kvs.map((kv) => kv.key.toString()).filter((k) => k.split("/").includes(ns));
  } finally {
    await etcd.close();
  }
}

test("deleting a namespace deletes everything in it, then the namespace", async () => {
  const ns = "doomed";
  await namespace(ns);
  await eventually(async () => find(SERVICEACCOUNTS, ns, "default"), 20_000, "default ServiceAccount");
  const owner = await configMap(ns, "cm1");
  await configMap(ns, "cm2");
  await pod(ns, "p1", [ref(owner)]);
  await pod(ns, "p2");
  const svc = await sb.kubectl(["apply", "-n", ns, "-f", "-"], {
    input:
      "apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { ports: [{ port: 80, targetPort: 8080 }] }\n",
  });
  assert.equal(svc.code, 0, svc.stderr);
  await sb.client.create(WIDGETS, { apiVersion: "example.com/v1", kind: "Widget", metadata: meta(ns, "w") });
  await eventually(
    async () =>
      (await sb.kubectl(["get", "pods", "-n", ns, "-o", "name"])).stdout.split("\n").filter(Boolean)
        .length === 2,
    20_000,
    "pods created",
  );
  assert.ok((await etcdKeysOf(ns)).length > 5);
  // kubectl waits for the namespace to be gone.
  const r = await sb.kubectl(["delete", "ns", ns], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  const get = await sb.kubectl(["get", "ns", ns]);
  assert.notEqual(get.code, 0);
  assert.match(get.stderr, /NotFound/);
  assert.deepEqual(await etcdKeysOf(ns), []);
});

test("namespace deletion waits for finalizers, reports them, and survives a controller restart", async () => {
  const ns = "held";
  await namespace(ns);
  await configMap(ns, "kept", [], { finalizers: ["example.com/hold"] });
  await configMap(ns, "plain");
  const r = await sb.kubectl(["delete", "ns", ns, "--wait=false"]);
  assert.equal(r.code, 0, r.stderr);
  const conditions = await eventually(
    async () => {
      const n = await find(NAMESPACES, "", ns);
      const c = n?.status?.conditions ?? [];
      const remaining = c.find((x: any) => x.type === "NamespaceContentRemaining");
      const fins = c.find((x: any) => x.type === "NamespaceFinalizersRemaining");
      return remaining?.status === "True" && fins?.status === "True" ? { remaining, fins } : undefined;
    },
    30_000,
    "remaining-content conditions",
  );
  assert.ok(conditions);
  assert.equal(conditions.remaining.reason, "SomeResourcesRemain");
  assert.equal(
    conditions.remaining.message,
    "Some resources are remaining: configmaps. has 1 resource instances",
  );
  assert.equal(
    conditions.fins.message,
    "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances",
  );
  assert.equal(await gone(CONFIGMAPS, ns, "plain"), true);
  const phase = await sb.kubectl(["get", "ns", ns, "-o", "jsonpath={.status.phase}"]);
  assert.equal(phase.stdout, "Terminating");
  // Restart the controllers mid-way, then release the hold.
  await stopControllers?.();
  stopControllers = undefined;
  await startControllers();
  const patch = await sb.kubectl([
    "patch",
    "configmap",
    "kept",
    "-n",
    ns,
    "--type=merge",
    "-p",
    '{"metadata":{"finalizers":null}}',
  ]);
  assert.equal(patch.code, 0, patch.stderr);
  await eventually(async () => gone(NAMESPACES, "", ns), 30_000, "namespace gone");
  assert.deepEqual(await etcdKeysOf(ns), []);
});

// ------------------------------------------------------------------ service accounts

test("a new namespace gets a default ServiceAccount, and gets it back when it is deleted", async () => {
  const r = await sb.kubectl(["apply", "-f", "-"], {
    input: "apiVersion: v1\nkind: Namespace\nmetadata: { name: sa-test }\n",
  });
  assert.equal(r.code, 0, r.stderr);
  const first = await eventually(
    async () => find(SERVICEACCOUNTS, "sa-test", "default"),
    20_000,
    "default SA",
  );
  const del = await sb.kubectl(["delete", "sa", "default", "-n", "sa-test"]);
  assert.equal(del.code, 0, del.stderr);
  const second = await eventually(
    async () => {
      const sa = await find(SERVICEACCOUNTS, "sa-test", "default");
      return sa && sa.metadata.uid !== first?.metadata.uid ? sa : undefined;
    },
    20_000,
    "default SA recreated",
  );
  assert.equal(second?.metadata.name, "default");
});
