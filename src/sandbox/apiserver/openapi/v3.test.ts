import assert from "node:assert/strict";
import { test } from "node:test";
import type { ResourceDef } from "../types.ts";
import { builtinDef, builtinDefs, cronTabDef } from "./testing.ts";
import type { OpenApiDocument } from "./v3.ts";
import { buildGroupVersionDoc, buildIndex, documentHash, groupVersionPath, OpenApiCache } from "./v3.ts";

const docFor = (group: string, version: string) =>
  buildGroupVersionDoc(builtinDefs().filter((d) => d.group === group && d.version === version));

const core = docFor("", "v1");
const apps = docFor("apps", "v1");
const crds = docFor("apiextensions.k8s.io", "v1");
const crs = buildGroupVersionDoc([cronTabDef()]);

type Op = Record<string, any>;

function operations(doc: OpenApiDocument): { path: string; method: string; op: Op }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    ["get", "put", "post", "patch", "delete"]
      .filter((m) => item[m])
      .map((method) => ({ path, method, op: item[method] as Op })),
  );
}

function refsIn(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) refsIn(x, out);
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref" && typeof x === "string") out.push(x);
      else refsIn(x, out);
    }
  return out;
}

test("every operation carries its action and GVK; every PATCH declares fieldValidation", () => {
  for (const doc of [core, apps, crds, crs]) {
    const ops = operations(doc);
    assert.ok(ops.length > 0);
    for (const { path, method, op } of ops) {
      assert.ok(op["x-kubernetes-action"], `${method} ${path} has an action`);
      const gvk = op["x-kubernetes-group-version-kind"];
      assert.deepEqual(Object.keys(gvk).sort(), ["group", "kind", "version"], `${method} ${path} has a GVK`);
      if (method === "patch") {
        const names = (op.parameters as { name: string; in: string }[]).map((p) => `${p.in}:${p.name}`);
        assert.ok(names.includes("query:fieldValidation"), `${path} PATCH declares fieldValidation`);
        assert.ok(op.requestBody.content["application/merge-patch+json"], `${path} accepts merge patches`);
      }
    }
  }
});

test("PATCH of built-in kinds accepts strategic merge patches, of custom resources not", () => {
  const podPatch = core.paths["/api/v1/namespaces/{namespace}/pods/{name}"].patch as Op;
  assert.deepEqual(podPatch["x-kubernetes-group-version-kind"], { group: "", kind: "Pod", version: "v1" });
  assert.equal(podPatch["x-kubernetes-action"], "patch");
  assert.ok(podPatch.requestBody.content["application/strategic-merge-patch+json"]);
  const deploymentPatch = apps.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch as Op;
  assert.ok(deploymentPatch.requestBody.content["application/strategic-merge-patch+json"]);
  const crPatch = crs.paths["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"].patch as Op;
  assert.equal(crPatch.requestBody.content["application/strategic-merge-patch+json"], undefined);
  assert.deepEqual(Object.keys(crPatch.requestBody.content).sort(), [
    "application/json-patch+json",
    "application/merge-patch+json",
  ]);
});

test("lays out collection, item, all-namespaces and subresource paths", () => {
  const pods = Object.keys(core.paths).filter((p) => p.includes("/pods"));
  assert.deepEqual(pods.sort(), [
    "/api/v1/namespaces/{namespace}/pods",
    "/api/v1/namespaces/{namespace}/pods/{name}",
    "/api/v1/namespaces/{namespace}/pods/{name}/status",
    "/api/v1/pods",
  ]);
  assert.ok(core.paths["/api/v1/nodes/{name}"], "cluster-scoped item path");
  assert.equal(core.paths["/api/v1/namespaces/{namespace}/nodes"], undefined);
  const list = core.paths["/api/v1/namespaces/{namespace}/pods"];
  assert.equal((list.get as Op)["x-kubernetes-action"], "list");
  assert.equal((list.post as Op)["x-kubernetes-action"], "post");
  assert.equal((list.delete as Op)["x-kubernetes-action"], "deletecollection");
  // Namespaces do not serve deletecollection, so there is no DELETE on their collection.
  assert.equal(core.paths["/api/v1/namespaces"].delete, undefined);
  const status = core.paths["/api/v1/namespaces/{namespace}/pods/{name}/status"].patch as Op;
  assert.deepEqual(status["x-kubernetes-group-version-kind"], { group: "", kind: "Pod", version: "v1" });
  assert.equal(status.operationId, "patchCoreV1NamespacedPodStatus");
});

test("the scale subresource speaks autoscaling/v1 Scale", () => {
  const scale = apps.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
  for (const m of ["get", "put", "patch"])
    assert.deepEqual((scale[m] as Op)["x-kubernetes-group-version-kind"], {
      group: "autoscaling",
      kind: "Scale",
      version: "v1",
    });
  assert.deepEqual(
    apps.components.schemas["io.k8s.api.autoscaling.v1.Scale"]["x-kubernetes-group-version-kind"],
    [{ group: "autoscaling", kind: "Scale", version: "v1" }],
  );
  assert.ok(crs.paths["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale"]);
});

test("schemas carry upstream names, GVK lists, descriptions and required fields", () => {
  const pod = core.components.schemas["io.k8s.api.core.v1.Pod"];
  assert.deepEqual(pod["x-kubernetes-group-version-kind"], [{ group: "", kind: "Pod", version: "v1" }]);
  assert.match(pod.description ?? "", /^Pod is a collection of containers/);
  assert.deepEqual(core.components.schemas["io.k8s.api.core.v1.PodList"]["x-kubernetes-group-version-kind"], [
    { group: "", kind: "PodList", version: "v1" },
  ]);
  assert.deepEqual(core.components.schemas["io.k8s.api.core.v1.PodSpec"].required, ["containers"]);
  assert.deepEqual(
    apps.components.schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"],
    [{ group: "apps", kind: "Deployment", version: "v1" }],
  );
  // PodTemplateSpec is a core type even in the apps document; it is not a kind there.
  assert.equal(
    apps.components.schemas["io.k8s.api.core.v1.PodTemplateSpec"]["x-kubernetes-group-version-kind"],
    undefined,
  );
  const crd = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition";
  assert.deepEqual(crds.components.schemas[crd]["x-kubernetes-group-version-kind"], [
    { group: "apiextensions.k8s.io", kind: "CustomResourceDefinition", version: "v1" },
  ]);
  assert.ok(core.components.schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]);
});

test("primitives and patch metadata are published as upstream does", () => {
  const schemas = core.components.schemas;
  const targetPort = schemas["io.k8s.api.core.v1.ServicePort"].properties!.targetPort;
  assert.deepEqual(targetPort.allOf, [
    { $ref: "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString" },
  ]);
  assert.equal(
    schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["x-kubernetes-int-or-string"],
    true,
  );
  const created = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].properties!.creationTimestamp;
  assert.deepEqual(created.allOf, [
    { $ref: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time" },
  ]);
  assert.equal(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"].format, "date-time");
  const limits = schemas["io.k8s.api.core.v1.ResourceRequirements"].properties!.limits;
  assert.deepEqual(limits.additionalProperties, { type: "string" });
  const containers = schemas["io.k8s.api.core.v1.PodSpec"].properties!.containers;
  assert.equal(containers["x-kubernetes-patch-strategy"], "merge");
  assert.equal(containers["x-kubernetes-patch-merge-key"], "name");
  assert.deepEqual(schemas["io.k8s.api.core.v1.PodSpec"].properties!.restartPolicy.enum, [
    "Always",
    "Never",
    "OnFailure",
  ]);
});

test("every $ref resolves within its own document", () => {
  for (const doc of [core, apps, crds, crs]) {
    for (const ref of refsIn(doc)) {
      const name = ref.replace("#/components/schemas/", "");
      assert.ok(doc.components.schemas[name], `${ref} is defined`);
    }
  }
});

test("custom resources get the CRD schema with metadata, type meta and GVK", () => {
  const ct = crs.components.schemas["com.example.stable.v1.CronTab"];
  assert.deepEqual(ct["x-kubernetes-group-version-kind"], [
    { group: "stable.example.com", kind: "CronTab", version: "v1" },
  ]);
  assert.deepEqual(ct.properties!.metadata.allOf, [
    { $ref: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" },
  ]);
  assert.equal(ct.properties!.apiVersion.type, "string");
  assert.equal(ct.properties!.spec.properties!.cronSpec.description, "The schedule, in cron format.");
  // Embedded resources are given type meta and metadata too.
  assert.ok(ct.properties!.spec.properties!.template.properties!.metadata);
  const list = crs.components.schemas["com.example.stable.v1.CronTabList"];
  assert.deepEqual(list["x-kubernetes-group-version-kind"], [
    { group: "stable.example.com", kind: "CronTabList", version: "v1" },
  ]);
  assert.deepEqual(list.properties!.items.items, {
    $ref: "#/components/schemas/com.example.stable.v1.CronTab",
  });
  // The CRD's own schema object is left untouched.
  const def = cronTabDef();
  buildGroupVersionDoc([def]);
  assert.equal(def.crd!.schema!["x-kubernetes-group-version-kind"], undefined);
  assert.equal((def.crd!.schema!.properties as Record<string, unknown>).metadata, undefined);
});

test("a CRD without a schema publishes an open object", () => {
  const def = cronTabDef();
  delete def.crd!.schema;
  const doc = buildGroupVersionDoc([def]);
  const ct = doc.components.schemas["com.example.stable.v1.CronTab"];
  assert.equal(ct["x-kubernetes-preserve-unknown-fields"], true);
});

test("refuses to mix group-versions in one document", () => {
  assert.throws(
    () => buildGroupVersionDoc([builtinDef("pods"), builtinDef("deployments")]),
    /mixed group-versions/,
  );
});

test("the index lists each group-version with its document hash", () => {
  assert.equal(groupVersionPath("", "v1"), "api/v1");
  assert.equal(groupVersionPath("apps", "v1"), "apis/apps/v1");
  assert.deepEqual(
    buildIndex([
      { path: "apis/apps/v1", hash: "B2" },
      { path: "api/v1", hash: "A1" },
    ]),
    {
      paths: {
        "api/v1": { serverRelativeURL: "/openapi/v3/api/v1?hash=A1" },
        "apis/apps/v1": { serverRelativeURL: "/openapi/v3/apis/apps/v1?hash=B2" },
      },
    },
  );
  const h = documentHash("{}");
  assert.match(h, /^[0-9A-F]{128}$/);
  assert.equal(h, documentHash("{}"));
  assert.notEqual(h, documentHash("{ }"));
});

test("documents are stable: the same served set gives the same bytes", () => {
  assert.equal(JSON.stringify(docFor("", "v1")), JSON.stringify(core));
});

test("the cache rebuilds only when the generation changes", () => {
  let calls = 0;
  let defs: ResourceDef[] = builtinDefs();
  const source = {
    generation: 1,
    all() {
      calls++;
      return defs;
    },
  };
  const cache = new OpenApiCache(source, { version: "v1.33.1" });
  const first = cache.index();
  assert.ok(first.paths["api/v1"]);
  assert.equal(first.paths["apis/stable.example.com/v1"], undefined);
  const doc = cache.document("api/v1")!;
  assert.equal(doc.hash, documentHash(doc.body));
  assert.equal(doc.etag, `"${doc.hash}"`);
  assert.equal(first.paths["api/v1"].serverRelativeURL, `/openapi/v3/api/v1?hash=${doc.hash}`);
  assert.equal(JSON.parse(doc.body).info.version, "v1.33.1");
  assert.equal(cache.document("/apis/apps/v1/")?.path, "apis/apps/v1");
  assert.equal(cache.document("apis/nope/v1"), undefined);
  assert.equal(calls, 1);

  defs = [...defs, cronTabDef()];
  source.generation = 2;
  const second = cache.index();
  assert.equal(calls, 2);
  assert.ok(second.paths["apis/stable.example.com/v1"]);
  // Unchanged group-versions keep their hash, so kubectl's cached copies stay valid.
  assert.equal(second.paths["api/v1"].serverRelativeURL, first.paths["api/v1"].serverRelativeURL);
});
