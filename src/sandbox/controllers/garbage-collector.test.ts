import assert from "node:assert/strict";
import { test } from "node:test";
import type { DeleteOptions, KubeClient } from "../../kube/client.ts";
import { KubeApiError } from "../../kube/errors.ts";
import { FakeListerWatcher, page } from "../../kube/fake-lister-watcher.ts";
import { SharedInformerFactory } from "../../kube/informer-factory.ts";
import { silentLogger } from "../../kube/log.ts";
import type { KubeObject } from "../../kube/objects.ts";
import type { ApiResource } from "../../kube/resource.ts";
import type { ControllerContext } from "./context.ts";
import { type DiscoveredResource, ResourceMap } from "./discovery.ts";
import { GarbageCollector } from "./garbage-collector.ts";

const ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const res = (group: string, plural: string, kind: string, namespaced = true): DiscoveredResource => ({
  group,
  version: "v1",
  plural,
  kind,
  namespaced,
  verbs: ALL,
  preferred: true,
});
const CORE = [
  res("", "configmaps", "ConfigMap"),
  res("", "secrets", "Secret"),
  res("", "events", "Event"),
  res("", "bindings", "Binding"),
  res("apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", false),
];
CORE[3] = { ...CORE[3], verbs: ["create"] };
const WIDGETS = res("example.com", "widgets", "Widget");

const owned = (
  plural: string,
  name: string,
  uid: string,
  owner: { kind: string; name: string; uid: string },
) => ({
  apiVersion: "v1",
  kind: plural,
  metadata: {
    name,
    namespace: "a",
    uid,
    resourceVersion: "1",
    ownerReferences: [{ apiVersion: "v1", ...owner }],
  },
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("the collector watches what discovery offers and deletes what lost its owners", async () => {
  const lws: Record<string, FakeListerWatcher> = {};
  const lw = (plural: string) => {
    lws[plural] ??= new FakeListerWatcher();
    return lws[plural];
  };
  const owner = { metadata: { name: "o", namespace: "a", uid: "o1", resourceVersion: "1" } };
  const s1 = owned("Secret", "s1", "s1", { kind: "ConfigMap", name: "o", uid: "o1" });
  const s2 = owned("Secret", "s2", "s2", { kind: "ConfigMap", name: "ghost", uid: "g1" });
  const w1 = owned("Widget", "w1", "w1", { kind: "ConfigMap", name: "ghost2", uid: "g2" });
  const live = new Map<string, KubeObject>([
    ["configmaps/o", owner],
    ["secrets/s1", s1],
    ["secrets/s2", s2],
    ["widgets/w1", w1],
  ]);
  const deleted: string[] = [];
  const client = {
    listerWatcher: (r: ApiResource) => lw(r.plural),
    async get(r: ApiResource, _ns: string, name: string): Promise<KubeObject> {
      const obj = live.get(`${r.plural}/${name}`);
      if (!obj) throw new KubeApiError("GET", "/x", { code: 404, reason: "NotFound" });
      return structuredClone(obj);
    },
    async delete(r: ApiResource, _ns: string, name: string, opts: DeleteOptions) {
      deleted.push(`${r.plural}/${name} ${opts.propagationPolicy}`);
      live.delete(`${r.plural}/${name}`);
    },
    async patch() {
      throw new Error("no patches expected");
    },
  } as unknown as KubeClient;
  let served = [...CORE, WIDGETS];
  const abort = new AbortController();
  const informers = new SharedInformerFactory(
    { listerWatcher: (r) => lw(r.plural) as any },
    { logger: silentLogger },
  );
  const ctx = {
    client,
    informers,
    log: { child: () => silentLogger, ...silentLogger },
    signal: abort.signal,
    recorder: () => ({ event() {} }),
  } as unknown as ControllerContext;
  const gc = new GarbageCollector({ discover: async () => new ResourceMap(served) });
  gc.setup(ctx);
  const crd = {
    metadata: { name: "widgets.example.com", uid: "crd1", resourceVersion: "1" },
    spec: { group: "example.com", names: { plural: "widgets" } },
  };
  lw("customresourcedefinitions").answerLists(page([crd], "1", undefined, "CustomResourceDefinitionList"));
  lw("configmaps").answerLists(page([owner], "1"));
  lw("secrets").answerLists(page([s1, s2], "1"));
  lw("widgets").answerLists(page([w1], "1"));
  informers.start(abort.signal);
  await informers.waitForCacheSync(abort.signal);
  const running = gc.run(ctx);
  try {
    await until(() => deleted.length === 2, "two deletions");
    assert.deepEqual(deleted.sort(), ["secrets/s2 Background", "widgets/w1 Background"]);
    assert.deepEqual(gc.watchedResources(), [
      "/configmaps",
      "/secrets",
      "apiextensions.k8s.io/customresourcedefinitions",
      "example.com/widgets",
    ]);
    // The owner goes: its dependent follows.
    live.delete("configmaps/o");
    (await lw("configmaps").watchAt(0)).emit("DELETED", {
      metadata: { name: "o", namespace: "a", uid: "o1", resourceVersion: "2" },
    });
    await until(() => deleted.includes("secrets/s1 Background"), "s1 deleted");
    // The CRD goes: so does the (private) watch of its resource.
    served = CORE;
    const widgetWatch = await lw("widgets").watchAt(0);
    (await lw("customresourcedefinitions").watchAt(0)).emit("DELETED", {
      ...crd,
      metadata: { ...crd.metadata, resourceVersion: "2" },
    });
    await until(() => !gc.watchedResources().includes("example.com/widgets"), "widgets unwatched");
    assert.equal(widgetWatch.ended, true);
  } finally {
    abort.abort();
    await running;
    await informers.stopped();
  }
});
