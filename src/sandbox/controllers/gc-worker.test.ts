import assert from "node:assert/strict";
import { test } from "node:test";
import type { DeleteOptions, PatchType } from "../../kube/client.ts";
import { KubeApiError } from "../../kube/errors.ts";
import type { KubeObject, OwnerReference } from "../../kube/objects.ts";
import type { JsonPatchOp } from "../../kube/patch.ts";
import type { ApiResource } from "../../kube/resource.ts";
import { type DiscoveredResource, ResourceMap } from "./discovery.ts";
import { type GcClient, GcWorker, UnknownOwnerKindError } from "./gc-worker.ts";
import { OwnerGraph } from "./owner-graph.ts";

const VERBS = ["delete", "get", "list", "patch", "watch"];
const res = (plural: string, kind: string, namespaced = true): DiscoveredResource => ({
  group: "",
  version: "v1",
  plural,
  kind,
  namespaced,
  verbs: VERBS,
  preferred: true,
});
const CM = res("configmaps", "ConfigMap");
const POD = res("pods", "Pod");
const SECRET = res("secrets", "Secret");
const NODE = res("nodes", "Node", false);
const RESOURCES = new ResourceMap([CM, POD, SECRET, NODE]);

const apiError = (code: number, reason: string) =>
  new KubeApiError("X", "/x", { code, reason, message: reason });

/** Objects on a pretend API server with the deletion semantics the garbage collector relies on. */
class FakeApi implements GcClient {
  readonly objects = new Map<string, KubeObject>();
  readonly calls: string[] = [];

  private key(r: ApiResource, ns: string, name: string): string {
    return `${r.plural}/${r.namespaced ? ns : ""}/${name}`;
  }

  put(r: ApiResource, obj: KubeObject): KubeObject {
    this.objects.set(this.key(r, obj.metadata.namespace ?? "", obj.metadata.name!), structuredClone(obj));
    return obj;
  }

  has(r: ApiResource, ns: string, name: string): boolean {
    return this.objects.has(this.key(r, ns, name));
  }

  peek(r: ApiResource, ns: string, name: string): KubeObject | undefined {
    return this.objects.get(this.key(r, ns, name));
  }

  async get<T extends KubeObject>(r: ApiResource, ns: string, name: string): Promise<T> {
    this.calls.push(`get ${r.plural} ${name}`);
    const o = this.objects.get(this.key(r, ns, name));
    if (!o) throw apiError(404, "NotFound");
    return structuredClone(o) as T;
  }

  async delete(r: ApiResource, ns: string, name: string, opts: DeleteOptions = {}): Promise<unknown> {
    this.calls.push(`delete ${r.plural} ${name} ${opts.propagationPolicy}`);
    const k = this.key(r, ns, name);
    const o = this.objects.get(k);
    if (!o) throw apiError(404, "NotFound");
    if (opts.preconditions?.uid && opts.preconditions.uid !== o.metadata.uid) throw apiError(409, "Conflict");
    const fin = ({ Foreground: "foregroundDeletion", Orphan: "orphan" } as Record<string, string>)[
      opts.propagationPolicy ?? ""
    ];
    if (fin) o.metadata.finalizers = [...(o.metadata.finalizers ?? []), fin];
    if (o.metadata.finalizers?.length) o.metadata.deletionTimestamp ??= "2026-01-01T00:00:00Z";
    else this.objects.delete(k);
    return o;
  }

  async patch<T extends KubeObject>(
    r: ApiResource,
    ns: string,
    name: string,
    type: PatchType,
    body: unknown,
  ): Promise<T> {
    assert.equal(type, "json");
    this.calls.push(`patch ${r.plural} ${name}`);
    const k = this.key(r, ns, name);
    const cur = this.objects.get(k);
    if (!cur) throw apiError(404, "NotFound");
    const next = structuredClone(cur);
    for (const op of body as JsonPatchOp[]) applyOp(next, op);
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) this.objects.delete(k);
    else this.objects.set(k, next);
    return structuredClone(next) as T;
  }
}

function applyOp(doc: any, op: JsonPatchOp): void {
  const parts = op.path.split("/").slice(1);
  const last = parts.pop()!;
  const parent = parts.reduce((o, p) => o?.[p], doc);
  if (op.op === "test") {
    if (JSON.stringify(parent?.[last]) !== JSON.stringify(op.value)) throw apiError(422, "Invalid");
  } else if (op.op === "remove") {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (op.op === "replace" || op.op === "add") {
    parent[last] = op.value;
  } else throw new Error(`unsupported op ${op.op}`);
}

const ownerRef = (o: KubeObject, kind: string, block = false): OwnerReference => ({
  apiVersion: "v1",
  kind,
  name: o.metadata.name!,
  uid: o.metadata.uid!,
  blockOwnerDeletion: block,
});

function setup() {
  const api = new FakeApi();
  const graph = new OwnerGraph<DiscoveredResource>();
  const queued: string[] = [];
  const warnings: string[] = [];
  const worker = new GcWorker({
    client: api,
    graph,
    resources: () => RESOURCES,
    enqueue: (uid) => queued.push(uid),
    warn: (_o, reason) => warnings.push(reason),
  });
  /** Creates on the server and shows it to the graph, as an informer would. */
  const add = (r: DiscoveredResource, obj: KubeObject) => {
    api.put(r, obj);
    return graph.observe(obj, r);
  };
  return { api, graph, queued, warnings, worker, add };
}

const cm = (name: string, uid: string, extra: Partial<KubeObject["metadata"]> = {}): KubeObject => ({
  metadata: { name, namespace: "a", uid, ...extra },
});

test("a dependent whose owner never existed is deleted, in the background, by UID", async () => {
  const { api, worker, add } = setup();
  const queued = add(SECRET, cm("s", "s1", { ownerReferences: [ownerRef(cm("ghost", "g1"), "ConfigMap")] }));
  assert.deepEqual(queued, ["s1"]);
  await worker.sync("s1");
  assert.equal(api.has(SECRET, "a", "s"), false);
  assert.ok(api.calls.includes("delete secrets s Background"));
});

test("an owner with the same name but another UID counts as gone", async () => {
  const { api, worker, add } = setup();
  api.put(CM, cm("owner", "new-uid"));
  add(SECRET, cm("s", "s1", { ownerReferences: [ownerRef(cm("owner", "old-uid"), "ConfigMap")] }));
  await worker.sync("s1");
  assert.equal(api.has(SECRET, "a", "s"), false);
  assert.equal(api.has(CM, "a", "owner"), true);
});

test("an owner that exists but is not in the graph yet keeps its dependent", async () => {
  const { api, worker, add } = setup();
  const owner = api.put(CM, cm("owner", "o1"));
  add(SECRET, cm("s", "s1", { ownerReferences: [ownerRef(owner, "ConfigMap")] }));
  await worker.sync("s1");
  assert.equal(api.has(SECRET, "a", "s"), true);
});

test("many dependents of one vanished owner cost one GET of the owner", async () => {
  const { api, worker, graph, add } = setup();
  const owner = cm("owner", "o1");
  add(CM, owner);
  for (let i = 0; i < 5; i++)
    add(SECRET, cm(`s${i}`, `s${i}`, { ownerReferences: [ownerRef(owner, "ConfigMap")] }));
  api.objects.delete("configmaps/a/owner");
  const queued = graph.forget("o1");
  assert.equal(queued.length, 5);
  for (const uid of queued) await worker.sync(uid);
  assert.equal(api.calls.filter((c) => c === "get configmaps owner").length, 1);
  assert.equal([...api.objects.keys()].length, 0);
});

test("a dependent with a live owner only loses its dangling references", async () => {
  const { api, worker, add } = setup();
  const live = cm("live", "o1");
  add(CM, live);
  const refs = [
    ownerRef(cm("gone", "g1"), "ConfigMap"),
    ownerRef(live, "ConfigMap"),
    ownerRef(cm("gone2", "g2"), "ConfigMap"),
  ];
  add(SECRET, cm("s", "s1", { ownerReferences: refs }));
  await worker.sync("s1");
  assert.deepEqual(
    api.peek(SECRET, "a", "s")!.metadata.ownerReferences!.map((r) => r.uid),
    ["o1"],
  );
});

test("an owner of an unknown kind is retried, not treated as gone", async () => {
  const { api, worker, add } = setup();
  add(
    SECRET,
    cm("s", "s1", {
      ownerReferences: [{ apiVersion: "example.com/v1", kind: "Widget", name: "w", uid: "w1" }],
    }),
  );
  await assert.rejects(worker.sync("s1"), UnknownOwnerKindError);
  assert.equal(api.has(SECRET, "a", "s"), true);
});

test("a cluster-scoped dependent cannot have a namespaced owner", async () => {
  const { api, worker, warnings, add } = setup();
  add(NODE, { metadata: { name: "n", uid: "n1", ownerReferences: [ownerRef(cm("x", "x1"), "ConfigMap")] } });
  await worker.sync("n1");
  assert.equal(api.has(NODE, "", "n"), false);
  assert.deepEqual(warnings, ["OwnerRefInvalidNamespace"]);
});

test("foreground: dependents are queued, and the finalizer goes once no blocking dependent is left", async () => {
  const { api, worker, graph, queued, add } = setup();
  const owner = cm("owner", "o1");
  add(CM, owner);
  const pod = {
    metadata: { name: "p", namespace: "a", uid: "p1", ownerReferences: [ownerRef(owner, "ConfigMap", true)] },
  };
  add(POD, pod);
  add(SECRET, cm("s", "s1", { ownerReferences: [ownerRef(pod, "Pod", true)] }));
  await api.delete(CM, "a", "owner", { propagationPolicy: "Foreground" });
  queued.push(...graph.observe(api.peek(CM, "a", "owner")!, CM));
  assert.deepEqual(queued, ["o1"]);
  await worker.sync("o1");
  assert.deepEqual(queued, ["o1", "p1"]);
  assert.equal(api.has(CM, "a", "owner"), true, "the owner waits for its pod");
  // The pod has a dependent of its own, so it goes in the foreground too.
  await worker.sync("p1");
  assert.ok(api.calls.includes("delete pods p Foreground"));
  queued.push(...graph.observe(api.peek(POD, "a", "p")!, POD));
  await worker.sync("p1"); // queues the secret
  assert.deepEqual(queued.slice(-1), ["s1"]);
  await worker.sync("s1"); // the secret's owner is waiting: it goes
  assert.equal(api.has(SECRET, "a", "s"), false);
  queued.push(...graph.forget("s1"));
  await worker.sync("p1");
  assert.equal(api.has(POD, "a", "p"), false);
  queued.push(...graph.forget("p1"));
  assert.equal(queued.at(-1), "o1");
  await worker.sync("o1");
  assert.equal(api.has(CM, "a", "owner"), false);
});

test("orphan: dependents lose the reference, then the owner loses its finalizer", async () => {
  const { api, worker, graph, add } = setup();
  const owner = cm("owner", "o1");
  add(CM, owner);
  const other = cm("other", "o2");
  add(CM, other);
  add(
    SECRET,
    cm("s1", "s1", { ownerReferences: [ownerRef(owner, "ConfigMap", true), ownerRef(other, "ConfigMap")] }),
  );
  add(SECRET, cm("s2", "s2", { ownerReferences: [ownerRef(owner, "ConfigMap")] }));
  await api.delete(CM, "a", "owner", { propagationPolicy: "Orphan" });
  assert.deepEqual(graph.observe(api.peek(CM, "a", "owner")!, CM), ["o1"]);
  await worker.sync("o1");
  assert.equal(api.has(CM, "a", "owner"), false);
  assert.deepEqual(
    api.peek(SECRET, "a", "s1")!.metadata.ownerReferences!.map((r) => r.uid),
    ["o2"],
  );
  assert.deepEqual(api.peek(SECRET, "a", "s2")!.metadata.ownerReferences, []);
});

test("objects gone from the graph, or being deleted without a policy, are left alone", async () => {
  const { api, worker, add } = setup();
  await worker.sync("nobody");
  add(
    SECRET,
    cm("s", "s1", {
      deletionTimestamp: "2026-01-01T00:00:00Z",
      finalizers: ["x/y"],
      ownerReferences: [ownerRef(cm("g", "g1"), "ConfigMap")],
    }),
  );
  await worker.sync("s1");
  assert.deepEqual(api.calls, []);
});
