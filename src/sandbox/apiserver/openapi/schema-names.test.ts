import assert from "node:assert/strict";
import { test } from "node:test";
import { parseModelName, schemaNameOf } from "./schema-names.ts";

test("maps client-node kinds to upstream schema names by API group", () => {
  assert.equal(schemaNameOf("V1Pod"), "io.k8s.api.core.v1.Pod");
  assert.equal(schemaNameOf("V1Deployment"), "io.k8s.api.apps.v1.Deployment");
  assert.equal(schemaNameOf("V1Job"), "io.k8s.api.batch.v1.Job");
  assert.equal(schemaNameOf("V1EndpointSlice"), "io.k8s.api.discovery.v1.EndpointSlice");
  assert.equal(schemaNameOf("V1Lease"), "io.k8s.api.coordination.v1.Lease");
  assert.equal(schemaNameOf("V1RoleBinding"), "io.k8s.api.rbac.v1.RoleBinding");
  assert.equal(
    schemaNameOf("V2HorizontalPodAutoscaler"),
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
  );
  assert.equal(
    schemaNameOf("V1CustomResourceDefinition"),
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
  );
  assert.equal(schemaNameOf("V1APIService"), "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService");
});

test("maps apimachinery types, prefixed names and subresource bodies", () => {
  assert.equal(schemaNameOf("V1ObjectMeta"), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  assert.equal(schemaNameOf("V1LabelSelector"), "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector");
  assert.equal(schemaNameOf("V1Status"), "io.k8s.apimachinery.pkg.apis.meta.v1.Status");
  assert.equal(schemaNameOf("VersionInfo"), "io.k8s.apimachinery.pkg.version.Info");
  assert.equal(schemaNameOf("CoreV1Event"), "io.k8s.api.core.v1.Event");
  assert.equal(schemaNameOf("EventsV1Event"), "io.k8s.api.events.v1.Event");
  assert.equal(schemaNameOf("DiscoveryV1EndpointPort"), "io.k8s.api.discovery.v1.EndpointPort");
  assert.equal(schemaNameOf("AuthenticationV1TokenRequest"), "io.k8s.api.authentication.v1.TokenRequest");
  assert.equal(schemaNameOf("V1Scale"), "io.k8s.api.autoscaling.v1.Scale");
  assert.equal(schemaNameOf("V1Eviction"), "io.k8s.api.policy.v1.Eviction");
});

test("places nested models in the group of the kinds that reach them, core first", () => {
  // Reached from apps and batch kinds, but defined in core (PodTemplate is a core kind).
  assert.equal(schemaNameOf("V1PodTemplateSpec"), "io.k8s.api.core.v1.PodTemplateSpec");
  assert.equal(schemaNameOf("V1Container"), "io.k8s.api.core.v1.Container");
  assert.equal(schemaNameOf("V1DeploymentSpec"), "io.k8s.api.apps.v1.DeploymentSpec");
  assert.equal(schemaNameOf("V1JobTemplateSpec"), "io.k8s.api.batch.v1.JobTemplateSpec");
  assert.equal(schemaNameOf("V1ScaleSpec"), "io.k8s.api.autoscaling.v1.ScaleSpec");
  assert.equal(
    schemaNameOf("V1JSONSchemaProps"),
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
  );
  assert.equal(schemaNameOf("V1EndpointConditions"), "io.k8s.api.discovery.v1.EndpointConditions");
  // Reached only through a prefixed kind of its group.
  assert.equal(schemaNameOf("V1GroupSubject"), "io.k8s.api.flowcontrol.v1.GroupSubject");
  // Core types used only by storage.k8s.io.
  assert.equal(schemaNameOf("V1TopologySelectorTerm"), "io.k8s.api.core.v1.TopologySelectorTerm");
});

test("parses versions and leaves non-model names alone", () => {
  assert.deepEqual(parseModelName("V1beta1ServiceCIDR"), {
    pkg: "io.k8s.api.networking",
    version: "v1beta1",
    short: "ServiceCIDR",
  });
  assert.equal(parseModelName("ObjectSerializer"), undefined);
  assert.equal(schemaNameOf("whatever"), "whatever");
});
