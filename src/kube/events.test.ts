import assert from "node:assert/strict";
import { test } from "node:test";
import { KubeApiError } from "./errors.ts";
import { type CoreEvent, EventRecorder, type EventRecorderOptions, type EventSink } from "./events.ts";
import { FakeClock, flush } from "./fake-clock.ts";
import { silentLogger } from "./log.ts";
import type { KubeObject } from "./objects.ts";

class FakeSink implements EventSink {
  creates: CoreEvent[] = [];
  patches: { namespace: string; name: string; patch: Partial<CoreEvent> }[] = [];
  /** Errors to throw from the next calls, in order. */
  failures: Error[] = [];
  /** When set, calls never answer (an API server that accepts connections but hangs). */
  hang = false;

  private async answer(): Promise<void> {
    if (this.hang) await new Promise(() => {});
    const err = this.failures.shift();
    if (err) throw err;
  }

  async create(namespace: string, event: CoreEvent): Promise<unknown> {
    await this.answer();
    assert.equal(namespace, event.metadata.namespace);
    this.creates.push(structuredClone(event));
    return event;
  }

  async patch(namespace: string, name: string, patch: Partial<CoreEvent>): Promise<unknown> {
    await this.answer();
    this.patches.push({ namespace, name, patch });
    return patch;
  }
}

const pod: KubeObject = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web-1", namespace: "shop", uid: "u-1", resourceVersion: "7" },
};

function setup(extra: Partial<EventRecorderOptions> = {}) {
  const clock = new FakeClock(Date.parse("2025-03-01T10:00:00.250Z"));
  const sink = new FakeSink();
  const rec = new EventRecorder({
    sink,
    component: "raven-controller",
    host: "node-1",
    clock,
    logger: silentLogger,
    ...extra,
  });
  return { clock, sink, rec };
}

test("an event becomes a core/v1 Event with the reference, source and timestamps", async () => {
  const { sink, rec } = setup();
  rec.event(pod, "Warning", "AddressExhausted", "no free address in 10.0.0.0/24");
  await rec.flush();
  assert.equal(sink.creates.length, 1);
  const e = sink.creates[0];
  assert.match(e.metadata.name!, /^web-1\.[0-9a-f]{16}$/);
  assert.equal(e.metadata.namespace, "shop");
  assert.deepEqual(e.involvedObject, {
    kind: "Pod",
    namespace: "shop",
    name: "web-1",
    uid: "u-1",
    apiVersion: "v1",
    resourceVersion: "7",
  });
  assert.equal(e.type, "Warning");
  assert.equal(e.reason, "AddressExhausted");
  assert.equal(e.message, "no free address in 10.0.0.0/24");
  assert.deepEqual(e.source, { component: "raven-controller", host: "node-1" });
  assert.equal(e.reportingComponent, "raven-controller");
  assert.equal(e.reportingInstance, "node-1");
  assert.equal(e.firstTimestamp, "2025-03-01T10:00:00Z");
  assert.equal(e.lastTimestamp, "2025-03-01T10:00:00Z");
  assert.equal(e.count, 1);
});

test("repeats within 10 minutes patch count and lastTimestamp of the same Event", async () => {
  const { clock, sink, rec } = setup();
  rec.event(pod, "Normal", "Wired", "attached to br0");
  await rec.flush();
  await clock.advance(60_000);
  rec.event(pod, "Normal", "Wired", "attached to br0");
  await clock.advance(60_000);
  rec.event(pod, "Normal", "Wired", "attached to br0");
  await rec.flush();
  assert.equal(sink.creates.length, 1);
  assert.deepEqual(
    sink.patches.map((p) => [p.namespace, p.name, p.patch.count, p.patch.lastTimestamp]),
    [
      ["shop", sink.creates[0].metadata.name, 2, "2025-03-01T10:01:00Z"],
      ["shop", sink.creates[0].metadata.name, 3, "2025-03-01T10:02:00Z"],
    ],
  );
});

test("a different message, reason, type or object is a separate Event", async () => {
  const { sink, rec } = setup();
  rec.event(pod, "Normal", "Wired", "attached to br0");
  rec.event(pod, "Normal", "Wired", "attached to br1");
  rec.event(pod, "Normal", "Rewired", "attached to br0");
  rec.event(pod, "Warning", "Wired", "attached to br0");
  rec.event(
    { ...pod, metadata: { ...pod.metadata, name: "web-2", uid: "u-2" } },
    "Normal",
    "Wired",
    "attached to br0",
  );
  await rec.flush();
  assert.equal(sink.creates.length, 5);
  assert.equal(sink.patches.length, 0);
  assert.equal(new Set(sink.creates.map((e) => e.metadata.name)).size, 5, "names are unique");
});

test("after the aggregation window a repeat starts a new Event", async () => {
  const { clock, sink, rec } = setup();
  rec.event(pod, "Normal", "Wired", "attached");
  await rec.flush();
  await clock.advance(11 * 60_000);
  rec.event(pod, "Normal", "Wired", "attached");
  await rec.flush();
  assert.equal(sink.creates.length, 2);
  assert.equal(sink.creates[1].count, 1);
});

test("when the aggregated Event has vanished, a new one is created carrying the count", async () => {
  const { sink, rec } = setup();
  rec.event(pod, "Normal", "Wired", "attached");
  await rec.flush();
  sink.failures.push(
    new KubeApiError("PATCH", "/events", { code: 404, reason: "NotFound", message: "gone" }),
  );
  rec.event(pod, "Normal", "Wired", "attached");
  await rec.flush();
  assert.equal(sink.creates.length, 2);
  assert.equal(sink.creates[1].count, 2);
  assert.notEqual(sink.creates[1].metadata.name, sink.creates[0].metadata.name);
});

test("failures never reach the caller and later events still go out; transient ones are retried", async () => {
  const { clock, sink, rec } = setup();
  sink.failures.push(new KubeApiError("POST", "/events", { code: 403, reason: "Forbidden", message: "no" }));
  assert.doesNotThrow(() => rec.event(pod, "Normal", "A", "a"));
  await rec.flush();
  assert.equal(sink.creates.length, 0);

  sink.failures.push(new KubeApiError("POST", "/events", { code: 503, message: "busy" }));
  rec.event(pod, "Normal", "B", "b");
  await flush();
  assert.equal(sink.creates.length, 0, "waiting to retry");
  await clock.advance(1000);
  await rec.flush();
  assert.deepEqual(
    sink.creates.map((e) => e.reason),
    ["B"],
  );
  // Even a malformed call does not throw.
  assert.doesNotThrow(() => rec.event(null as unknown as KubeObject, "Normal", "C", "c"));
});

test("with a hung API server the queue stays bounded and extra events are dropped", async () => {
  const { sink, rec } = setup({ maxQueue: 100 });
  sink.hang = true;
  for (let i = 0; i < 5000; i++) rec.event(pod, "Normal", "Spam", `message ${i}`);
  await flush();
  // One event is in flight, 100 wait, the rest were dropped.
  assert.equal(rec.dropped, 5000 - 1 - 100);
});

test("cluster-scoped objects get their Events in the default namespace", async () => {
  const { sink, rec } = setup();
  rec.event(
    { apiVersion: "v1", kind: "Node", metadata: { name: "node-1", uid: "n" } },
    "Normal",
    "Ready",
    "ok",
  );
  await rec.flush();
  assert.equal(sink.creates[0].metadata.namespace, "default");
  assert.equal(sink.creates[0].involvedObject.namespace, undefined);
});
