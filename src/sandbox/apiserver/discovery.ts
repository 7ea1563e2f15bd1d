// API discovery, both forms: aggregated (apidiscovery.k8s.io v2 and v2beta1, what kubectl
// 1.33 and 1.27 ask for first) and legacy (APIVersions, APIGroupList, APIResourceList).
import type { Registry } from "./registry.ts";
import type { ResourceDef } from "./types.ts";

export const KUBE_VERSION = { major: "1", minor: "33", gitVersion: "v1.33.1-raven" };

export function versionInfo() {
  return {
    major: KUBE_VERSION.major,
    minor: KUBE_VERSION.minor,
    gitVersion: KUBE_VERSION.gitVersion,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "go1.24",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

/** The discovery media type the client asked for, if it asked for an aggregated one. */
export function aggregatedVersion(accept: string): "v2" | "v2beta1" | undefined {
  for (const part of accept.split(",")) {
    const p = part.replace(/\s/g, "");
    if (!p.includes("g=apidiscovery.k8s.io") || !p.includes("as=APIGroupDiscoveryList")) continue;
    if (p.includes("v=v2beta1")) return "v2beta1";
    if (p.includes("v=v2")) return "v2";
  }
  return undefined;
}

const SUBRESOURCE_KINDS: Record<string, { group: string; version: string; kind: string; verbs: string[] }> = {
  status: { group: "", version: "", kind: "", verbs: ["get", "patch", "update"] },
  scale: { group: "autoscaling", version: "v1", kind: "Scale", verbs: ["get", "patch", "update"] },
  binding: { group: "", version: "v1", kind: "Binding", verbs: ["create"] },
  eviction: { group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] },
  log: { group: "", version: "v1", kind: "Pod", verbs: ["get"] },
  exec: { group: "", version: "v1", kind: "PodExecOptions", verbs: ["create", "get"] },
  attach: { group: "", version: "v1", kind: "PodAttachOptions", verbs: ["create", "get"] },
  portforward: { group: "", version: "v1", kind: "PodPortForwardOptions", verbs: ["create", "get"] },
  finalize: { group: "", version: "v1", kind: "Namespace", verbs: ["update"] },
};

function subKind(def: ResourceDef, sub: string) {
  const s = SUBRESOURCE_KINDS[sub] ?? { group: "", version: "", kind: "", verbs: ["get"] };
  if (sub === "status") return { group: def.group, version: def.version, kind: def.kind, verbs: s.verbs };
  return s;
}

function aggregatedResource(def: ResourceDef) {
  const r: Record<string, unknown> = {
    resource: def.plural,
    responseKind: { group: def.group, version: def.version, kind: def.kind },
    scope: def.namespaced ? "Namespaced" : "Cluster",
    singularResource: def.singular,
    verbs: def.verbs,
  };
  if (def.shortNames.length) r.shortNames = def.shortNames;
  if (def.categories.length) r.categories = def.categories;
  if (def.subresources.length)
    r.subresources = def.subresources.map((s) => {
      const k = subKind(def, s);
      return {
        subresource: s,
        responseKind: { group: k.group, version: k.version, kind: k.kind },
        verbs: k.verbs,
      };
    });
  return r;
}

/** GET /api or /apis with an aggregated Accept. */
export function aggregatedDiscovery(registry: Registry, legacy: boolean, version: "v2" | "v2beta1") {
  const items = registry
    .groups()
    .filter((g) => (legacy ? g.group === "" : g.group !== ""))
    .map((g) => {
      const item: Record<string, unknown> = {
        metadata: legacy ? { creationTimestamp: null } : { name: g.group, creationTimestamp: null },
        versions: g.versions.map((v) => ({
          version: v,
          resources: registry
            .all()
            .filter((d) => d.group === g.group && d.version === v)
            .map(aggregatedResource),
          freshness: "Current",
        })),
      };
      return item;
    });
  return { kind: "APIGroupDiscoveryList", apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

export function legacyApiVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function groupEntry(g: { group: string; versions: string[]; preferred: string }) {
  return {
    name: g.group,
    versions: g.versions.map((v) => ({ groupVersion: `${g.group}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${g.group}/${g.preferred}`, version: g.preferred },
  };
}

export function legacyGroupList(registry: Registry) {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: registry
      .groups()
      .filter((g) => g.group !== "")
      .map(groupEntry),
  };
}

export function legacyGroup(registry: Registry, group: string) {
  const g = registry.groups().find((x) => x.group === group);
  return g ? { kind: "APIGroup", apiVersion: "v1", ...groupEntry(g) } : undefined;
}

/** GET /api/v1 or /apis/<group>/<version>. */
export function resourceList(registry: Registry, group: string, version: string) {
  const defs = registry.all().filter((d) => d.group === group && d.version === version);
  if (!defs.length) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const d of defs) {
    const r: Record<string, unknown> = {
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs,
    };
    if (d.shortNames.length) r.shortNames = d.shortNames;
    if (d.categories.length) r.categories = d.categories;
    resources.push(r);
    for (const s of d.subresources) {
      const k = subKind(d, s);
      const sr: Record<string, unknown> = {
        name: `${d.plural}/${s}`,
        singularName: "",
        namespaced: d.namespaced,
        kind: k.kind,
        verbs: k.verbs,
      };
      if (k.group !== d.group && k.group !== "") {
        sr.group = k.group;
        sr.version = k.version;
      }
      resources.push(sr);
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}
