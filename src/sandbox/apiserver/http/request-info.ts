// What a request asks for in RBAC terms, read from its URL alone as upstream's
// RequestInfoFactory does (so unknown resources are authorized like known ones): a resource
// request (verb, API group, version, resource, subresource, namespace, name) or a non-resource
// path. Used by authorization and the audit log.
import type { Attributes } from "../rbac/authorizer.ts";

export type RequestInfo = Attributes;

/** Subresources of a namespace that stay on the namespace (not a resource inside it). */
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const nonResource: RequestInfo = {
    resourceRequest: false,
    verb: method.toLowerCase(),
    apiGroup: "",
    resource: "",
    subresource: "",
    namespace: "",
    name: "",
    path,
  };
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    group = "";
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return nonResource;

  let namespace = "";
  if (rest[0] === "namespaces" && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2])) rest = rest.slice(2);
  }
  const [resource, name = "", subresource = ""] = rest;
  const watch = query.get("watch") === "true" || query.get("watch") === "1";
  let verb: string;
  switch (method) {
    case "GET":
    case "HEAD":
      verb = watch ? "watch" : name ? "get" : "list";
      break;
    case "POST":
      verb = "create";
      break;
    case "PUT":
      verb = "update";
      break;
    case "PATCH":
      verb = "patch";
      break;
    case "DELETE":
      verb = name ? "delete" : "deletecollection";
      break;
    default:
      verb = method.toLowerCase();
  }
  return {
    resourceRequest: true,
    verb,
    apiGroup: group,
    apiVersion: version,
    resource,
    subresource,
    namespace,
    name,
    path,
  };
}
