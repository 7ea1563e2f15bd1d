import assert from "node:assert/strict";
import { test } from "node:test";
import { KubeApiError } from "../../kube/errors.ts";
import { type DiscoveryClient, discover, groupOf, resourceId } from "./discovery.ts";

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function fakeServer(answers: Record<string, unknown>): DiscoveryClient & { paths: string[] } {
  const paths: string[] = [];
  return {
    paths,
    async raw(_method: string, path: string) {
      paths.push(path);
      if (path in answers) return answers[path];
      throw new KubeApiError("GET", path, { code: 503, reason: "ServiceUnavailable", message: "down" });
    },
  };
}

const server = () =>
  fakeServer({
    "/apis": {
      groups: [
        {
          name: "apps",
          versions: [{ groupVersion: "apps/v1", version: "v1" }],
          preferredVersion: { version: "v1" },
        },
        {
          name: "example.com",
          versions: [{ version: "v2" }, { version: "v1" }],
          preferredVersion: { version: "v2" },
        },
        { name: "broken.io", versions: [{ version: "v1" }], preferredVersion: { version: "v1" } },
      ],
    },
    "/api/v1": {
      resources: [
        { name: "pods", kind: "Pod", namespaced: true, verbs: VERBS },
        { name: "pods/status", kind: "Pod", namespaced: true, verbs: ["get"] },
        { name: "namespaces", kind: "Namespace", namespaced: false, verbs: ["get", "list", "delete"] },
      ],
    },
    "/apis/apps/v1": {
      resources: [{ name: "deployments", kind: "Deployment", namespaced: true, verbs: VERBS }],
    },
    "/apis/example.com/v2": {
      resources: [{ name: "widgets", kind: "Widget", namespaced: true, verbs: VERBS }],
    },
    "/apis/example.com/v1": {
      resources: [{ name: "widgets", kind: "Widget", namespaced: true, verbs: VERBS }],
    },
  });

test("discovery lists top-level resources of every group version, marking preferred ones", async () => {
  const map = await discover(server());
  assert.deepEqual(
    map.preferred().map((r) => `${resourceId(r)}@${r.version}`),
    ["/pods@v1", "/namespaces@v1", "apps/deployments@v1", "example.com/widgets@v2"],
  );
  assert.equal(map.all.length, 5);
  assert.deepEqual([...map.failures.keys()], ["broken.io/v1"]);
  assert.equal(map.groupFailed("broken.io"), true);
  assert.equal(map.groupFailed("apps"), false);
});

test("owners are looked up by apiVersion and kind, falling back to another version of the group", async () => {
  const map = await discover(server());
  assert.equal(map.forKind("v1", "Pod")?.plural, "pods");
  assert.equal(map.forKind("apps/v1", "Deployment")?.plural, "deployments");
  assert.equal(map.forKind("example.com/v1", "Widget")?.version, "v1");
  assert.equal(map.forKind("example.com/v9", "Widget")?.version, "v2");
  assert.equal(map.forKind("apps/v1", "Widget"), undefined);
  assert.equal(map.forKind("v1", "Deployment"), undefined);
});

test("a failing group list fails discovery as a whole", async () => {
  await assert.rejects(discover(fakeServer({})), /ServiceUnavailable/);
});

test("groupOf", () => {
  assert.equal(groupOf("v1"), "");
  assert.equal(groupOf("apps/v1"), "apps");
});
