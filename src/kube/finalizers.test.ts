import assert from "node:assert/strict";
import { test } from "node:test";
import type { PatchOptions, PatchType } from "./client.ts";
import { KubeApiError } from "./errors.ts";
import { addFinalizer, removeFinalizer } from "./finalizers.ts";
import type { KubeObject } from "./objects.ts";
import { type JsonPatchOp, jsonPointer, mergePatchAnnotations, type Patcher } from "./patch.ts";
import { PODS } from "./resource.ts";

const invalid = (msg: string) =>
  new KubeApiError("PATCH", "/x", { code: 422, reason: "Invalid", message: msg });

/** One object on a pretend server that applies JSON and merge patches as the API server does. */
class FakeServer implements Patcher {
  obj: KubeObject | undefined;
  private rv = 1;
  patches: { type: PatchType; body: unknown }[] = [];
  gets = 0;
  /** Runs before each patch is applied, to simulate another writer racing us. */
  beforePatch: (() => void) | undefined;

  constructor(obj: KubeObject) {
    this.obj = structuredClone(obj);
    this.obj.metadata.resourceVersion = String(this.rv);
  }

  write(mutate: (o: KubeObject) => void): void {
    mutate(this.obj!);
    this.obj!.metadata.resourceVersion = String(++this.rv);
  }

  async get<T extends KubeObject>(): Promise<T> {
    this.gets++;
    if (!this.obj) throw new KubeApiError("GET", "/x", { code: 404, reason: "NotFound", message: "nope" });
    return structuredClone(this.obj) as T;
  }

  async patch<T extends KubeObject>(
    _res: unknown,
    _ns: string,
    _name: string,
    type: PatchType,
    body: unknown,
    _opts?: PatchOptions,
  ): Promise<T> {
    this.beforePatch?.();
    this.beforePatch = undefined;
    this.patches.push({ type, body });
    if (!this.obj) throw new KubeApiError("PATCH", "/x", { code: 404, reason: "NotFound", message: "nope" });
    const next = structuredClone(this.obj);
    if (type === "json") {
      for (const op of body as JsonPatchOp[]) {
        const [, section, field] = op.path.split("/");
        const target = (next as Record<string, any>)[section];
        if (op.op === "test") {
          if (JSON.stringify(target?.[field]) !== JSON.stringify(op.value)) throw invalid("test failed");
        } else if (op.op === "add" || op.op === "replace") {
          target[field] = op.value;
        }
      }
      const before = this.obj.metadata.finalizers ?? [];
      const added = (next.metadata.finalizers ?? []).some((f: string) => !before.includes(f));
      if (next.metadata.deletionTimestamp && added)
        throw invalid("no new finalizers can be added if the object is being deleted");
      if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
        this.obj = undefined;
        return next as T;
      }
    } else if (type === "merge") {
      const ann = { ...next.metadata.annotations };
      for (const [k, v] of Object.entries((body as any).metadata.annotations)) {
        if (v === null) delete ann[k];
        else ann[k] = v as string;
      }
      next.metadata.annotations = ann;
    }
    next.metadata.resourceVersion = String(++this.rv);
    this.obj = next;
    return structuredClone(next) as T;
  }
}

const pod = (finalizers?: string[]): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "ns", finalizers },
});

test("adding the first finalizer pins the resourceVersion; later ones test the list", async () => {
  const server = new FakeServer(pod());
  const seen = await server.get();
  const after = await addFinalizer(server, PODS, seen, "raven.io/ip");
  assert.deepEqual(after.metadata.finalizers, ["raven.io/ip"]);
  assert.deepEqual(server.patches[0].body, [
    { op: "test", path: "/metadata/resourceVersion", value: "1" },
    { op: "add", path: "/metadata/finalizers", value: ["raven.io/ip"] },
  ]);
  const after2 = await addFinalizer(server, PODS, after, "raven.io/route");
  assert.deepEqual(after2.metadata.finalizers, ["raven.io/ip", "raven.io/route"]);
  assert.deepEqual((server.patches[1].body as JsonPatchOp[])[0], {
    op: "test",
    path: "/metadata/finalizers",
    value: ["raven.io/ip"],
  });
});

test("adding a finalizer that is there already sends nothing", async () => {
  const server = new FakeServer(pod(["raven.io/ip"]));
  const seen = await server.get();
  assert.equal(await addFinalizer(server, PODS, seen, "raven.io/ip"), seen);
  assert.equal(server.patches.length, 0);
});

test("unrelated writes do not disturb the patch; a concurrent finalizer edit is retried, not clobbered", async () => {
  const server = new FakeServer(pod(["other.io/x"]));
  const seen = await server.get();
  server.write((o) => {
    o.status = { phase: "Running" }; // status update bumps resourceVersion
  });
  await addFinalizer(server, PODS, seen, "raven.io/ip");
  assert.equal(server.gets, 1, "no re-read needed");
  assert.deepEqual(server.obj!.metadata.finalizers, ["other.io/x", "raven.io/ip"]);

  // Someone else adds theirs between our read and our patch.
  const seen2 = await server.get();
  server.beforePatch = () => server.write((o) => o.metadata.finalizers!.push("third.io/y"));
  const out = await removeFinalizer(server, PODS, seen2, "raven.io/ip");
  assert.deepEqual(out?.metadata.finalizers, ["other.io/x", "third.io/y"]);
  assert.deepEqual(server.obj!.metadata.finalizers, ["other.io/x", "third.io/y"]);
});

test("removing the last finalizer of a deleted object lets it go; an object already gone is no error", async () => {
  const server = new FakeServer(pod(["raven.io/ip"]));
  server.write((o) => {
    o.metadata.deletionTimestamp = "2025-01-01T00:00:00Z";
  });
  const out = await removeFinalizer(server, PODS, await server.get(), "raven.io/ip");
  assert.deepEqual(out?.metadata.finalizers, []);
  assert.equal(server.obj, undefined);
  // And removing from an object that is already gone is not an error either.
  assert.equal(await removeFinalizer(server, PODS, pod(["raven.io/ip"]), "raven.io/ip"), undefined);
});

test("a 422 that is not a failed test is thrown at once instead of retried", async () => {
  const server = new FakeServer(pod(["other.io/x"]));
  server.write((o) => {
    o.metadata.deletionTimestamp = "2025-01-01T00:00:00Z";
  });
  await assert.rejects(addFinalizer(server, PODS, await server.get(), "raven.io/ip"), /being deleted/);
  assert.equal(server.patches.length, 1);
});

test("mergePatchAnnotations sets and removes keys with a merge patch", async () => {
  const server = new FakeServer({
    ...pod(),
    metadata: { ...pod().metadata, annotations: { a: "1", b: "2" } },
  });
  await mergePatchAnnotations(server, PODS, "ns", "p", { b: null, c: "3" });
  assert.deepEqual(server.patches[0], {
    type: "merge",
    body: { metadata: { annotations: { b: null, c: "3" } } },
  });
  assert.deepEqual(server.obj!.metadata.annotations, { a: "1", c: "3" });
});

test("jsonPointer escapes ~ and /", () => {
  assert.equal(
    jsonPointer("metadata", "annotations", "raven.io/ip~v4"),
    "/metadata/annotations/raven.io~1ip~0v4",
  );
  assert.equal(jsonPointer("spec", "containers", 0), "/spec/containers/0");
});
