import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeClient } from "../../kube/client.ts";
import { KubeApiError } from "../../kube/errors.ts";
import type { KubeObject } from "../../kube/objects.ts";
import type { ApiResource } from "../../kube/resource.ts";
import { type DiscoveredResource, ResourceMap } from "./discovery.ts";
import { type ContentReport, deleteContent, deletionConditions } from "./namespace.ts";

const ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const res = (group: string, plural: string, verbs = ALL, namespaced = true): DiscoveredResource => ({
  group,
  version: "v1",
  plural,
  kind: plural,
  namespaced,
  verbs,
  preferred: true,
});

/** Objects by resource; deletes honour finalizers and pretend pods linger for their grace period. */
function fakeClient(objects: Record<string, KubeObject[]>) {
  const calls: string[] = [];
  const remove = (r: ApiResource, name: string) => {
    const list = objects[r.plural] ?? [];
    const o = list.find((x) => x.metadata.name === name);
    if (!o) throw new KubeApiError("DELETE", "/x", { code: 404, reason: "NotFound" });
    o.metadata.deletionTimestamp ??= "2026-01-01T00:00:00Z";
    if (!o.metadata.finalizers?.length && r.plural !== "pods") list.splice(list.indexOf(o), 1);
  };
  const client = {
    async deleteCollection(r: ApiResource, ns: string) {
      calls.push(`deletecollection ${r.plural} ${ns}`);
      if (r.plural === "broken")
        throw new KubeApiError("DELETE", "/x", { code: 500, reason: "InternalError" });
      for (const o of [...(objects[r.plural] ?? [])]) remove(r, o.metadata.name!);
    },
    async delete(r: ApiResource, _ns: string, name: string) {
      calls.push(`delete ${r.plural} ${name}`);
      remove(r, name);
    },
    async list(r: ApiResource) {
      calls.push(`list ${r.plural}`);
      return {
        apiVersion: "v1",
        kind: "List",
        metadata: {},
        items: structuredClone(objects[r.plural] ?? []),
      };
    },
  };
  return { client: client as unknown as KubeClient, calls };
}

const obj = (name: string, finalizers?: string[]): KubeObject => ({
  metadata: { name, namespace: "x", finalizers },
});

test("content is deleted by collection where possible, else one by one, and what remains is counted", async () => {
  const objects = {
    configmaps: [obj("a"), obj("b", ["example.com/hold"])],
    pods: [obj("p")],
    widgets: [obj("w")],
    nodes: [obj("n")],
  };
  const { client, calls } = fakeClient(objects);
  const resources = new ResourceMap([
    res("", "configmaps"),
    res("", "pods"),
    res("example.com", "widgets", ["delete", "get", "list"]),
    res("", "nodes", ALL, false),
    res("", "bindings", ["create"]),
  ]);
  const report = await deleteContent(client, "x", resources);
  assert.ok(calls.includes("deletecollection configmaps x"));
  assert.ok(calls.includes("delete widgets w"));
  assert.ok(!calls.some((c) => c.includes("nodes") || c.includes("bindings")));
  assert.deepEqual(objects.widgets, []);
  assert.deepEqual(Object.fromEntries(report.remaining), { "configmaps.": 1, "pods.": 1 });
  assert.deepEqual(Object.fromEntries(report.finalizers), { "example.com/hold": 1 });
  assert.deepEqual(report.deleteFailures, []);
});

test("failures to delete and to discover are reported", async () => {
  const { client } = fakeClient({ broken: [obj("z")] });
  const resources = new ResourceMap([res("", "broken")], new Map([["metrics.k8s.io/v1beta1", "503"]]));
  const report = await deleteContent(client, "x", resources);
  assert.equal(report.deleteFailures.length, 1);
  assert.match(report.deleteFailures[0], /^broken\.: .*InternalError/);
  assert.deepEqual(report.discoveryFailures, ["metrics.k8s.io/v1beta1: 503"]);
});

const empty = (): ContentReport => ({
  discoveryFailures: [],
  deleteFailures: [],
  remaining: new Map(),
  finalizers: new Map(),
});

test("conditions say what remains, in upstream's words", () => {
  const report = empty();
  report.remaining.set("pods.", 2);
  report.remaining.set("configmaps.", 1);
  report.finalizers.set("example.com/hold", 1);
  const conds = deletionConditions(report, [], "T1");
  const byType = Object.fromEntries(conds.map((c) => [c.type, c]));
  assert.deepEqual(byType.NamespaceContentRemaining, {
    type: "NamespaceContentRemaining",
    status: "True",
    lastTransitionTime: "T1",
    reason: "SomeResourcesRemain",
    message:
      "Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances",
  });
  assert.equal(byType.NamespaceFinalizersRemaining.status, "True");
  assert.equal(
    byType.NamespaceFinalizersRemaining.message,
    "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances",
  );
  assert.equal(byType.NamespaceDeletionDiscoveryFailure.status, "False");
  assert.equal(byType.NamespaceDeletionDiscoveryFailure.reason, "ResourcesDiscovered");
  assert.equal(byType.NamespaceDeletionContentFailure.reason, "ContentDeleted");
  assert.equal(conds.length, 5);
});

test("lastTransitionTime only moves when a condition's status does", () => {
  const first = deletionConditions(empty(), [], "T1");
  const report = empty();
  report.remaining.set("pods.", 1);
  const second = deletionConditions(report, first, "T2");
  const third = deletionConditions(empty(), second, "T3");
  const at = (cs: typeof first, type: string) => cs.find((c) => c.type === type)!.lastTransitionTime;
  assert.equal(at(second, "NamespaceContentRemaining"), "T2");
  assert.equal(at(second, "NamespaceDeletionDiscoveryFailure"), "T1");
  assert.equal(at(third, "NamespaceContentRemaining"), "T3");
  assert.equal(third.find((c) => c.type === "NamespaceContentRemaining")!.reason, "ContentRemoved");
});
