import assert from "node:assert/strict";
import { test } from "node:test";
import { explain } from "./kubectl-explain.ts";
import { builtinDefs, cronTabDef } from "./testing.ts";
import { buildGroupVersionDoc } from "./v3.ts";

// Documents as served (through JSON, as kubectl receives them).
const served = (defs: ReturnType<typeof builtinDefs>) =>
  JSON.parse(JSON.stringify(buildGroupVersionDoc(defs)));
const core = served(builtinDefs().filter((d) => d.group === ""));
const apps = served(builtinDefs().filter((d) => d.group === "apps"));
const crs = served([cronTabDef()]);

const pods = { group: "", version: "v1", resource: "pods" };

test("explain pods.spec.restartPolicy", () => {
  const r = explain(core, pods, ["spec", "restartPolicy"]);
  assert.deepEqual(r.gvk, { group: "", kind: "Pod", version: "v1" });
  assert.equal(r.field, "restartPolicy");
  assert.equal(r.type, "string");
  assert.match(
    r.description,
    /^Restart policy for all containers within the pod\. One of Always, OnFailure, Never\./,
  );
  assert.deepEqual(r.enum, ["Always", "Never", "OnFailure"]);
});

test("explain pods (the kind itself) lists its fields", () => {
  const r = explain(core, pods, []);
  assert.match(r.description, /^Pod is a collection of containers/);
  assert.deepEqual(r.fields, ["apiVersion", "kind", "metadata", "spec", "status"]);
});

test("explain deployment.spec.template.spec.containers.livenessProbe", () => {
  const r = explain(apps, { group: "apps", version: "v1", resource: "deployments" }, [
    "spec",
    "template",
    "spec",
    "containers",
    "livenessProbe",
  ]);
  assert.deepEqual(r.gvk, { group: "apps", kind: "Deployment", version: "v1" });
  assert.equal(r.type, "Probe");
  // client-node keeps no comment on fields that reference a model, so the description is the
  // referenced type's (kubectl prints the field's own comment, if any, before it).
  assert.match(r.description, /^Probe describes a health check to be performed against a container/);
  assert.ok(r.fields.includes("httpGet") && r.fields.includes("initialDelaySeconds"));
});

test("explain services.spec.externalIPs", () => {
  const r = explain(core, { group: "", version: "v1", resource: "services" }, ["spec", "externalIPs"]);
  assert.deepEqual(r.gvk, { group: "", kind: "Service", version: "v1" });
  assert.equal(r.type, "[]string");
  assert.match(r.description, /externalIPs is a list of IP addresses/);
});

test("explain follows maps, int-or-string and timestamps", () => {
  assert.equal(explain(core, pods, ["metadata", "labels"]).type, "map[string]string");
  assert.equal(explain(core, pods, ["metadata", "creationTimestamp"]).type, "string");
  const port = explain(core, { group: "", version: "v1", resource: "services" }, [
    "spec",
    "ports",
    "targetPort",
  ]);
  assert.equal(port.type, "string");
  assert.match(port.description, /^IntOrString is a type that can hold an int32 or a string/);
  assert.equal(explain(core, pods, ["spec", "containers"]).type, "[]Container");
});

test("explain a custom resource field", () => {
  const cronTabs = { group: "stable.example.com", version: "v1", resource: "crontabs" };
  const r = explain(crs, cronTabs, ["spec", "cronSpec"]);
  assert.deepEqual(r.gvk, { group: "stable.example.com", kind: "CronTab", version: "v1" });
  assert.equal(r.type, "string");
  assert.equal(r.description, "The schedule, in cron format.\n");
  assert.deepEqual(explain(crs, cronTabs, ["spec", "mode"]).enum, ["Allow", "Forbid"]);
  assert.equal(explain(crs, cronTabs, ["spec", "ports"]).type, "[]Object");
  assert.match(
    explain(crs, cronTabs, ["metadata", "name"]).description,
    /^Name must be unique within a namespace/,
  );
});

test("explain reports kubectl's errors for unknown resources and fields", () => {
  assert.throws(
    () => explain(core, { group: "", version: "v1", resource: "widgets" }, []),
    /GVR .* not found/,
  );
  assert.throws(
    () => explain(core, pods, ["spec", "restartPolicyy"]),
    /field "restartPolicyy" does not exist/,
  );
});
