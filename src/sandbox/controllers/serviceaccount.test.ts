import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeClient } from "../../kube/client.ts";
import { KubeApiError } from "../../kube/errors.ts";
import { FakeListerWatcher, page } from "../../kube/fake-lister-watcher.ts";
import { SharedInformerFactory } from "../../kube/informer-factory.ts";
import { silentLogger } from "../../kube/log.ts";
import type { KubeObject } from "../../kube/objects.ts";
import type { ApiResource } from "../../kube/resource.ts";
import type { ControllerContext } from "./context.ts";
import { isActive, ServiceAccountController } from "./serviceaccount.ts";

const ns = (name: string, phase = "Active"): KubeObject => ({
  metadata: { name, uid: name, resourceVersion: "1" },
  status: { phase },
});
const sa = (namespace: string, name = "default"): KubeObject => ({
  metadata: { name, namespace, uid: `${namespace}-${name}`, resourceVersion: "2" },
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("isActive", () => {
  assert.equal(isActive(ns("a")), true);
  assert.equal(isActive(ns("a", "Terminating")), false);
  assert.equal(isActive({ metadata: { name: "a", deletionTimestamp: "2026-01-01T00:00:00Z" } }), false);
  assert.equal(isActive(undefined), false);
});

test("every active namespace gets a default ServiceAccount, again after it is deleted", async () => {
  const lws: Record<string, FakeListerWatcher> = {
    namespaces: new FakeListerWatcher(),
    serviceaccounts: new FakeListerWatcher(),
  };
  const created: string[] = [];
  const client = {
    async create(_res: ApiResource, obj: KubeObject) {
      const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
      created.push(key);
      if (key === "c/default") throw new KubeApiError("POST", "/x", { code: 409, reason: "AlreadyExists" });
      return obj;
    },
  } as unknown as KubeClient;
  const abort = new AbortController();
  const informers = new SharedInformerFactory(
    { listerWatcher: (res) => lws[res.plural] as any },
    { logger: silentLogger },
  );
  const ctx = {
    client,
    informers,
    log: { child: () => silentLogger, ...silentLogger },
    signal: abort.signal,
    recorder: () => ({ event() {} }),
  } as unknown as ControllerContext;
  const controller = new ServiceAccountController();
  controller.setup(ctx);
  lws.namespaces.answerLists(
    page([ns("a"), ns("b", "Terminating"), ns("c"), ns("d")], "10", undefined, "NamespaceList"),
  );
  lws.serviceaccounts.answerLists(page([sa("d")], "10", undefined, "ServiceAccountList"));
  informers.start(abort.signal);
  await informers.waitForCacheSync(abort.signal);
  const running = controller.run(ctx);
  try {
    await until(() => created.length === 2, "two creates");
    assert.deepEqual(created.sort(), ["a/default", "c/default"]);
    // The account in d is deleted: it comes back.
    const watch = await lws.serviceaccounts.watchAt(0);
    watch.emit("DELETED", sa("d"));
    await until(() => created.includes("d/default"), "d/default recreated");
    // Other accounts going is no concern of ours.
    watch.emit("ADDED", sa("a", "builder"));
    watch.emit("DELETED", sa("a", "builder"));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(created.filter((k) => k.startsWith("a/")).length, 1);
  } finally {
    abort.abort();
    await running;
    await informers.stopped();
  }
});
