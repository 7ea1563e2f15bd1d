// API semantics of the sandbox API server, through our own client: pagination, watch resume,
// 410 Gone, timeouts and bookmarks, selectors, dry run, generateName, finalizers, patches,
// server-side apply, and custom resources (namespaced and cluster-scoped, status subresource).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Agent, request } from "undici";
import { loadClientConfig } from "../src/kube/kubeconfig.ts";
import type { ApiResource } from "../src/kube/resource.ts";
import { CONFIGMAPS, CRDS, PODS } from "../src/kube/resource.ts";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

let sb: Sandbox;
before(async () => {
  sb = await startSandbox({ virtualNodes: 1 });
});
after(async () => {
  await sb?.stop();
});

const cm = (name: string, labels: Record<string, string> = {}, extra: object = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "default", labels },
  data: { a: "1" },
  ...extra,
});

test("limit/continue pages are consistent with the first page's revision", async () => {
  for (let i = 0; i < 7; i++) await sb.client.create(CONFIGMAPS, cm(`page-${i}`, { set: "paging" }));
  const first: any = await sb.client.list(CONFIGMAPS, {
    namespace: "default",
    labelSelector: "set=paging",
    limit: 3,
  });
  assert.equal(first.items.length, 3);
  assert.ok(first.metadata.continue);
  // A change after the first page does not show in later pages of the same list.
  await sb.client.delete(CONFIGMAPS, "default", "page-6");
  const names = first.items.map((i: any) => i.metadata.name);
  let token = first.metadata.continue;
  while (token) {
    const page: any = await sb.client.list(CONFIGMAPS, {
      namespace: "default",
      labelSelector: "set=paging",
      limit: 3,
      continue: token,
    });
    assert.equal(page.metadata.resourceVersion, first.metadata.resourceVersion);
    names.push(...page.items.map((i: any) => i.metadata.name));
    token = page.metadata.continue;
  }
  assert.deepEqual(names, ["page-0", "page-1", "page-2", "page-3", "page-4", "page-5", "page-6"]);
  const bad: any = await sb.client
    .list(CONFIGMAPS, { namespace: "default", continue: "garbage" })
    .catch((e) => e);
  assert.equal(bad.code, 400);
});

test("a watch resumes from a resourceVersion and replays exactly what came after", async () => {
  const start: any = await sb.client.create(CONFIGMAPS, cm("resume-0"));
  await sb.client.create(CONFIGMAPS, cm("resume-1"));
  await sb.client.patch(CONFIGMAPS, "default", "resume-0", "merge", { data: { a: "2" } });
  await sb.client.delete(CONFIGMAPS, "default", "resume-1");
  const seen: string[] = [];
  const abort = new AbortController();
  const w = sb.client.watch(
    CONFIGMAPS,
    {
      namespace: "default",
      resourceVersion: start.metadata.resourceVersion,
      fieldSelector: "metadata.name!=x",
    },
    (ev) => {
      if (ev.object.metadata.name?.startsWith("resume-")) seen.push(`${ev.type} ${ev.object.metadata.name}`);
    },
    abort.signal,
  );
  await eventually(() => seen.length >= 3, 5000, "replayed events");
  abort.abort();
  await w.catch(() => {});
  assert.deepEqual(seen, ["ADDED resume-1", "MODIFIED resume-0", "DELETED resume-1"]);
});

test("a watch from a resourceVersion older than the cache's history is 410 Gone", async () => {
  const err: any = await sb.client
    .watch(CONFIGMAPS, { namespace: "default", resourceVersion: "1" }, () => {}, AbortSignal.timeout(5000))
    .catch((e) => e);
  assert.equal(err?.code, 410, String(err));
});

test("timeoutSeconds ends a watch; sendInitialEvents ends the initial state with a bookmark", async () => {
  const t0 = Date.now();
  await sb.client.watch(CONFIGMAPS, { namespace: "default", timeoutSeconds: 1 }, () => {});
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 5000, `the watch ended after ${took} ms`);
  const cfg = await loadClientConfig({ path: sb.kubeconfig });
  const headers = typeof cfg.headers === "function" ? await cfg.headers() : (cfg.headers ?? {});
  const agent = new Agent({ connect: { ca: cfg.ca } });
  const res = await request(
    `${cfg.server}/api/v1/namespaces/kube-system/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1`,
    { headers, dispatcher: agent },
  );
  const lines = (await res.body.text())
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  await agent.close();
  assert.equal(lines.at(-1).type, "BOOKMARK");
  assert.ok(Number(lines.at(-1).object.metadata.resourceVersion) > 0);
});

test("label and field selectors filter lists; unsupported fields are 400", async () => {
  await sb.client.create(CONFIGMAPS, cm("sel-a", { tier: "web", env: "prod" }));
  await sb.client.create(CONFIGMAPS, cm("sel-b", { tier: "db", env: "prod" }));
  const l: any = await sb.client.list(CONFIGMAPS, {
    namespace: "default",
    labelSelector: "env=prod,tier in (web,cache)",
  });
  assert.deepEqual(
    l.items.map((i: any) => i.metadata.name),
    ["sel-a"],
  );
  const f: any = await sb.client.list(CONFIGMAPS, {
    namespace: "default",
    fieldSelector: "metadata.name=sel-b",
  });
  assert.deepEqual(
    f.items.map((i: any) => i.metadata.name),
    ["sel-b"],
  );
  const bad: any = await sb.client
    .list(CONFIGMAPS, { namespace: "default", fieldSelector: "spec.foo=bar" })
    .catch((e) => e);
  assert.equal(bad.code, 400);
  assert.match(bad.message, /field label not supported: spec.foo/);
  const pod: any = await sb.client.create(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { generateName: "sel-", namespace: "default" },
    spec: { containers: [{ name: "c", image: "x" }] },
  });
  assert.match(pod.metadata.name, /^sel-[a-z0-9]{5}$/);
  await eventually(
    async () =>
      (
        (await sb.client.list(PODS, {
          namespace: "default",
          fieldSelector: "spec.nodeName=virtual-node-1,status.phase=Running",
        })) as any
      ).items.some((p: any) => p.metadata.name === pod.metadata.name),
    10_000,
    "pod by node and phase",
  );
});

test("dry run validates and defaults without storing", async () => {
  const r: any = await sb.client.create(CONFIGMAPS, cm("dry"), { dryRun: true });
  assert.equal(r.metadata.name, "dry");
  assert.ok(r.metadata.uid);
  const err: any = await sb.client.get(CONFIGMAPS, "default", "dry").catch((e) => e);
  assert.equal(err.code, 404);
});

test("finalizers hold a deleted object until they are removed; deletecollection honours selectors", async () => {
  await sb.client.create(CONFIGMAPS, {
    ...cm("fin"),
    metadata: { name: "fin", namespace: "default", finalizers: ["example.com/hold"] },
  });
  await sb.client.delete(CONFIGMAPS, "default", "fin");
  const held: any = await sb.client.get(CONFIGMAPS, "default", "fin");
  assert.ok(held.metadata.deletionTimestamp);
  const adding: any = await sb.client
    .patch(CONFIGMAPS, "default", "fin", "merge", {
      metadata: { finalizers: ["example.com/hold", "example.com/more"] },
    })
    .catch((e) => e);
  assert.equal(adding.code, 422, "no new finalizers on an object being deleted");
  await sb.client.patch(CONFIGMAPS, "default", "fin", "merge", { metadata: { finalizers: null } });
  assert.equal(((await sb.client.get(CONFIGMAPS, "default", "fin").catch((e) => e)) as any).code, 404);

  for (const n of ["dc-1", "dc-2", "dc-keep"])
    await sb.client.create(CONFIGMAPS, cm(n, { batch: n === "dc-keep" ? "keep" : "drop" }));
  await sb.client.deleteCollection(CONFIGMAPS, "default", { labelSelector: "batch=drop" } as any);
  const left: any = await sb.client.list(CONFIGMAPS, { namespace: "default", labelSelector: "batch" });
  assert.deepEqual(
    left.items.map((i: any) => i.metadata.name),
    ["dc-keep"],
  );
});

test("a uid in a patch or update is a precondition: a write meant for a deleted object never lands on its successor", async () => {
  const first: any = await sb.client.create(CONFIGMAPS, cm("uid-pre"));
  const oldUid = first.metadata.uid;
  // Same uid: the patch is for this very object and goes through.
  const same: any = await sb.client.patch(CONFIGMAPS, "default", "uid-pre", "strategic", {
    metadata: { uid: oldUid, annotations: { a: "1" } },
  });
  assert.equal(same.metadata.annotations.a, "1");
  await sb.client.delete(CONFIGMAPS, "default", "uid-pre");
  const second: any = await sb.client.create(CONFIGMAPS, cm("uid-pre"));
  assert.notEqual(second.metadata.uid, oldUid);
  const precondition = `Precondition failed: UID in precondition: ${oldUid}, UID in object meta: ${second.metadata.uid}`;
  for (const type of ["strategic", "merge"] as const) {
    const err: any = await sb.client
      .patch(CONFIGMAPS, "default", "uid-pre", type, { metadata: { uid: oldUid, annotations: { b: "2" } } })
      .catch((e) => e);
    assert.equal(err.code, 409, `${type} patch: ${err.message}`);
    assert.match(err.message, new RegExp(precondition));
  }
  const put: any = await sb.client
    .update(CONFIGMAPS, { ...cm("uid-pre"), metadata: { ...cm("uid-pre").metadata, uid: oldUid } })
    .catch((e) => e);
  assert.equal(put.code, 409, `update: ${put.message}`);
  // Also on the status subresource (the kubelet guards its status writes this way).
  await sb.client.create(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "uid-pre", namespace: "default" },
    spec: { containers: [{ name: "c", image: "busybox" }], nodeName: "nowhere" },
  });
  const status: any = await sb.client
    .patch(
      PODS,
      "default",
      "uid-pre",
      "merge",
      { metadata: { uid: oldUid }, status: { phase: "Failed" } },
      {
        subresource: "status",
      },
    )
    .catch((e) => e);
  assert.equal(status.code, 409, `status patch: ${status.message}`);
  const after: any = await sb.client.get(CONFIGMAPS, "default", "uid-pre");
  assert.equal(after.metadata.annotations, undefined, "the successor was not touched");
  assert.notEqual((await sb.client.get(PODS, "default", "uid-pre")).status?.phase, "Failed");
  await sb.client.delete(PODS, "default", "uid-pre", { gracePeriodSeconds: 0 });
  await sb.client.delete(CONFIGMAPS, "default", "uid-pre");
});

test("strategic merge patch merges containers by name; server-side apply creates and updates", async () => {
  await sb.client.create(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "smp", namespace: "default" },
    spec: {
      containers: [
        { name: "a", image: "nginx:1" },
        { name: "b", image: "busybox" },
      ],
    },
  });
  const p: any = await sb.client.patch(PODS, "default", "smp", "strategic", {
    spec: { containers: [{ name: "a", image: "nginx:2" }] },
  });
  assert.deepEqual(
    p.spec.containers.map((c: any) => `${c.name}=${c.image}`),
    ["a=nginx:2", "b=busybox"],
  );
  const applied: any = await sb.client.patch(
    CONFIGMAPS,
    "default",
    "ssa",
    "apply",
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ssa" }, data: { x: "1" } },
    { fieldManager: "test" },
  );
  assert.equal(applied.data.x, "1");
  const again: any = await sb.client.patch(
    CONFIGMAPS,
    "default",
    "ssa",
    "apply",
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ssa", labels: { l: "v" } }, data: { y: "2" } },
    { fieldManager: "test" },
  );
  assert.deepEqual(again.data, { x: "1", y: "2" });
  assert.equal(again.metadata.labels.l, "v");
});

const WIDGETS_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "gadgets.test.raven.io" },
  spec: {
    group: "test.raven.io",
    scope: "Namespaced",
    names: { plural: "gadgets", singular: "gadget", kind: "Gadget", shortNames: ["gd"] },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [{ name: "Size", type: "integer", jsonPath: ".spec.size" }],
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                required: ["size"],
                properties: {
                  size: { type: "integer", minimum: 1 },
                  color: { type: "string", default: "blue" },
                },
              },
              status: { type: "object", properties: { phase: { type: "string" } } },
            },
          },
        },
      },
    ],
  },
};

const CLUSTER_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "realms.test.raven.io" },
  spec: {
    group: "test.raven.io",
    scope: "Cluster",
    names: { plural: "realms", singular: "realm", kind: "Realm" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      },
    ],
  },
};

test("custom resources: schema defaults and validation, status subresource, printer columns, cluster scope, CRD deletion", async () => {
  await sb.client.create(CRDS, WIDGETS_CRD);
  await sb.client.create(CRDS, CLUSTER_CRD);
  const GADGETS: ApiResource = { group: "test.raven.io", version: "v1", plural: "gadgets", namespaced: true };
  const REALMS: ApiResource = { group: "test.raven.io", version: "v1", plural: "realms", namespaced: false };
  const crd: any = await sb.client.get(CRDS, "", "gadgets.test.raven.io");
  assert.ok(crd.status.conditions.some((c: any) => c.type === "Established" && c.status === "True"));

  const g: any = await sb.client.create(GADGETS, {
    apiVersion: "test.raven.io/v1",
    kind: "Gadget",
    metadata: { name: "g1", namespace: "default" },
    spec: { size: 3, bogus: true },
    status: { phase: "ignored" },
  });
  assert.equal(g.spec.color, "blue", "schema default applied");
  assert.equal(g.spec.bogus, undefined, "unknown field pruned");
  assert.equal(g.status, undefined, "status is not set on create");
  assert.equal(g.metadata.generation, 1);
  const invalid: any = await sb.client
    .create(GADGETS, {
      apiVersion: "test.raven.io/v1",
      kind: "Gadget",
      metadata: { name: "g2", namespace: "default" },
      spec: { size: 0 },
    })
    .catch((e) => e);
  assert.equal(invalid.code, 422);
  assert.match(
    invalid.message,
    /Gadget.test.raven.io "g2" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1/,
  );

  const st: any = await sb.client.patch(
    GADGETS,
    "default",
    "g1",
    "merge",
    { status: { phase: "Ready" } },
    { subresource: "status" },
  );
  assert.equal(st.status.phase, "Ready");
  assert.equal(st.metadata.generation, 1, "status writes do not bump generation");
  const main: any = await sb.client.patch(GADGETS, "default", "g1", "merge", {
    spec: { size: 4 },
    status: { phase: "Lost" },
  });
  assert.equal(main.status.phase, "Ready", "main-resource writes keep status");
  assert.equal(main.metadata.generation, 2);

  const table = await sb.kubectl(["get", "gd"]);
  assert.match(table.stdout, /^NAME\s+SIZE\n/);
  assert.match(table.stdout, /g1\s+4/);

  const realm: any = await sb.client.create(REALMS, {
    apiVersion: "test.raven.io/v1",
    kind: "Realm",
    metadata: { name: "r1" },
    anything: { goes: 1 },
  });
  assert.equal(realm.metadata.namespace, undefined);
  assert.deepEqual(realm.anything, { goes: 1 });
  assert.match((await sb.kubectl(["get", "realms"])).stdout, /r1/);

  await sb.client.delete(CRDS, "", "gadgets.test.raven.io");
  await eventually(
    async () =>
      ((await sb.client.get(CRDS, "", "gadgets.test.raven.io").catch((e) => e)) as any).code === 404,
    20_000,
    "CRD gone",
  );
  const gone: any = await sb.client.get(GADGETS, "default", "g1").catch((e) => e);
  assert.equal(gone.code, 404, "the CRD's objects went with it");
});

test("pods on a node delete gracefully: marked for their grace period, removed by a zero-grace delete", async () => {
  // A node nobody runs, so nothing finishes the termination for us.
  await sb.client.create(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "graceful", namespace: "default" },
    spec: { nodeName: "ghost", terminationGracePeriodSeconds: 45, containers: [{ name: "c", image: "x" }] },
  });
  await sb.client.delete(PODS, "default", "graceful");
  const marked: any = await sb.client.get(PODS, "default", "graceful");
  assert.equal(marked.metadata.deletionGracePeriodSeconds, 45);
  const deadline = Date.parse(marked.metadata.deletionTimestamp) - Date.now();
  assert.ok(deadline > 30_000 && deadline <= 46_000, `deletionTimestamp ${deadline} ms ahead`);
  await sb.client.delete(PODS, "default", "graceful", { gracePeriodSeconds: 10 });
  assert.equal(
    ((await sb.client.get(PODS, "default", "graceful")) as any).metadata.deletionGracePeriodSeconds,
    10,
    "a shorter grace period wins",
  );
  const r = await sb.kubectl(["delete", "pod", "graceful", "--grace-period=0", "--force"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pod "graceful" force deleted/);
  assert.equal(((await sb.client.get(PODS, "default", "graceful").catch((e) => e)) as any).code, 404);
  // An unscheduled pod has nothing to wait for.
  await sb.client.create(PODS, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "unbound", namespace: "default" },
    spec: { schedulerName: "nobody", containers: [{ name: "c", image: "x" }] },
  });
  await sb.client.delete(PODS, "default", "unbound");
  assert.equal(((await sb.client.get(PODS, "default", "unbound").catch((e) => e)) as any).code, 404);
});
