// The OpenAPI v3 documents the server publishes: one per group-version
// (`/openapi/v3/api/v1`, `/openapi/v3/apis/apps/v1`), listed by the index at `/openapi/v3`
// with a content hash kubectl uses as a cache key.
import { createHash } from "node:crypto";
import { hasModel } from "../schema/models.ts";
import type { ResourceDef } from "../types.ts";
import { addCustomResourceSchemas, crSchemaName } from "./cr-schemas.ts";
import type { JsonSchema } from "./json-schema.ts";
import { addModelSchemas } from "./model-schemas.ts";
import type { PathItem, ResourceSchemas } from "./paths.ts";
import { PATCH_BODY_SCHEMA, resourcePaths, SCALE_GVK } from "./paths.ts";
import { PATCH_SCHEMA } from "./schema-names.ts";

export interface DocOptions {
  /** `info.version` of the documents. */
  version?: string;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, JsonSchema> };
}

/** The index path of a group-version: `api/v1` or `apis/apps/v1`. */
export const groupVersionPath = (group: string, version: string) =>
  group ? `apis/${group}/${version}` : `api/${version}`;

/** Builds the document of one group-version from the resources served in it. */
export function buildGroupVersionDoc(defs: ResourceDef[], opts: DocOptions = {}): OpenApiDocument {
  const gvs = new Set(defs.map((d) => groupVersionPath(d.group, d.version)));
  if (gvs.size > 1) throw new Error(`buildGroupVersionDoc: mixed group-versions ${[...gvs].join(", ")}`);
  const schemas: Record<string, JsonSchema> = {};
  const paths: Record<string, PathItem> = {};
  addModelSchemas("V1Status", schemas);
  addModelSchemas("V1DeleteOptions", schemas);
  schemas[PATCH_SCHEMA] = structuredClone(PATCH_BODY_SCHEMA);

  for (const def of [...defs].sort((a, b) => byCodePoint(a.plural, b.plural))) {
    const names = def.crd || !def.model ? customSchemas(def, schemas) : builtinSchemas(def, schemas);
    Object.assign(paths, resourcePaths(def, names));
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: opts.version ?? "unversioned" },
    paths: sortKeys(paths),
    components: { schemas: sortKeys(schemas) },
  };
}

function builtinSchemas(def: ResourceDef, schemas: Record<string, JsonSchema>): ResourceSchemas {
  const model = def.model!;
  const kind = addModelSchemas(model, schemas);
  attachGvk(schemas[kind], { group: def.group, kind: def.kind, version: def.version });
  const listModel = `${model}List`;
  const list = hasModel(listModel) ? addModelSchemas(listModel, schemas) : kind;
  if (list !== kind) attachGvk(schemas[list], { group: def.group, kind: def.listKind, version: def.version });
  return { kind, list, scale: def.subresources.includes("scale") ? scaleSchema(schemas) : undefined };
}

function customSchemas(def: ResourceDef, schemas: Record<string, JsonSchema>): ResourceSchemas {
  const kind = addCustomResourceSchemas(def, schemas);
  const list = crSchemaName(def.group, def.version, def.listKind);
  return { kind, list, scale: def.subresources.includes("scale") ? scaleSchema(schemas) : undefined };
}

function scaleSchema(schemas: Record<string, JsonSchema>): string {
  const name = addModelSchemas("V1Scale", schemas);
  attachGvk(schemas[name], SCALE_GVK);
  return name;
}

function attachGvk(
  schema: JsonSchema | undefined,
  gvk: { group: string; kind: string; version: string },
): void {
  if (!schema) return;
  const list = (schema["x-kubernetes-group-version-kind"] as object[] | undefined) ?? [];
  const entry = { group: gvk.group, kind: gvk.kind, version: gvk.version };
  if (!list.some((e) => JSON.stringify(e) === JSON.stringify(entry))) list.push(entry);
  schema["x-kubernetes-group-version-kind"] = list;
}

// Locale-independent ordering, so a document's bytes (and hash) never depend on the host.
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => byCodePoint(a, b)));
}

// ---- index and hashes ----

export interface OpenApiIndex {
  paths: Record<string, { serverRelativeURL: string }>;
}

/** The `/openapi/v3` index: each group-version's path with its document's hash. */
export function buildIndex(groupVersions: { path: string; hash: string }[]): OpenApiIndex {
  const paths: OpenApiIndex["paths"] = {};
  for (const gv of [...groupVersions].sort((a, b) => byCodePoint(a.path, b.path)))
    paths[gv.path] = { serverRelativeURL: `/openapi/v3/${gv.path}?hash=${gv.hash}` };
  return { paths };
}

/** Upstream's content hash of a document: SHA-512 of the served bytes, upper-case hex. */
export function documentHash(body: string): string {
  return createHash("sha512").update(body).digest("hex").toUpperCase();
}

/** The content type `/openapi/v2` must answer with (an empty body, status 200). */
export const OPENAPI_V2_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

// ---- cache keyed by the served set's generation ----

export interface GroupVersionDocument {
  /** `api/v1` or `apis/apps/v1`. */
  path: string;
  /** The serialized document. */
  body: string;
  hash: string;
  /** Quoted hash, for the ETag header. */
  etag: string;
}

export interface ResourceSource {
  /** Bumped whenever the served set of resources changes. */
  readonly generation: number;
  all(): ResourceDef[];
}

interface Snapshot {
  generation: number;
  index: OpenApiIndex;
  docs: Map<string, GroupVersionDocument>;
}

/** Builds every group-version document when first asked after the served set changed. */
export class OpenApiCache {
  private readonly source: ResourceSource;
  private readonly opts: DocOptions;
  private snapshot?: Snapshot;

  constructor(source: ResourceSource, opts: DocOptions = {}) {
    this.source = source;
    this.opts = opts;
  }

  index(): OpenApiIndex {
    return this.current().index;
  }

  /** The document at `path` (`api/v1`, `apis/apps/v1`), or undefined if no such group-version. */
  document(path: string): GroupVersionDocument | undefined {
    return this.current().docs.get(path.replace(/^\/+|\/+$/g, ""));
  }

  private current(): Snapshot {
    const generation = this.source.generation;
    if (this.snapshot?.generation !== generation) this.snapshot = this.build(generation);
    return this.snapshot;
  }

  private build(generation: number): Snapshot {
    const byGv = new Map<string, ResourceDef[]>();
    for (const def of this.source.all()) {
      const path = groupVersionPath(def.group, def.version);
      byGv.set(path, [...(byGv.get(path) ?? []), def]);
    }
    const docs = new Map<string, GroupVersionDocument>();
    for (const [path, defs] of byGv) {
      const body = JSON.stringify(buildGroupVersionDoc(defs, this.opts));
      const hash = documentHash(body);
      docs.set(path, { path, body, hash, etag: `"${hash}"` });
    }
    return { generation, index: buildIndex([...docs.values()]), docs };
  }
}
