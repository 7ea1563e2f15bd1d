// OpenAPI v3 path items for one resource, laid out as upstream publishes them: collection,
// item, the all-namespaces list, and the status/scale subresources. Every operation carries
// `x-kubernetes-action` and `x-kubernetes-group-version-kind`; kubectl reads the GVK of an
// operation to find a resource's schema (explain) and, on PATCH operations, looks for the
// `fieldValidation` parameter (server-side validation) and the strategic-merge-patch content
// type (to compute SMP for `apply`).
import type { ResourceDef } from "../types.ts";
import type { Gvk } from "./cr-schemas.ts";
import type { JsonSchema } from "./json-schema.ts";
import { refTo } from "./model-schemas.ts";
import { DELETE_OPTIONS_SCHEMA, PATCH_SCHEMA, STATUS_SCHEMA } from "./schema-names.ts";

export type Operation = Record<string, unknown>;
export type PathItem = Record<string, unknown>;

/** What an operation's request/response bodies refer to. */
export interface ResourceSchemas {
  kind: string;
  list: string;
  /** The autoscaling/v1 Scale schema, when the resource has a scale subresource. */
  scale?: string;
}

export const SCALE_GVK: Gvk = { group: "autoscaling", kind: "Scale", version: "v1" };

const query = (name: string, type: string, description: string) => ({
  name,
  in: "query",
  description,
  schema: { type },
});

const pathParam = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string" },
});

const PRETTY = query("pretty", "string", "If 'true', the output is pretty printed.");
const NAME = pathParam("name", "name of the object");
const NAMESPACE = pathParam("namespace", "object name and auth scope, such as for teams and projects");
const DRY_RUN = query("dryRun", "string", "When present (All), modifications are not persisted.");
const FIELD_MANAGER = query(
  "fieldManager",
  "string",
  "A name associated with the actor or entity making the change.",
);
const FIELD_VALIDATION = query(
  "fieldValidation",
  "string",
  "How the server treats unknown fields in the request body: Ignore (drop them silently), Warn (drop them and " +
    "return a warning for each) or Strict (reject the request with an error listing them).",
);
const FORCE = query("force", "boolean", "Force an apply request to take ownership of conflicting fields.");
const LIST_PARAMS = [
  query("allowWatchBookmarks", "boolean", "Ask for BOOKMARK events on a watch."),
  query("continue", "string", "The continue token of a previous, limited list call."),
  query("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields."),
  query("labelSelector", "string", "A selector to restrict the list of returned objects by their labels."),
  query("limit", "integer", "The maximum number of objects to return."),
  query("resourceVersion", "string", "The resource version the list or watch starts from."),
  query("resourceVersionMatch", "string", "How resourceVersion applies to a list call."),
  query("timeoutSeconds", "integer", "Timeout for the list or watch call."),
  query("watch", "boolean", "Watch for changes instead of listing."),
];
const DELETE_PARAMS = [
  DRY_RUN,
  query("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted."),
  query(
    "propagationPolicy",
    "string",
    "Whether and how garbage collection is performed: Orphan, Background or Foreground.",
  ),
];

const JSON_TYPES = ["application/json"];

function content(schemaName: string, types = JSON_TYPES): Record<string, unknown> {
  return Object.fromEntries(types.map((t) => [t, { schema: { $ref: refTo(schemaName) } }]));
}

const ok = (schemaName: string, types?: string[]) => ({
  description: "OK",
  content: content(schemaName, types),
});
const UNAUTHORIZED = { description: "Unauthorized" };

/** `apps` → `Apps`, `coordination.k8s.io` → `Coordination`, `stable.example.com` → `StableExampleCom`. */
function groupWord(group: string): string {
  if (!group) return "Core";
  const parts = group.replace(/\.k8s\.io$/, "").split(/[.-]/);
  return parts.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The group/version prefix of a resource's paths: `/api/v1` or `/apis/apps/v1`. */
const apiPrefix = (group: string, version: string) =>
  group ? `/apis/${group}/${version}` : `/api/${version}`;

/** The path items of one resource, keyed by path. */
export function resourcePaths(def: ResourceDef, schemas: ResourceSchemas): Record<string, PathItem> {
  const gvk: Gvk = { group: def.group, kind: def.kind, version: def.version };
  const prefix = apiPrefix(def.group, def.version);
  const tag = `${def.group ? groupWord(def.group).replace(/^./, (c) => c.toLowerCase()) : "core"}_${def.version}`;
  const opId = (verb: string, suffix = "", allNamespaces = false) =>
    `${verb}${groupWord(def.group)}${capitalize(def.version)}${def.namespaced && !allNamespaces ? "Namespaced" : ""}${def.kind}${suffix}${allNamespaces ? "ForAllNamespaces" : ""}`;
  const op = (
    operationId: string,
    action: string,
    description: string,
    extra: Operation,
    k: Gvk = gvk,
  ): Operation => ({
    description,
    operationId,
    ...extra,
    tags: [tag],
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": { group: k.group, kind: k.kind, version: k.version },
  });
  // Built-in kinds accept strategic merge patches; custom resources do not (as upstream).
  const patchTypes = [
    "application/json-patch+json",
    "application/merge-patch+json",
    ...(def.crd ? [] : ["application/strategic-merge-patch+json"]),
  ];
  const verbs = new Set(def.verbs);
  const has = (v: string) => verbs.has(v);

  const collection = def.namespaced
    ? `${prefix}/namespaces/{namespace}/${def.plural}`
    : `${prefix}/${def.plural}`;
  const item = `${collection}/{name}`;
  const scopeParams = def.namespaced ? [NAMESPACE, PRETTY] : [PRETTY];
  const paths: Record<string, PathItem> = {};

  const collectionItem: PathItem = { parameters: scopeParams };
  if (has("list"))
    collectionItem.get = op(opId("list"), "list", `list or watch objects of kind ${def.kind}`, {
      parameters: LIST_PARAMS,
      responses: {
        "200": ok(schemas.list, ["application/json", "application/json;stream=watch"]),
        "401": UNAUTHORIZED,
      },
    });
  if (has("create"))
    collectionItem.post = op(opId("create"), "post", `create a ${def.kind}`, {
      parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
      requestBody: { content: content(schemas.kind, ["*/*"]), required: true },
      responses: {
        "200": ok(schemas.kind),
        "201": { description: "Created", content: content(schemas.kind) },
        "202": { description: "Accepted", content: content(schemas.kind) },
        "401": UNAUTHORIZED,
      },
    });
  if (has("deletecollection"))
    collectionItem.delete = op(
      opId("deletecollection"),
      "deletecollection",
      `delete collection of ${def.kind}`,
      {
        parameters: [
          ...DELETE_PARAMS,
          ...LIST_PARAMS.filter((p) => p.name !== "watch" && p.name !== "allowWatchBookmarks"),
        ],
        requestBody: { content: content(DELETE_OPTIONS_SCHEMA, ["*/*"]) },
        responses: { "200": ok(STATUS_SCHEMA), "401": UNAUTHORIZED },
      },
    );
  if (Object.keys(collectionItem).length > 1) paths[collection] = collectionItem;

  const itemOps = (
    suffix: string,
    what: string,
    bodySchema: string,
    k: Gvk,
    verbsOf: (v: string) => boolean,
  ) => {
    const pathItem: PathItem = { parameters: [NAME, ...scopeParams] };
    if (verbsOf("get"))
      pathItem.get = op(
        opId("read", suffix),
        "get",
        `read ${what}the specified ${def.kind}`,
        {
          responses: { "200": ok(bodySchema), "401": UNAUTHORIZED },
        },
        k,
      );
    if (verbsOf("update"))
      pathItem.put = op(
        opId("replace", suffix),
        "put",
        `replace ${what}the specified ${def.kind}`,
        {
          parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
          requestBody: { content: content(bodySchema, ["*/*"]), required: true },
          responses: {
            "200": ok(bodySchema),
            "201": { description: "Created", content: content(bodySchema) },
            "401": UNAUTHORIZED,
          },
        },
        k,
      );
    if (verbsOf("patch"))
      pathItem.patch = op(
        opId("patch", suffix),
        "patch",
        `partially update ${what}the specified ${def.kind}`,
        {
          parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE],
          requestBody: {
            content: Object.fromEntries(
              patchTypes.map((t) => [t, { schema: { $ref: refTo(PATCH_SCHEMA) } }]),
            ),
            required: true,
          },
          responses: {
            "200": ok(bodySchema),
            "201": { description: "Created", content: content(bodySchema) },
            "401": UNAUTHORIZED,
          },
        },
        k,
      );
    return pathItem;
  };

  const main = itemOps("", "", schemas.kind, gvk, has);
  if (has("delete"))
    main.delete = op(opId("delete"), "delete", `delete a ${def.kind}`, {
      parameters: DELETE_PARAMS,
      requestBody: { content: content(DELETE_OPTIONS_SCHEMA, ["*/*"]) },
      responses: {
        "200": ok(schemas.kind),
        "202": { description: "Accepted", content: content(schemas.kind) },
        "401": UNAUTHORIZED,
      },
    });
  if (Object.keys(main).length > 1) paths[item] = main;

  if (def.namespaced && has("list"))
    paths[`${prefix}/${def.plural}`] = {
      parameters: [PRETTY],
      get: op(opId("list", "", true), "list", `list or watch objects of kind ${def.kind}`, {
        parameters: LIST_PARAMS,
        responses: {
          "200": ok(schemas.list, ["application/json", "application/json;stream=watch"]),
          "401": UNAUTHORIZED,
        },
      }),
    };

  // Subresources answer get/put/patch whatever the main resource's verbs are, as upstream.
  const always = () => true;
  if (def.subresources.includes("status"))
    paths[`${item}/status`] = itemOps("Status", "status of ", schemas.kind, gvk, always);
  if (def.subresources.includes("scale") && schemas.scale)
    paths[`${item}/scale`] = itemOps("Scale", "scale of ", schemas.scale, SCALE_GVK, always);
  return paths;
}

/** Component schemas of the shared request/response bodies (Patch has no client-node model). */
export const PATCH_BODY_SCHEMA: JsonSchema = {
  description: "The body of a PATCH request; its format is given by the request's Content-Type.",
  type: "object",
};
