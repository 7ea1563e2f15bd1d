import assert from "node:assert/strict";
import { test } from "node:test";
import { strategies } from "./index.ts";
import { created, createErrors, updateErrors } from "./testing.ts";

const namespaces = strategies["/namespaces"];
const nodes = strategies["/nodes"];
const crds = strategies["apiextensions.k8s.io/customresourcedefinitions"];

test("a new Namespace is Active, carries the kubernetes finalizer and its name label", () => {
  const ns = created(namespaces, { metadata: { name: "team-a" } });
  assert.deepEqual(ns.spec, { finalizers: ["kubernetes"] });
  assert.deepEqual(ns.status, { phase: "Active" });
  assert.deepEqual(ns.metadata.labels, { "kubernetes.io/metadata.name": "team-a" });
  assert.deepEqual(createErrors(namespaces, { metadata: { name: "team-a" } }), []);
  assert.deepEqual(createErrors(namespaces, { metadata: { name: "team.a" } }), [
    'metadata.name: Invalid value: "team.a": must not contain dots',
  ]);
  assert.deepEqual(namespaces.selectableFields!(ns), { "status.phase": "Active" });
});

test("Node pod CIDRs must be valid and are fixed once assigned", () => {
  const node = { metadata: { name: "node-1.example" }, spec: { podCIDR: "10.244.1.0/24" } };
  assert.deepEqual(createErrors(nodes, node), []);
  const stored = created(nodes, node);
  assert.deepEqual(stored.spec.podCIDRs, ["10.244.1.0/24"]);
  assert.deepEqual(createErrors(nodes, { metadata: { name: "n" }, spec: { podCIDRs: ["10.244.1.0/33"] } }), [
    'spec.podCIDRs[0]: Invalid value: "10.244.1.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
  ]);
  const cordoned = structuredClone(stored);
  cordoned.spec.unschedulable = true;
  assert.deepEqual(updateErrors(nodes, cordoned, stored), []);
  assert.deepEqual(nodes.selectableFields!(cordoned), { "spec.unschedulable": "true" });
  const moved = structuredClone(stored);
  moved.spec.podCIDR = "10.244.2.0/24";
  moved.spec.podCIDRs = ["10.244.2.0/24"];
  assert.deepEqual(updateErrors(nodes, moved, stored), [
    'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid',
  ]);
});

const crd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    scope: "Namespaced",
    names: { plural: "widgets", kind: "Widget" },
    versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object" } } }],
  },
};

test("a CRD gets its singular and list kind, and must be named <plural>.<group>", () => {
  assert.deepEqual(createErrors(crds, crd), []);
  const stored = created(crds, crd);
  assert.equal(stored.spec.names.singular, "widget");
  assert.equal(stored.spec.names.listKind, "WidgetList");
  assert.deepEqual(stored.spec.conversion, { strategy: "None" });
  assert.deepEqual(stored.status, { acceptedNames: { kind: "", plural: "" }, storedVersions: ["v1"] });
  const misnamed = { ...crd, metadata: { name: "widgets.example.org" } };
  assert.deepEqual(createErrors(crds, misnamed), [
    'metadata.name: Invalid value: "widgets.example.org": must be spec.names.plural+"."+spec.group',
  ]);
});

test("CRD versions need one storage version and a schema; scope and group are checked", () => {
  const bad = structuredClone(crd) as any;
  bad.spec.scope = "Global";
  bad.spec.group = "example";
  bad.metadata.name = "widgets.example";
  bad.spec.versions = [
    { name: "v1", served: true, storage: false },
    { name: "V2", served: true, storage: false, schema: { openAPIV3Schema: { type: "string" } } },
  ];
  assert.deepEqual(createErrors(crds, bad), [
    'spec.group: Invalid value: "example": should be a domain with at least one dot',
    'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
    "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required",
    `spec.versions[1].name: Invalid value: "V2": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
    'spec.versions[1].schema.openAPIV3Schema.type: Invalid value: "string": must be object at the root',
    'spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion{apiextensions.CustomResourceDefinitionVersion{Name:"v1", Served:true, Storage:false, Deprecated:false, DeprecationWarning:(*string)(nil), Schema:(*apiextensions.CustomResourceValidation)(nil), Subresources:(*apiextensions.CustomResourceSubresources)(nil), AdditionalPrinterColumns:[]apiextensions.CustomResourceColumnDefinition(nil), SelectableFields:[]apiextensions.SelectableField(nil)}, apiextensions.CustomResourceDefinitionVersion{Name:"V2", Served:true, Storage:false, Deprecated:false, DeprecationWarning:(*string)(nil), Schema:(*apiextensions.CustomResourceValidation)(0xc000a1b2c0), Subresources:(*apiextensions.CustomResourceSubresources)(nil), AdditionalPrinterColumns:[]apiextensions.CustomResourceColumnDefinition(nil), SelectableFields:[]apiextensions.SelectableField(nil)}}: must have exactly one version marked as storage version',
  ]);
});

test("a served CRD keeps its group, plural, kind and scope", () => {
  const stored = created(crds, crd);
  stored.status.conditions = [{ type: "Established", status: "True" }];
  const next = structuredClone(stored);
  next.spec.scope = "Cluster";
  next.spec.names.plural = "gadgets";
  next.metadata.name = "widgets.example.com";
  const errs = updateErrors(crds, next, stored);
  assert.ok(errs.includes('spec.scope: Invalid value: "Cluster": field is immutable'));
  assert.ok(errs.includes('spec.names.plural: Invalid value: "gadgets": field is immutable'));
  const withVersion = structuredClone(stored);
  withVersion.spec.versions.push({
    name: "v2",
    served: true,
    storage: false,
    schema: { openAPIV3Schema: { type: "object" } },
  });
  assert.deepEqual(updateErrors(crds, withVersion, stored), []);
});
