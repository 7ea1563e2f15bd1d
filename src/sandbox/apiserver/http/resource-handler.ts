// The REST verbs on one resource route: maps HTTP method + query + Accept onto Rest,
// list/watch and the Table printer, and writes the Kubernetes-shaped response.
import type { IncomingMessage, ServerResponse } from "node:http";
import { REVIEW_RESOURCES } from "../builtin-resources.ts";
import { ApiError, errBadRequest, errMethodNotAllowed, errNotFound } from "../errors.ts";
import { compileFilter, type ListQuery, list, watch } from "../list-watch.ts";
import { applyPatch } from "../patch/index.ts";
import { requestUsers } from "../rbac/access.ts";
import type { DeleteOptions, FieldValidation, Rest, WriteOptions } from "../rest.ts";
import { type CachedObject, copyOf } from "../storage/watch-cache.ts";
import { buildTable } from "../tables/index.ts";
import { apiVersionOf, type ResourceDef } from "../types.ts";
import {
  boolParam,
  decodeObjectBody,
  intParam,
  mediaType,
  readBody,
  sendJson,
  sendRaw,
  warningHeaders,
} from "./io.ts";
import { answerReview, type ReviewPolicy } from "./reviews.ts";
import type { ResourceRequest } from "./routes.ts";
import { handleSubresource, type SubresourceDeps } from "./subresources.ts";

type Output = { kind: "json" } | { kind: "table"; includeObject: "None" | "Metadata" | "Object" };

/** Table when the client asked for one (kubectl get): `application/json;as=Table;v=v1;g=meta.k8s.io`. */
export function outputFor(accept: string | undefined, query: URLSearchParams): Output {
  for (const part of (accept ?? "").split(",")) {
    const p = part.replace(/\s/g, "");
    if (p.includes("as=Table") && p.includes("g=meta.k8s.io")) {
      const inc = query.get("includeObject");
      return { kind: "table", includeObject: inc === "None" || inc === "Object" ? inc : "Metadata" };
    }
  }
  return { kind: "json" };
}

/**
 * The verb a method means on a resource route, to refuse what the resource does not serve
 * (a GET of a review, a collection DELETE of namespaces) with 405 as upstream does. Watch
 * counts as list; /status counts as update (every resource with a status can be updated).
 */
function verbOf(method: string, r: ResourceRequest): string {
  if (r.subresource) return "update";
  switch (method) {
    case "GET":
      return r.name ? "get" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return r.name ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

const SKELETON = { metadata: {}, spec: {}, status: {}, involvedObject: {}, source: {} };
const selectableFieldNames = (def: ResourceDef) =>
  Object.keys(def.strategy.selectableFields?.(SKELETON as any) ?? {});

export class ResourceHandler {
  private readonly rest: Rest;
  private readonly subDeps: SubresourceDeps;
  private readonly policy: ReviewPolicy;

  constructor(rest: Rest, subDeps: SubresourceDeps, policy: ReviewPolicy) {
    this.rest = rest;
    this.subDeps = subDeps;
    this.policy = policy;
  }

  async handle(req: IncomingMessage, res: ServerResponse, r: ResourceRequest): Promise<void> {
    const { def } = r;
    if (def.namespaced && !r.namespace && r.name)
      throw errNotFound({ group: def.group, resource: def.plural }, r.name);
    if (r.subresource && !def.subresources.includes(r.subresource))
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const method = req.method ?? "GET";
    if (r.subresource && r.subresource !== "status")
      return handleSubresource(req, res, r, this.rest, this.subDeps);
    if (!r.def.verbs.includes(verbOf(method, r)))
      throw errMethodNotAllowed("the server does not allow this method on the requested resource");
    if (!r.name) {
      if (method === "GET") return this.listOrWatch(req, res, r);
      if (method === "POST") return this.create(req, res, r);
      if (method === "DELETE") return this.deleteCollection(req, res, r);
      throw errMethodNotAllowed(`the server does not allow this method on the requested resource`);
    }
    switch (method) {
      case "GET":
        return this.get(req, res, r);
      case "PUT":
        return this.update(req, res, r);
      case "PATCH":
        return this.patch(req, res, r);
      case "DELETE":
        return this.delete(req, res, r);
      default:
        throw errMethodNotAllowed("the server does not allow this method on the requested resource");
    }
  }

  private writeOptions(q: URLSearchParams, method: string): WriteOptions {
    const dryRun = q.getAll("dryRun");
    for (const d of dryRun)
      if (d !== "All") throw errBadRequest(`Unsupported value: "${d}": supported values: "All"`);
    const fv =
      q.get("fieldValidation") ??
      (method === "PATCH" || method === "POST" || method === "PUT" ? "Warn" : "Ignore");
    if (!["Strict", "Warn", "Ignore"].includes(fv))
      throw errBadRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict"`);
    return {
      dryRun: dryRun.length > 0,
      fieldManager: q.get("fieldManager") ?? undefined,
      fieldValidation: fv as FieldValidation,
      warnings: [],
    };
  }

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    r: ResourceRequest,
    code: number,
    obj: any,
    warnings: string[] = [],
  ): void {
    const out = outputFor(req.headers.accept, r.query);
    if (out.kind === "table" && r.def.table) {
      const table = buildTable(r.def.table, [obj], {
        resourceVersion: obj.metadata?.resourceVersion,
        includeObject: out.includeObject,
        now: Date.now(),
      });
      sendJson(res, code, table, warningHeaders(warnings));
      return;
    }
    sendJson(res, code, obj, warningHeaders(warnings));
  }

  private async get(req: IncomingMessage, res: ServerResponse, r: ResourceRequest): Promise<void> {
    const cached = await this.rest.getCached(r.def, r.namespace, r.name);
    const out = outputFor(req.headers.accept, r.query);
    if (out.kind === "json" && !needsVersionRewrite(this.rest, r.def)) return sendRaw(res, 200, cached.raw);
    this.send(req, res, r, 200, this.rest.asVersion(r.def, copyOf(cached)));
  }

  private async create(req: IncomingMessage, res: ServerResponse, r: ResourceRequest): Promise<void> {
    const body = decodeObjectBody(req.headers["content-type"], await readBody(req));
    if (REVIEW_RESOURCES.has(`${r.def.group}/${r.def.plural}`)) {
      const user = requestUsers.get(req) ?? { name: "system:anonymous", groups: ["system:unauthenticated"] };
      return this.send(req, res, r, 201, answerReview(r.def, r.namespace, body, user, this.policy));
    }
    const opts = this.writeOptions(r.query, "POST");
    const obj = await this.rest.create(r.def, r.namespace, body, opts);
    this.send(req, res, r, 201, obj, opts.warnings);
  }

  private async update(req: IncomingMessage, res: ServerResponse, r: ResourceRequest): Promise<void> {
    const body = decodeObjectBody(req.headers["content-type"], await readBody(req));
    const opts = this.writeOptions(r.query, "PUT");
    const obj = await this.rest.update(r.def, r.namespace, r.name, body, opts, r.subresource);
    this.send(req, res, r, 200, obj, opts.warnings);
  }

  private async patch(req: IncomingMessage, res: ServerResponse, r: ResourceRequest): Promise<void> {
    const contentType = req.headers["content-type"] ?? "";
    const body = await readBody(req);
    const opts = this.writeOptions(r.query, "PATCH");
    const model = r.def.model;
    const isApply = mediaType(contentType) === "application/apply-patch+yaml";
    if (isApply && !opts.fieldManager)
      throw errBadRequest(
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    try {
      // mutate hands over a private copy of the current object: patch it in place.
      const obj = await this.rest.mutate(r.def, r.namespace, r.name, opts, r.subresource, (cur) =>
        applyPatch(contentType, cur, body, model, true),
      );
      this.send(req, res, r, 200, obj, opts.warnings);
    } catch (err) {
      // Server-side apply creates what does not exist yet.
      if (isApply && err instanceof ApiError && err.code === 404 && !r.subresource) {
        const obj = await this.rest.create(
          r.def,
          r.namespace,
          applyPatch(contentType, undefined, body, model),
          opts,
        );
        this.send(req, res, r, 201, obj, opts.warnings);
        return;
      }
      throw err;
    }
  }

  private deleteOptions(req: IncomingMessage, r: ResourceRequest, body: Buffer): DeleteOptions {
    const q = r.query;
    const opts: DeleteOptions = this.writeOptions(q, "DELETE");
    let b: any = {};
    if (body.length) b = decodeObjectBody(req.headers["content-type"] ?? "application/json", body) ?? {};
    const grace = intParam("gracePeriodSeconds", q.get("gracePeriodSeconds")) ?? b.gracePeriodSeconds;
    if (grace !== undefined && grace !== null) opts.gracePeriodSeconds = grace;
    const policy = q.get("propagationPolicy") ?? b.propagationPolicy;
    if (policy) {
      if (!["Foreground", "Background", "Orphan"].includes(policy))
        throw errBadRequest(
          `propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
        );
      opts.propagationPolicy = policy;
    }
    const orphan = q.get("orphanDependents") ?? b.orphanDependents;
    if (orphan !== undefined && orphan !== null) opts.orphanDependents = orphan === true || orphan === "true";
    if (b.preconditions) opts.preconditions = b.preconditions;
    if (Array.isArray(b.dryRun) && b.dryRun.includes("All")) opts.dryRun = true;
    return opts;
  }

  private async delete(req: IncomingMessage, res: ServerResponse, r: ResourceRequest): Promise<void> {
    const opts = this.deleteOptions(req, r, await readBody(req));
    const result = await this.rest.delete(r.def, r.namespace, r.name, opts);
    if (!result.deleted || r.def.plural === "pods" || r.def.crd) {
      // Pending deletions (and pods, as upstream returns them) answer with the object.
      this.send(
        req,
        res,
        r,
        result.deleted || !opts.propagationPolicy ? 200 : 200,
        result.object,
        opts.warnings,
      );
      return;
    }
    sendJson(res, 200, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: {
        name: r.name,
        group: r.def.group || undefined,
        kind: r.def.plural,
        uid: result.object?.metadata?.uid,
      },
    });
  }

  private async deleteCollection(
    req: IncomingMessage,
    res: ServerResponse,
    r: ResourceRequest,
  ): Promise<void> {
    const opts = this.deleteOptions(req, r, await readBody(req));
    const filter = compileFilter(
      r.def,
      {
        namespace: r.namespace,
        labelSelector: r.query.get("labelSelector") ?? undefined,
        fieldSelector: r.query.get("fieldSelector") ?? undefined,
      },
      selectableFieldNames,
    );
    const result = await list(this.rest.store, r.def, filter, { namespace: r.namespace });
    const deleted: any[] = [];
    for (const o of result.items) {
      try {
        deleted.push((await this.rest.delete(r.def, o.namespace, o.name, { ...opts })).object);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
    sendJson(res, 200, {
      kind: r.def.listKind,
      apiVersion: apiVersionOf(r.def),
      metadata: { resourceVersion: String(this.rest.store.cache.revision) },
      items: deleted,
    });
  }

  private async listOrWatch(req: IncomingMessage, res: ServerResponse, r: ResourceRequest): Promise<void> {
    const q = r.query;
    const filter = compileFilter(
      r.def,
      {
        namespace: r.namespace,
        labelSelector: q.get("labelSelector") ?? undefined,
        fieldSelector: q.get("fieldSelector") ?? undefined,
      },
      selectableFieldNames,
    );
    if (boolParam(q.get("watch"))) return this.watch(req, res, r, filter);
    const lq: ListQuery = {
      namespace: r.namespace,
      limit: intParam("limit", q.get("limit")),
      continue: q.get("continue") ?? undefined,
      resourceVersion: q.get("resourceVersion") ?? undefined,
      resourceVersionMatch: q.get("resourceVersionMatch") ?? undefined,
    };
    const result = await list(this.rest.store, r.def, filter, lq);
    const out = outputFor(req.headers.accept, q);
    if (out.kind === "table" && r.def.table) {
      const objs = result.items.map((o) => this.rest.asVersion(r.def, copyOf(o)));
      const table = buildTable(r.def.table, objs, {
        resourceVersion: String(result.resourceVersion),
        continue: result.continue,
        includeObject: out.includeObject,
        now: Date.now(),
      });
      return sendJson(res, 200, table);
    }
    const meta: Record<string, unknown> = { resourceVersion: String(result.resourceVersion) };
    if (result.continue) meta.continue = result.continue;
    if (result.remainingItemCount !== undefined) meta.remainingItemCount = result.remainingItemCount;
    const items = result.items.map((o) => this.rawFor(r.def, o));
    sendRaw(
      res,
      200,
      `{"kind":${JSON.stringify(r.def.listKind)},"apiVersion":${JSON.stringify(apiVersionOf(r.def))},"metadata":${JSON.stringify(meta)},"items":[${items.join(",")}]}`,
    );
  }

  private rawFor(def: ResourceDef, o: CachedObject): string {
    return needsVersionRewrite(this.rest, def) ? JSON.stringify(this.rest.asVersion(def, copyOf(o))) : o.raw;
  }

  private async watch(
    req: IncomingMessage,
    res: ServerResponse,
    r: ResourceRequest,
    filter: ReturnType<typeof compileFilter>,
  ): Promise<void> {
    const q = r.query;
    const out = outputFor(req.headers.accept, q);
    const def = r.def;
    let headerSent = false;
    let tableHeaderSent = false;
    const begin = () => {
      if (headerSent) return;
      headerSent = true;
      res.writeHead(200, {
        "content-type": "application/json",
        "cache-control": "no-cache, private",
        "transfer-encoding": "chunked",
      });
      res.flushHeaders();
    };
    let coalescing = false;
    const write = (line: string): boolean => {
      begin();
      // Events that arrive in the same turn of the event loop go out in one socket write (as
      // kube-apiserver flushes only when no further event is queued): under load, far fewer
      // syscalls for the same bytes.
      const socket = res.socket;
      if (!coalescing && socket) {
        coalescing = true;
        socket.cork();
        setImmediate(() => {
          coalescing = false;
          socket.uncork();
        });
      }
      res.write(`${line}\n`);
      // A client that stops reading must not make the server buffer without bound.
      return res.writableLength < 32 * 1024 * 1024;
    };
    const stop = await watch(
      this.rest.store,
      def,
      filter,
      {
        resourceVersion: q.get("resourceVersion") ?? undefined,
        allowWatchBookmarks: boolParam(q.get("allowWatchBookmarks")),
        timeoutSeconds: intParam("timeoutSeconds", q.get("timeoutSeconds")),
        sendInitialEvents: boolParam(q.get("sendInitialEvents")),
      },
      {
        send: (type, o) => {
          if (out.kind === "table" && def.table) {
            const obj = this.rest.asVersion(def, copyOf(o));
            const table: any = buildTable(def.table, [obj], {
              resourceVersion: obj.metadata.resourceVersion,
              includeObject: out.includeObject,
              now: Date.now(),
            });
            if (tableHeaderSent) table.columnDefinitions = [];
            tableHeaderSent = true;
            return write(JSON.stringify({ type, object: table }));
          }
          return write(`{"type":"${type}","object":${this.rawFor(def, o)}}`);
        },
        bookmark: (rv) => {
          write(
            JSON.stringify({
              type: "BOOKMARK",
              object: {
                kind: def.kind,
                apiVersion: apiVersionOf(def),
                metadata: { resourceVersion: String(rv) },
              },
            }),
          );
        },
        error: (err) => {
          write(JSON.stringify({ type: "ERROR", object: err.toStatus() }));
        },
        close: () => {
          begin();
          res.end();
        },
      },
    );
    begin();
    req.on("close", stop);
    res.on("close", stop);
  }
}

function needsVersionRewrite(rest: Rest, def: ResourceDef): boolean {
  if (!def.crd) return false;
  const storage = rest.registry.byPrefix(`/registry/${def.group}/${def.plural}/`);
  return storage !== undefined && storage.version !== def.version;
}
