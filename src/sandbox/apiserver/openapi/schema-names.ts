// Upstream OpenAPI names for the @kubernetes/client-node models: V1Pod → io.k8s.api.core.v1.Pod,
// V1ObjectMeta → io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta, and so on.
//
// The generated model names drop the API group (only clashing names keep it as a prefix, like
// CoreV1EndpointPort), so the group of a model is worked out from the library itself:
//  1. a handful of apimachinery types are named explicitly (they belong to no API group);
//  2. a prefixed name carries its group;
//  3. kinds take the group of the API class that returns them (AppsV1Api → apps);
//  4. every other model takes the group of the kinds that reach it, core first, because core
//     types are shared by other groups but never the other way round.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FieldType } from "../schema/models.ts";
import { modelFields } from "../schema/models.ts";

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";

/** Types of k8s.io/apimachinery meta/v1 that client-node generates as V1 models. */
const META_V1_TYPES = new Set([
  "APIGroup",
  "APIGroupList",
  "APIResource",
  "APIResourceList",
  "APIVersions",
  "Condition",
  "DeleteOptions",
  "FieldSelectorRequirement",
  "GroupVersionForDiscovery",
  "LabelSelector",
  "LabelSelectorRequirement",
  "ListMeta",
  "ManagedFieldsEntry",
  "ObjectMeta",
  "OwnerReference",
  "Preconditions",
  "ServerAddressByClientCIDR",
  "Status",
  "StatusCause",
  "StatusDetails",
  "WatchEvent",
]);

/** Kinds served by one group's API class but defined in another (subresource bodies). */
const KIND_GROUP_OVERRIDES: Record<string, string> = {
  V1Scale: "Autoscaling",
  V1Eviction: "Policy",
};

/** Core types that only other groups use (so reachability alone would misplace them). */
const CORE_ONLY_USED_ELSEWHERE = new Set(["V1TopologySelectorTerm", "V1TopologySelectorLabelRequirement"]);

/** Package prefixes of the API-class group words that do not follow `io.k8s.api.<word>`. */
const PACKAGE_OF_WORD: Record<string, string> = {
  Apiextensions: "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
  Apiregistration: "io.k8s.kube-aggregator.pkg.apis.apiregistration",
  InternalApiserver: "io.k8s.api.apiserverinternal",
  FlowcontrolApiserver: "io.k8s.api.flowcontrol",
  RbacAuthorization: "io.k8s.api.rbac",
};

const VERSION = "V\\d+(?:alpha\\d+|beta\\d+)?";
const PREFIXED = new RegExp(`^([A-Z][a-z]+)(${VERSION})([A-Z]\\w*)$`);
const PLAIN = new RegExp(`^(${VERSION})([A-Z]\\w*)$`);

export interface ModelName {
  /** Package prefix, e.g. `io.k8s.api.core`. */
  pkg: string;
  /** API version, e.g. `v1`, `v1beta1`. */
  version: string;
  /** Type name without version, e.g. `Pod`. */
  short: string;
}

const packageOf = (word: string) => PACKAGE_OF_WORD[word] ?? `io.k8s.api.${word.toLowerCase()}`;
const lowerVersion = (v: string) => v.toLowerCase();

/** Splits a model name into package, version and type name; undefined for non-model names. */
export function parseModelName(model: string): ModelName | undefined {
  if (model === "VersionInfo") return { pkg: "io.k8s.apimachinery.pkg.version", version: "", short: "Info" };
  const prefixed = PREFIXED.exec(model);
  if (prefixed)
    return { pkg: packageOf(prefixed[1]), version: lowerVersion(prefixed[2]), short: prefixed[3] };
  const plain = PLAIN.exec(model);
  if (!plain) return undefined;
  const version = lowerVersion(plain[1]);
  const short = plain[2];
  if (version === "v1" && META_V1_TYPES.has(short))
    return { pkg: "io.k8s.apimachinery.pkg.apis.meta", version, short };
  const word = groupWords().get(model) ?? "Core";
  return { pkg: packageOf(word), version, short };
}

/** The upstream schema name of a client-node model, e.g. `io.k8s.api.apps.v1.Deployment`. */
export function schemaNameOf(model: string): string {
  const n = parseModelName(model);
  if (!n) return model;
  return n.version ? `${n.pkg}.${n.version}.${n.short}` : `${n.pkg}.${n.short}`;
}

// ---- names of apimachinery primitives client-node inlines (or leaves undefined) ----

export const TIME_SCHEMA = `${META}.Time`;
export const MICRO_TIME_SCHEMA = `${META}.MicroTime`;
export const INT_OR_STRING_SCHEMA = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
export const PATCH_SCHEMA = `${META}.Patch`;
export const OBJECT_META_SCHEMA = `${META}.ObjectMeta`;
export const LIST_META_SCHEMA = `${META}.ListMeta`;
export const STATUS_SCHEMA = `${META}.Status`;
export const DELETE_OPTIONS_SCHEMA = `${META}.DeleteOptions`;

// ---- group inference (lazy: reads the library's API declarations once) ----

let words: Map<string, string> | undefined;

/** client-node model name → API-class group word ("Core", "Apps", "Apiextensions", ...). */
function groupWords(): Map<string, string> {
  if (!words) words = inferGroups(kindsByApi());
  return words;
}

/**
 * Models returned by each API class, read from the declarations of the object-parameter API
 * (`createNamespacedDeploymentWithHttpInfo(param: AppsV1ApiCreate…Request…): Promise<HttpInfo<V1Deployment>>`).
 */
function kindsByApi(): Map<string, Set<string>> {
  let text = "";
  try {
    const file = fileURLToPath(
      import.meta.resolve("@kubernetes/client-node/dist/gen/types/ObjectParamAPI.d.ts"),
    );
    text = readFileSync(file, "utf8");
  } catch {
    // Without the declarations, every model that is not apimachinery's or prefixed is core.
  }
  const re = new RegExp(
    `param\\??: ([A-Z][A-Za-z]*?)(${VERSION})Api\\w*Request\\b[^\\n]*?Promise<HttpInfo<(\\w+)>>`,
    "g",
  );
  const byModel = new Map<string, Set<string>>();
  for (const m of text.matchAll(re)) {
    const [, word, version, model] = m;
    // Only kinds of the API's own version count (a V1 API returning V1Status says nothing).
    if (!model.startsWith(version) && !PREFIXED.test(model)) continue;
    let set = byModel.get(model);
    if (!set) {
      set = new Set();
      byModel.set(model, set);
    }
    set.add(word);
  }
  return byModel;
}

function refsOf(t: FieldType, out: string[]): void {
  if (t.kind === "ref") out.push(t.model);
  else if (t.kind === "array") refsOf(t.items, out);
  else if (t.kind === "map") refsOf(t.values, out);
}

function inferGroups(apis: Map<string, Set<string>>): Map<string, string> {
  const group = new Map<string, string>();
  const roots = new Map<string, string[]>();
  for (const [model, set] of apis) {
    const word =
      PREFIXED.exec(model)?.[1] ??
      KIND_GROUP_OVERRIDES[model] ??
      (set.has("Core") ? "Core" : [...set].sort()[0]);
    group.set(model, word);
    roots.set(word, [...(roots.get(word) ?? []), model]);
  }
  for (const model of CORE_ONLY_USED_ELSEWHERE) group.set(model, "Core");
  const order = [...roots.keys()].sort((a, b) => (a === "Core" ? -1 : b === "Core" ? 1 : a < b ? -1 : 1));
  for (const word of order) {
    const queue = (roots.get(word) ?? []).map((model) => ({ model, word }));
    while (queue.length > 0) {
      const from = queue.pop()!;
      const refs: string[] = [];
      for (const f of modelFields(from.model) ?? []) refsOf(f.type, refs);
      for (const r of refs) {
        if (group.has(r)) continue;
        // A prefixed name carries its own group, and so do the models only it reaches.
        const w = PREFIXED.exec(r)?.[1] ?? from.word;
        group.set(r, w);
        queue.push({ model: r, word: w });
      }
    }
  }
  return group;
}
