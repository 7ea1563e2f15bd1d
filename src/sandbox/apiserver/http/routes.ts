// Maps a request path to the resource it addresses:
//   /api/v1/<plural>[/<name>[/<sub>]]                 cluster-scoped, or all namespaces
//   /api/v1/namespaces/<ns>/<plural>[/<name>[/<sub>]]  namespaced
//   /apis/<group>/<version>/...                        same shapes for named groups
import type { Registry } from "../registry.ts";
import type { ResourceDef } from "../types.ts";

export type Route =
  | { kind: "discovery-root"; legacy: boolean }
  | { kind: "group"; group: string }
  | { kind: "group-version"; group: string; version: string }
  | { kind: "resource"; def: ResourceDef; namespace: string; name: string; subresource: string }
  | { kind: "unknown-resource"; group: string; version: string; plural: string }
  | { kind: "none" };

/** A request for one resource (collection or item, maybe a subresource), as the handlers see it. */
export interface ResourceRequest {
  def: ResourceDef;
  namespace: string;
  name: string;
  subresource: string;
  query: URLSearchParams;
}

export function route(registry: Registry, pathname: string): Route {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api") {
    if (parts.length === 1) return { kind: "discovery-root", legacy: true };
    group = "";
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === "apis") {
    if (parts.length === 1) return { kind: "discovery-root", legacy: false };
    if (parts.length === 2) return { kind: "group", group: parts[1] };
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return { kind: "none" };
  }
  if (rest.length === 0) return { kind: "group-version", group, version };
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const def = registry.lookup(group, version, rest[2]);
    if (def?.namespaced && rest.length <= 5)
      return { kind: "resource", def, namespace: rest[1], name: rest[3] ?? "", subresource: rest[4] ?? "" };
    if (
      rest.length >= 3 &&
      !(group === "" && (rest[2] === "status" || rest[2] === "finalize") && rest.length === 3)
    ) {
      if (!def) return { kind: "unknown-resource", group, version, plural: rest[2] };
    }
  }
  const def = registry.lookup(group, version, rest[0]);
  if (!def || rest.length > 3) return { kind: "unknown-resource", group, version, plural: rest[0] };
  return { kind: "resource", def, namespace: "", name: rest[1] ?? "", subresource: rest[2] ?? "" };
}
