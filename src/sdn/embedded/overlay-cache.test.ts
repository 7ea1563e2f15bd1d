import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeListerWatcher, page } from "../../kube/fake-lister-watcher.ts";
import { SharedInformer } from "../../kube/informer.ts";
import { silentLogger } from "../../kube/log.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { compareVersions, OverlayCache } from "./overlay-cache.ts";

const obj = (name: string, uid: string, rv: string, color = "red"): KubeObject => ({
  metadata: { name, namespace: "ns", uid, resourceVersion: rv },
  spec: { color },
});

async function setup(items: KubeObject[], now = () => Date.now()) {
  const lw = new FakeListerWatcher();
  const informer = new SharedInformer(lw, {
    logger: silentLogger,
    indexers: { color: (o) => [o.spec.color] },
  });
  const abort = new AbortController();
  lw.answerLists(page(items, "10"));
  const running = informer.start(abort.signal);
  await informer.waitForSync();
  const watch = await lw.watchAt(0);
  const cache = new OverlayCache(
    informer,
    { color: (o: KubeObject) => [o.spec.color] },
    { ttlMs: 1000, now },
  );
  cache.attach();
  return {
    cache,
    watch,
    stop: async () => {
      abort.abort();
      await running;
    },
  };
}

const names = (objs: KubeObject[]) =>
  objs.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();

test("a write shows at once and gives way when the informer catches up with it", async () => {
  const { cache, watch, stop } = await setup([obj("a", "ua", "5")]);
  cache.observe(obj("a", "ua", "12", "blue"));
  cache.observe(obj("b", "ub", "13"));
  assert.equal(cache.get("ns/a")?.spec.color, "blue");
  assert.deepEqual(names(cache.list()), ["a@12", "b@13"]);
  assert.deepEqual(names(cache.byIndex("color", "red")), ["b@13"], "a moved out of red");
  assert.deepEqual(names(cache.byIndex("color", "blue")), ["a@12"]);

  watch.emit("MODIFIED", obj("a", "ua", "11")); // an older change still in flight
  assert.equal(cache.get("ns/a")?.metadata.resourceVersion, "12", "an older event does not undo the write");
  watch.emit("MODIFIED", obj("a", "ua", "12", "blue"));
  watch.emit("ADDED", obj("b", "ub", "13"));
  assert.equal(cache.pending, 0, "both confirmed");
  assert.deepEqual(names(cache.list()), ["a@12", "b@13"]);
  // An older answer (two writes finishing out of order) does not replace a newer one.
  cache.observe(obj("c", "uc", "20"));
  cache.observe(obj("c", "uc", "19"));
  assert.equal(cache.get("ns/c")?.metadata.resourceVersion, "20");
  await stop();
});

test("a deletion hides the cached object until the informer sees it go, or a newer object comes", async () => {
  const { cache, watch, stop } = await setup([obj("a", "ua", "5"), obj("b", "ub", "6")]);
  cache.observeDelete(obj("a", "ua", "5"));
  cache.observeDelete(obj("b", "ub", "6"));
  assert.equal(cache.get("ns/a"), undefined);
  assert.deepEqual(names(cache.list()), []);
  assert.deepEqual(cache.byIndex("color", "red"), []);
  watch.emit("DELETED", obj("a", "ua", "14"));
  assert.equal(cache.get("ns/a"), undefined);
  watch.emit("ADDED", obj("a", "ua2", "15"));
  assert.equal(cache.get("ns/a")?.metadata.uid, "ua2", "the new object shows");
  watch.emit("MODIFIED", obj("b", "ub2", "16"));
  assert.equal(cache.get("ns/b")?.metadata.uid, "ub2", "a newer object of the same name ends the deletion");
  assert.equal(cache.pending, 0);
  await stop();
});

test("unconfirmed entries expire", async () => {
  let now = 0;
  const { cache, stop } = await setup([obj("a", "ua", "5")], () => now);
  cache.observe(obj("a", "ua", "30", "blue"));
  cache.observe(obj("z", "uz", "31"));
  assert.equal(cache.get("ns/a")?.spec.color, "blue");
  now = 2000;
  assert.equal(cache.get("ns/a")?.spec.color, "red");
  assert.deepEqual(names(cache.list()), ["a@5"]);
  assert.equal(cache.pending, 0);
  await stop();
});

test("resourceVersions compare as integers, or not at all", () => {
  assert.equal(compareVersions("9", "10"), -1);
  assert.equal(compareVersions("10", "10"), 0);
  assert.equal(compareVersions("100000000000000000001", "100000000000000000000"), 1);
  assert.equal(compareVersions("abc", "10"), undefined);
  assert.equal(compareVersions(undefined, "10"), undefined);
});

test("an entry replaced by a newer write, confirmed or expired leaves no trace in the indexes", async () => {
  let now = 0;
  const { cache, watch, stop } = await setup([obj("a", "ua", "5")], () => now);
  cache.observe(obj("a", "ua", "12", "blue"));
  cache.observe(obj("a", "ua", "13", "green"));
  assert.deepEqual(names(cache.byIndex("color", "blue")), [], "the replaced write is gone");
  assert.deepEqual(names(cache.byIndex("color", "green")), ["a@13"]);
  assert.deepEqual(names(cache.byIndex("color", "red")), [], "the cached object is still overridden");
  watch.emit("MODIFIED", obj("a", "ua", "13", "green"));
  assert.deepEqual(names(cache.byIndex("color", "green")), ["a@13"], "confirmed: now from the informer");
  cache.observe(obj("n", "un", "20", "blue"));
  assert.deepEqual(names(cache.byIndex("color", "blue")), ["n@20"]);
  now = 5000; // past the TTL, and past the sweep interval
  assert.deepEqual(names(cache.byIndex("color", "blue")), [], "the unconfirmed write expired");
  assert.equal(cache.pending, 0);
  await stop();
});
