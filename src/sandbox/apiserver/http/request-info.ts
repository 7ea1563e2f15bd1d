// What a request asks for in RBAC terms (upstream's RequestInfo): verb, API group, resource,
// subresource, namespace and name. Used by the audit log.
import type { Route } from "./routes.ts";

export interface RequestInfo {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export function requestInfo(method: string, route: Route, query: URLSearchParams): RequestInfo | undefined {
  if (route.kind !== "resource") return undefined;
  const watch = query.get("watch") === "true" || query.get("watch") === "1";
  const item = Boolean(route.name);
  const verb =
    method === "GET" || method === "HEAD"
      ? watch
        ? "watch"
        : item
          ? "get"
          : "list"
      : method === "POST"
        ? "create"
        : method === "PUT"
          ? "update"
          : method === "PATCH"
            ? "patch"
            : method === "DELETE"
              ? item
                ? "delete"
                : "deletecollection"
              : method.toLowerCase();
  // A namespace's own URL (/api/v1/namespaces/x) names the namespace, not a namespace scope.
  const namespace = route.def.namespaced ? route.namespace : "";
  return {
    verb,
    apiGroup: route.def.group,
    resource: route.def.plural,
    subresource: route.subresource,
    namespace,
    name: route.name,
  };
}
