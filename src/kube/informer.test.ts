import assert from "node:assert/strict";
import { test } from "node:test";
import { KubeApiError } from "./errors.ts";
import { FakeClock, flush } from "./fake-clock.ts";
import { FakeListerWatcher, page } from "./fake-lister-watcher.ts";
import { type InformerOptions, SharedInformer } from "./informer.ts";
import { silentLogger } from "./log.ts";
import { type KubeObject, objectKey } from "./objects.ts";

function pod(name: string, rv: string, extra: { node?: string; uid?: string; ns?: string } = {}): KubeObject {
  return {
    metadata: {
      name,
      namespace: extra.ns ?? "default",
      resourceVersion: rv,
      uid: extra.uid ?? `uid-${name}`,
    },
    spec: { nodeName: extra.node ?? "" },
  };
}

const gone = () =>
  new KubeApiError("GET", "/api/v1/pods", {
    code: 410,
    reason: "Expired",
    message: "too old resource version",
  });
const serverError = () => new KubeApiError("GET", "/api/v1/pods", { code: 500, message: "etcd down" });

function setup(opts: InformerOptions<KubeObject> = {}) {
  const clock = new FakeClock();
  const lw = new FakeListerWatcher(clock);
  const informer = new SharedInformer(lw, { clock, random: () => 0, logger: silentLogger, ...opts });
  const log: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => log.push(`add ${objectKey(o)}@${o.metadata.resourceVersion}`),
    onUpdate: (a, b) =>
      log.push(`update ${objectKey(b)}@${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
    onDelete: (o, info) =>
      log.push(
        `delete ${objectKey(o)}@${o.metadata.resourceVersion}${info.finalStateUnknown ? " (unknown)" : ""}`,
      ),
  });
  const ctl = new AbortController();
  const done = informer.start(ctl.signal);
  const stop = async () => {
    ctl.abort();
    await done;
  };
  return { clock, lw, informer, log, done, stop };
}

test("lists page by page, then watches from the list's resourceVersion with bookmarks", async () => {
  const { lw, informer, log, stop } = setup();
  const synced = informer.waitForSync();
  lw.answerLists(page([pod("a", "1"), pod("b", "2")], "10", "tok1"), page([pod("c", "3")], "10"));
  const w = await lw.watchAt(0);
  assert.deepEqual(lw.listCalls, [
    { limit: 500, continue: undefined },
    { limit: 500, continue: "tok1" },
  ]);
  assert.equal(await synced, true);
  assert.equal(informer.hasSynced(), true);
  assert.deepEqual(informer.listKeys().sort(), ["default/a", "default/b", "default/c"]);
  assert.deepEqual(log, ["add default/a@1", "add default/b@2", "add default/c@3"]);
  assert.equal(w.opts.resourceVersion, "10");
  assert.equal(w.opts.allowWatchBookmarks, true);
  assert.equal(w.opts.timeoutSeconds, 300);
  // List items get the kind and apiVersion the list implies, as watch objects carry them.
  assert.equal(informer.get("default/a")?.kind, "Pod");
  assert.equal(informer.get("default/a")?.apiVersion, "v1");
  await stop();
});

test("watch timeouts are jittered between 5 and 10 minutes", async () => {
  const { lw, stop } = setup({ random: () => 0.999 });
  lw.answerLists(page([], "1"));
  const w = await lw.watchAt(0);
  assert.equal(w.opts.timeoutSeconds, 599);
  await stop();
});

test("an expired continue token falls back to one full list", async () => {
  const { lw, informer, stop } = setup();
  lw.answerLists(page([pod("a", "1")], "10", "tok1"), gone(), page([pod("a", "1"), pod("b", "12")], "12"));
  const w = await lw.watchAt(0);
  assert.deepEqual(lw.listCalls, [{ limit: 500, continue: undefined }, { limit: 500, continue: "tok1" }, {}]);
  assert.deepEqual(informer.listKeys().sort(), ["default/a", "default/b"]);
  assert.equal(w.opts.resourceVersion, "12");
  await stop();
});

test("watch events update the cache; a normal end re-watches from the last RV without relisting", async () => {
  const { lw, informer, log, stop } = setup();
  lw.answerLists(page([pod("a", "1")], "10"));
  const w0 = await lw.watchAt(0);
  w0.emit("ADDED", pod("b", "11"));
  w0.emit("MODIFIED", pod("a", "12"));
  w0.emit("DELETED", pod("b", "13"));
  w0.emit("BOOKMARK", { metadata: { resourceVersion: "20" } });
  assert.equal(informer.lastSyncResourceVersion(), "20");
  w0.end();
  const w1 = await lw.watchAt(1);
  assert.equal(w1.opts.resourceVersion, "20");
  assert.equal(lw.listCalls.length, 1, "no relist after a normal end");
  assert.deepEqual(log, [
    "add default/a@1",
    "add default/b@11",
    "update default/a@1->12",
    "delete default/b@13",
  ]);
  assert.deepEqual(informer.listKeys(), ["default/a"]);
  // A bookmark alone is progress too: the next watch starts from it.
  w1.emit("BOOKMARK", { metadata: { resourceVersion: "25" } });
  w1.end();
  assert.equal((await lw.watchAt(2)).opts.resourceVersion, "25");
  await stop();
});

test("410 Gone relists and emits the delta: deletes for vanished objects, updates, adds", async () => {
  const { lw, informer, log, stop } = setup();
  lw.answerLists(page([pod("a", "1"), pod("b", "1"), pod("c", "1")], "10"));
  const w0 = await lw.watchAt(0);
  log.length = 0;
  lw.answerLists(page([pod("a", "1"), pod("b", "5"), pod("d", "6")], "30"));
  w0.emit("BOOKMARK", { metadata: { resourceVersion: "12" } });
  w0.fail(gone());
  // The watch had made progress, so the relist follows at once (no clock advance).
  const w1 = await lw.watchAt(1);
  assert.equal(lw.listCalls.length, 2);
  assert.deepEqual(log, ["delete default/c@1 (unknown)", "update default/b@1->5", "add default/d@6"]);
  assert.deepEqual(informer.listKeys().sort(), ["default/a", "default/b", "default/d"]);
  assert.equal(w1.opts.resourceVersion, "30");
  await stop();
});

test("an ERROR event with code 410 inside the stream also relists", async () => {
  const { lw, informer, stop } = setup();
  lw.answerLists(page([pod("a", "1")], "10"));
  const w0 = await lw.watchAt(0);
  lw.answerLists(page([], "40"));
  w0.emit("MODIFIED", pod("a", "11"));
  w0.emit("ERROR", {
    kind: "Status",
    code: 410,
    reason: "Expired",
    message: "too old resource version: 10 (35)",
  });
  const w1 = await lw.watchAt(1);
  assert.equal(lw.listCalls.length, 2);
  assert.equal(informer.size, 0);
  assert.equal(w1.opts.resourceVersion, "40");
  await stop();
});

test("a recreated object (same name, new UID) is reported as delete then add", async () => {
  const { lw, log, stop } = setup();
  lw.answerLists(page([pod("a", "1", { uid: "u1" })], "10"));
  const w0 = await lw.watchAt(0);
  log.length = 0;
  w0.emit("ADDED", pod("a", "15", { uid: "u2" }));
  assert.deepEqual(log, ["delete default/a@1 (unknown)", "add default/a@15"]);
  await stop();
});

test("errors back off exponentially and never give up; watch errors retry the watch, not the list", async () => {
  const { clock, lw, informer, stop } = setup();
  const times = lw.listTimes;
  // random() = 0 makes the delays exactly 200, 400, 800 … capped at 30000 ms.
  lw.answerLists(serverError());
  await flush();
  assert.equal(times.length, 1);
  await clock.advance(199);
  assert.equal(times.length, 1, "still backing off");
  for (let i = 0; i < 24; i++) lw.answerLists(serverError());
  await clock.advance(10 * 60_000);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  assert.deepEqual(gaps.slice(0, 10), [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  assert.ok(gaps.every((g) => g <= 30_000));
  assert.equal(informer.hasSynced(), false);
  // After 25 failures it is still trying, and a good answer syncs it.
  lw.answerLists(page([pod("a", "1")], "10"));
  await clock.advance(30_000);
  const w0 = await lw.watchAt(0);
  assert.equal(informer.hasSynced(), true);
  const lists = times.length;

  // A failing watch is retried from the same RV after a backoff, without a relist.
  w0.emit("MODIFIED", pod("a", "11"));
  w0.fail(serverError());
  await flush();
  assert.equal(lw.watches.length, 1, "waits before retrying");
  await clock.advance(200);
  const w1 = await lw.watchAt(1);
  assert.equal(w1.opts.resourceVersion, "11");
  assert.equal(times.length, lists);
  await stop();
});

test("a 410 on the very first watch after a list relists only after a backoff", async () => {
  const { clock, lw, stop } = setup();
  lw.answerLists(page([pod("a", "1")], "10"), page([pod("a", "1")], "10"));
  (await lw.watchAt(0)).fail(gone());
  await flush();
  assert.equal(lw.listCalls.length, 1, "no hot list/watch loop against a server that keeps answering 410");
  await clock.advance(200);
  await lw.watchAt(1);
  assert.equal(lw.listCalls.length, 2);
  await stop();
});

test("a watch that closes at once without events is retried only after a backoff", async () => {
  const { clock, lw, stop } = setup();
  lw.answerLists(page([], "10"));
  (await lw.watchAt(0)).end();
  await flush();
  assert.equal(lw.watches.length, 1);
  await clock.advance(200);
  (await lw.watchAt(1)).end();
  await clock.advance(200);
  assert.equal(lw.watches.length, 2, "the second empty watch waits longer (400 ms)");
  await clock.advance(200);
  assert.equal(lw.watches.length, 3);
  await stop();
});

test("indexers stay current through adds, moves, deletes and relists", async () => {
  const nodeIndex = (o: KubeObject) => (o.spec?.nodeName ? [o.spec.nodeName as string] : []);
  const { lw, informer, stop } = setup({ indexers: { node: nodeIndex } });
  const names = (node: string) =>
    informer
      .byIndex("node", node)
      .map((o) => o.metadata.name)
      .sort();
  lw.answerLists(page([pod("a", "1", { node: "n1" }), pod("b", "1", { node: "n1" })], "10"));
  const w0 = await lw.watchAt(0);
  assert.deepEqual(names("n1"), ["a", "b"]);
  w0.emit("ADDED", pod("c", "11", { node: "n2" }));
  w0.emit("MODIFIED", pod("a", "12", { node: "n2" }));
  assert.deepEqual(names("n1"), ["b"]);
  assert.deepEqual(names("n2"), ["a", "c"]);
  w0.emit("DELETED", pod("b", "13", { node: "n1" }));
  assert.deepEqual(names("n1"), []);
  lw.answerLists(page([pod("a", "12", { node: "n2" }), pod("d", "14", { node: "n3" })], "14"));
  w0.fail(gone());
  await lw.watchAt(1);
  assert.deepEqual(names("n2"), ["a"]);
  assert.deepEqual(names("n3"), ["d"]);
  // An indexer added later is built over what is cached; the namespace index always exists.
  informer.addIndexer("uid", (o) => [o.metadata.uid ?? ""]);
  assert.deepEqual(
    informer.byIndex("uid", "uid-d").map((o) => o.metadata.name),
    ["d"],
  );
  assert.equal(informer.byIndex("namespace", "default").length, 2);
  await stop();
});

test("a handler added after sync gets adds for the cached objects", async () => {
  const { lw, informer, stop } = setup();
  lw.answerLists(page([pod("a", "1"), pod("b", "2")], "10"));
  await lw.watchAt(0);
  const seen: string[] = [];
  const remove = informer.addEventHandler({ onAdd: (o) => seen.push(objectKey(o)) });
  assert.deepEqual(seen.sort(), ["default/a", "default/b"]);
  remove();
  (await lw.watchAt(0)).emit("ADDED", pod("c", "11"));
  assert.equal(seen.length, 2, "an unregistered handler hears nothing");
  await stop();
});

test("resync re-delivers every object as an update of itself", async () => {
  const { clock, lw, log, stop } = setup({ resyncPeriodMs: 60_000 });
  lw.answerLists(page([pod("a", "1"), pod("b", "2")], "10"));
  await lw.watchAt(0);
  log.length = 0;
  await clock.advance(60_000);
  assert.deepEqual(log.sort(), ["update default/a@1->1", "update default/b@2->2"]);
  await clock.advance(60_000);
  assert.equal(log.length, 4);
  await stop();
});

test("a throwing handler does not stop the others or the informer", async () => {
  const { lw, informer, stop } = setup();
  const seen: string[] = [];
  informer.addEventHandler({
    onAdd: () => {
      throw new Error("boom");
    },
  });
  informer.addEventHandler({ onAdd: (o) => seen.push(objectKey(o)) });
  lw.answerLists(page([pod("a", "1")], "10"));
  const w0 = await lw.watchAt(0);
  w0.emit("ADDED", pod("b", "11"));
  assert.deepEqual(seen, ["default/a", "default/b"]);
  assert.equal(lw.watches.length, 1);
  await stop();
});

test("managedFields are dropped by default and kept with transform: null", async () => {
  const withMf = () => {
    const p = pod("a", "1");
    p.metadata.managedFields = [{ manager: "kubectl" }];
    return p;
  };
  const lean = setup();
  lean.lw.answerLists(page([withMf()], "10"));
  await lean.lw.watchAt(0);
  assert.equal(lean.informer.get("default/a")?.metadata.managedFields, undefined);
  await lean.stop();

  const full = setup({ transform: null });
  full.lw.answerLists(page([withMf()], "10"));
  await full.lw.watchAt(0);
  assert.deepEqual(full.informer.get("default/a")?.metadata.managedFields, [{ manager: "kubectl" }]);
  await full.stop();
});

test("freeze: cached objects cannot be mutated by handlers", async () => {
  const { lw, informer, stop } = setup({ freeze: true });
  lw.answerLists(page([pod("a", "1")], "10"));
  await lw.watchAt(0);
  const cached = informer.get("default/a")!;
  assert.throws(() => {
    cached.metadata.name = "x";
  }, TypeError);
  await stop();
});

test("stopping ends the run promise and waitForSync answers false when aborted first", async () => {
  const { lw, informer, done, stop } = setup();
  const ctl = new AbortController();
  const waiting = informer.waitForSync(ctl.signal);
  ctl.abort();
  assert.equal(await waiting, false);
  void lw;
  await stop();
  await done;
  assert.equal(informer.hasSynced(), false);
});

test("a throwing index function indexes nothing for that object and the cache stays whole", async () => {
  const { lw, informer, log, stop } = setup({
    indexers: {
      node: (o) => {
        if (o.metadata.name === "bad") throw new Error("no spec");
        return [o.spec.nodeName];
      },
    },
  });
  lw.answerLists(page([pod("a", "1", { node: "n1" }), pod("bad", "1", { node: "n1" })], "10"));
  const w0 = await lw.watchAt(0);
  w0.emit("MODIFIED", pod("bad", "2", { node: "n1" }));
  assert.deepEqual(informer.listKeys().sort(), ["default/a", "default/bad"]);
  assert.deepEqual(
    informer.byIndex("node", "n1").map((o) => o.metadata.name),
    ["a"],
  );
  assert.ok(log.includes("update default/bad@1->2"));
  assert.equal(lw.watches.length, 1, "the watch was not torn down");
  await stop();
});
