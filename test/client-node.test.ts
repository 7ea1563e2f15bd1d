// The real @kubernetes/client-node against the sandbox: typed API calls and its informer.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

let sb: Sandbox;
let kc: k8s.KubeConfig;
before(async () => {
  sb = await startSandbox();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(sb.kubeconfig);
});
after(async () => {
  await sb?.stop();
});

test("typed CoreV1Api create, read, patch and list", async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const created = await core.createNamespacedConfigMap({
    namespace: "default",
    body: { metadata: { name: "typed", labels: { app: "x" } }, data: { a: "1" } },
  });
  assert.ok(created.metadata?.uid);
  assert.ok(created.metadata?.creationTimestamp instanceof Date, "timestamps deserialise as dates");
  const read = await core.readNamespacedConfigMap({ name: "typed", namespace: "default" });
  assert.equal(read.data?.a, "1");
  const list = await core.listNamespacedConfigMap({ namespace: "default", labelSelector: "app=x" });
  assert.deepEqual(
    list.items.map((c) => c.metadata?.name),
    ["typed"],
  );
  await assert.rejects(
    core.readNamespacedConfigMap({ name: "nope", namespace: "default" }),
    (e: any) => e.code === 404,
  );
});

test("client-node's informer sees adds, updates and deletes", async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const informer = k8s.makeInformer(kc, "/api/v1/namespaces/default/configmaps", () =>
    core.listNamespacedConfigMap({ namespace: "default" }),
  );
  const seen: string[] = [];
  informer.on("add", (o) => seen.push(`add ${o.metadata?.name}`));
  informer.on("update", (o) => seen.push(`update ${o.metadata?.name} ${o.data?.a}`));
  informer.on("delete", (o) => seen.push(`delete ${o.metadata?.name}`));
  await informer.start();
  try {
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "inf" }, data: { a: "1" } },
    });
    await eventually(() => seen.includes("add inf"), 10_000, "add");
    await core.patchNamespacedConfigMap(
      { name: "inf", namespace: "default", body: { data: { a: "2" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await eventually(() => seen.includes("update inf 2"), 10_000, "update");
    await core.deleteNamespacedConfigMap({ name: "inf", namespace: "default" });
    await eventually(() => seen.includes("delete inf"), 10_000, "delete");
    assert.equal(informer.get("inf", "default"), undefined);
  } finally {
    await informer.stop();
  }
});
