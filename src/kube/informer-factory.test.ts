import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "./fake-clock.ts";
import { FakeListerWatcher, page } from "./fake-lister-watcher.ts";
import { type InformerScope, SharedInformerFactory } from "./informer-factory.ts";
import { silentLogger } from "./log.ts";
import { NODES, PODS } from "./resource.ts";

test("one informer per resource and scope, started together and synced together", async () => {
  const made: { plural: string; scope: InformerScope; lw: FakeListerWatcher }[] = [];
  const clock = new FakeClock();
  const factory = new SharedInformerFactory(
    {
      listerWatcher(res, scope) {
        const lw = new FakeListerWatcher(clock);
        made.push({ plural: res.plural, scope, lw });
        return lw as never;
      },
    },
    { clock, logger: silentLogger },
  );
  const pods = factory.informerFor(PODS, { fieldSelector: "spec.nodeName=n1" });
  assert.equal(factory.informerFor(PODS, { fieldSelector: "spec.nodeName=n1" }), pods);
  assert.notEqual(factory.informerFor(PODS), pods);
  const nodes = factory.informerFor(NODES);
  assert.equal(made.length, 3);
  assert.deepEqual(made[0].scope, { fieldSelector: "spec.nodeName=n1" });

  const ctl = new AbortController();
  factory.start(ctl.signal);
  factory.start(ctl.signal); // idempotent
  const synced = factory.waitForCacheSync();
  for (const m of made) m.lw.answerLists(page([], "1"));
  assert.equal(await synced, true);
  assert.ok(pods.hasSynced() && nodes.hasSynced());
  assert.equal(made[0].lw.listCalls.length, 1, "started once");
  ctl.abort();
  await factory.stopped();
});
