// Generic REST semantics over the store, independent of HTTP: what create, update, patch and
// delete mean for any resource (defaults, validation, optimistic concurrency, status
// subresource, generation, finalizers, graceful deletion, propagation policy, dry run).

import { formatTime } from "../../kube/objects.ts";
import type { LeaseId, Op } from "../etcd/client.ts";
import type { Allocation } from "./allocators.ts";
import {
  ApiError,
  errAlreadyExists,
  errBadRequest,
  errConflict,
  errForbidden,
  errInvalid,
  errNotFound,
  type FieldError,
  required,
} from "./errors.ts";
import { generateName, keepSystemMeta, sameObject, specPart, stampNew } from "./object-meta.ts";
import type { Registry } from "./registry.ts";
import type { Store } from "./storage/store.ts";
import { type CachedObject, copyOf, parsedOf } from "./storage/watch-cache.ts";
import { apiVersionOf, type ResourceDef, storagePrefix } from "./types.ts";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  /** Collected `Warning:` headers for the response. */
  warnings?: string[];
}

export interface DeleteOptions extends WriteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface DeleteResult {
  /** The object's last state (or its state with deletionTimestamp when deletion is pending). */
  object: any;
  /** True when the object is gone from storage. */
  deleted: boolean;
}

/** Kind-specific behaviour the generic flow calls out to (allocations, admission checks). */
export interface ResourceHooks {
  /** Runs after defaulting/validation of a create; may return keys to allocate atomically. */
  beforeCreate?(obj: any, opts: WriteOptions): Promise<Allocation | undefined> | Allocation | undefined;
  beforeUpdate?(
    obj: any,
    old: any,
    opts: WriteOptions,
  ): Promise<Allocation | undefined> | Allocation | undefined;
  /** Ops committed with the final deletion (release allocations). */
  onDelete?(obj: any): Op[];
  /** Replaces the generic delete entry (e.g. namespaces enter Terminating). */
  delete?(rest: Rest, def: ResourceDef, cur: any, opts: DeleteOptions): Promise<DeleteResult | undefined>;
  /** True while something other than metadata.finalizers keeps a deleted object (a namespace's spec.finalizers). */
  holdsDeletion?(obj: any): boolean;
  /** Runs before defaulting and validation of an update (carry allocated values over). */
  prepareForUpdate?(obj: any, old: any): void;
  /** An etcd lease to attach the stored object to (objects with a TTL, like Events). */
  leaseFor?(obj: any): Promise<LeaseId | undefined>;
  /** After a successful write (not dry run). */
  afterWrite?(obj: any, old: any | undefined): void;
}

export interface SchemaChecks {
  /** Paths of fields not in the schema, for fieldValidation Strict/Warn. */
  unknownFields(def: ResourceDef, obj: any): string[];
  /** Removes fields not in the schema (what decoding into the typed object would do). */
  dropUnknownFields(def: ResourceDef, obj: any): void;
  /** The 400 message for fieldValidation=Strict. */
  strictMessage(def: ResourceDef, paths: string[], isPatch: boolean): string;
}

export const keyOf = (def: ResourceDef, namespace: string, name: string) =>
  storagePrefix(def) + (def.namespaced ? `${namespace}/${name}` : name);

const qr = (def: ResourceDef) => ({ group: def.group, resource: def.plural });

export class Rest {
  readonly store: Store;
  readonly registry: Registry;
  private readonly hooks: Map<string, ResourceHooks>;
  private readonly schema: SchemaChecks;

  constructor(store: Store, registry: Registry, hooks: Map<string, ResourceHooks>, schema: SchemaChecks) {
    this.store = store;
    this.registry = registry;
    this.hooks = hooks;
    this.schema = schema;
  }

  hooksFor(def: ResourceDef): ResourceHooks {
    return this.hooks.get(`${def.group}/${def.plural}`) ?? {};
  }

  async getCached(def: ResourceDef, namespace: string, name: string): Promise<CachedObject> {
    const cur = await this.store.get(storagePrefix(def), keyOf(def, namespace, name));
    if (!cur) throw errNotFound(qr(def), name);
    return cur;
  }

  /** A private, mutable copy of the stored object in the requested version. */
  async get(def: ResourceDef, namespace: string, name: string): Promise<any> {
    return this.asVersion(def, copyOf(await this.getCached(def, namespace, name)));
  }

  /** Custom resources are stored in one version and served in any (no conversion beyond apiVersion). */
  asVersion(def: ResourceDef, obj: any): any {
    if (def.crd) obj.apiVersion = apiVersionOf(def);
    return obj;
  }

  // ---------------------------------------------------------------- create

  async create(
    def: ResourceDef,
    namespace: string,
    body: any,
    opts: WriteOptions,
    subresource = "",
  ): Promise<any> {
    if (subresource)
      throw new ApiError(405, "MethodNotAllowed", `create is not supported on ${def.plural}/${subresource}`);
    const obj = this.checkEnvelope(def, namespace, body);
    this.checkFields(def, obj, opts);
    const meta = obj.metadata;
    if (meta.resourceVersion)
      throw errBadRequest("resourceVersion should not be set on objects to be created");
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    if (!meta.name)
      throw errInvalid(def.kind, def.group, "", [
        required("metadata.name", "name or generateName is required"),
      ]);
    if (def.namespaced) await this.checkNamespaceAcceptsContent(namespace);
    const strategy = def.strategy;
    stampNew(obj, strategy.tracksGeneration);
    if (strategy.hasStatus && !strategy.prepareForCreate && def.crd) delete obj.status;
    // Upstream defaults while decoding, then runs PrepareForCreate and admission; defaulting
    // again normalises what those added (as upstream's conversion on output does).
    strategy.defaults?.(obj);
    strategy.prepareForCreate?.(obj);
    strategy.defaults?.(obj);
    this.validate(def, obj, strategy.validate?.(obj) ?? []);
    const hooks = this.hooksFor(def);
    const key = keyOf(def, namespace, meta.name);
    // Report a taken name before allocating anything for the object.
    if (await this.store.get(storagePrefix(def), key)) throw errAlreadyExists(qr(def), meta.name);
    for (let attempt = 0; ; attempt++) {
      const alloc = await hooks.beforeCreate?.(obj, opts);
      if (opts.dryRun) {
        obj.metadata.resourceVersion = undefined;
        return this.asVersion(def, obj);
      }
      const res = await this.store.create(
        key,
        this.toStorage(def, obj),
        alloc?.ops ?? [],
        (alloc?.mustNotExist ?? []).map((k) => ({ key: k })),
        await hooks.leaseFor?.(obj),
      );
      if (res.ok) {
        hooks.afterWrite?.(res.object, undefined);
        return this.asVersion(def, res.object);
      }
      // Either the name is taken or an allocation raced with another create.
      if (!alloc?.mustNotExist.length || (await this.store.getFromEtcd(storagePrefix(def), key)))
        throw errAlreadyExists(qr(def), meta.name);
      if (attempt > 20)
        throw new ApiError(500, "InternalError", "could not allocate after repeated conflicts");
    }
  }

  // ---------------------------------------------------------------- update

  /**
   * PUT semantics. `body` is the full desired object; its resourceVersion, when set, is a
   * precondition. Subresource "status" changes only status; "" keeps status for kinds with one.
   */
  async update(
    def: ResourceDef,
    namespace: string,
    name: string,
    body: any,
    opts: WriteOptions,
    subresource = "",
  ): Promise<any> {
    const obj = this.checkEnvelope(def, namespace, body);
    if (obj.metadata.name && obj.metadata.name !== name)
      throw errBadRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    obj.metadata.name = name;
    this.checkFields(def, obj, opts);
    const prefix = storagePrefix(def);
    const key = keyOf(def, namespace, name);
    const cur = await this.store.get(prefix, key);
    if (!cur) {
      if (!subresource && allowCreateOnUpdate(def)) return this.create(def, namespace, obj, opts);
      throw errNotFound(qr(def), name);
    }
    return this.updateFrom(def, cur, obj, opts, subresource, obj.metadata.resourceVersion);
  }

  /**
   * Applies `next` over the stored `cur`. `precondition` is the resourceVersion the client
   * based its change on (conflict when stale); without one, a lost race is retried by the
   * caller-supplied `rebuild`.
   */
  async updateFrom(
    def: ResourceDef,
    cur: CachedObject,
    next: any,
    opts: WriteOptions,
    subresource: string,
    precondition: string | undefined,
  ): Promise<any> {
    if (precondition && precondition !== String(cur.rv))
      throw errConflict(
        qr(def),
        cur.name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    const old = parsedOf(cur);
    checkUidPrecondition(def, old, next);
    const obj = this.mergeForSubresource(def, next, cur, subresource);
    keepSystemMeta(obj, old);
    const strategy = def.strategy;
    const hooks = this.hooksFor(def);
    strategy.defaults?.(obj);
    hooks.prepareForUpdate?.(obj, old);
    if (!subresource) strategy.prepareForUpdate?.(obj, old);
    if (strategy.tracksGeneration && !subresource && specPart(obj) !== specPart(old))
      obj.metadata.generation = (old.metadata.generation ?? 0) + 1;
    const errs = strategy.validate?.(obj) ?? [];
    errs.push(...(strategy.validateUpdate?.(obj, old) ?? []));
    if (subresource === "status") errs.push(...(strategy.validateStatusUpdate?.(obj, old) ?? []));
    this.validate(def, obj, errs);
    obj.metadata.resourceVersion = String(cur.rv);
    if (sameObject(obj, old)) return this.asVersion(def, copyOf(cur));
    const alloc = await hooks.beforeUpdate?.(obj, old, opts);
    if (opts.dryRun) return this.asVersion(def, obj);
    const prefix = storagePrefix(def);
    // The last finalizer removed from an object being deleted completes its deletion.
    if (
      obj.metadata.deletionTimestamp &&
      !obj.metadata.finalizers?.length &&
      !(obj.metadata.deletionGracePeriodSeconds > 0) &&
      !hooks.holdsDeletion?.(obj)
    ) {
      const res = await this.store.delete(prefix, cur.key, cur.rv, hooks.onDelete?.(obj) ?? []);
      if (!res.ok) throw this.lostRace(def, cur, res.current);
      return this.asVersion(def, obj);
    }
    const res = await this.store.update(
      prefix,
      cur.key,
      this.toStorage(def, obj),
      cur.rv,
      alloc?.ops ?? [],
      await hooks.leaseFor?.(obj),
    );
    if (!res.ok) throw this.lostRace(def, cur, res.current);
    hooks.afterWrite?.(res.object, old);
    return this.asVersion(def, res.object);
  }

  private lostRace(def: ResourceDef, cur: CachedObject, now: CachedObject | undefined): ApiError {
    if (!now) return errNotFound(qr(def), cur.name);
    return errConflict(
      qr(def),
      cur.name,
      "the object has been modified; please apply your changes to the latest version and try again",
    );
  }

  /** Status writes keep everything but status; main-resource writes keep status; finalize changes spec.finalizers only. */
  private mergeForSubresource(def: ResourceDef, next: any, cur: CachedObject, subresource: string): any {
    const old = parsedOf(cur);
    if (subresource === "status" || subresource === "finalize") {
      const out = copyOf(cur);
      if (subresource === "status") out.status = next.status;
      else {
        out.spec = { ...(out.spec ?? {}), finalizers: next.spec?.finalizers };
        if (!out.spec.finalizers?.length) delete out.spec.finalizers;
      }
      out.metadata.resourceVersion = next.metadata.resourceVersion;
      return out;
    }
    if (subresource)
      throw new ApiError(405, "MethodNotAllowed", `update is not supported on ${def.plural}/${subresource}`);
    if (def.strategy.hasStatus) {
      if (old.status === undefined) delete next.status;
      else next.status = structuredClone(old.status);
    }
    return next;
  }

  /**
   * Read-modify-write for PATCH and internal writers: `mutate` gets a private copy of the
   * current object and returns the desired object. Conflicts are retried unless the mutation
   * pinned a resourceVersion.
   */
  async mutate(
    def: ResourceDef,
    namespace: string,
    name: string,
    opts: WriteOptions,
    subresource: string,
    mutate: (cur: any) => any,
  ): Promise<any> {
    const prefix = storagePrefix(def);
    const key = keyOf(def, namespace, name);
    let cur = await this.store.get(prefix, key);
    for (let attempt = 0; ; attempt++) {
      if (!cur) throw errNotFound(qr(def), name);
      const copy = this.asVersion(def, copyOf(cur));
      // Read before `mutate`, which may change the copy in place and return it.
      const currentRv = copy.metadata.resourceVersion;
      const next = mutate(copy);
      next.metadata ??= {};
      const pinned = next.metadata.resourceVersion !== currentRv ? next.metadata.resourceVersion : undefined;
      if (next.metadata.name !== undefined && next.metadata.name !== name)
        throw errBadRequest(
          `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`,
        );
      next.metadata.name = name;
      if (def.namespaced) next.metadata.namespace = namespace;
      this.checkFields(def, next, opts, true);
      try {
        return await this.updateFrom(def, cur, next, opts, subresource, pinned);
      } catch (err) {
        if (pinned || !(err instanceof ApiError) || err.reason !== "Conflict" || attempt > 10) throw err;
        if (isUidPreconditionFailure(err)) throw err; // another object has the name now
        cur = await this.store.getFromEtcd(prefix, key);
      }
    }
  }

  /**
   * A write by the server itself that bypasses strategies and system-metadata protection
   * (e.g. a namespace entering Terminating). `fn` returns the new object, or undefined for no change.
   */
  async systemUpdate(
    def: ResourceDef,
    namespace: string,
    name: string,
    fn: (cur: any) => any | undefined,
  ): Promise<any> {
    const r = await this.store.guaranteedUpdate(storagePrefix(def), keyOf(def, namespace, name), (cur) => {
      if (!cur) throw errNotFound(qr(def), name);
      return fn(cur);
    });
    return r.object;
  }

  // ---------------------------------------------------------------- delete

  async delete(
    def: ResourceDef,
    namespace: string,
    name: string,
    opts: DeleteOptions,
  ): Promise<DeleteResult> {
    const prefix = storagePrefix(def);
    const key = keyOf(def, namespace, name);
    let cached = await this.store.get(prefix, key);
    for (let attempt = 0; ; attempt++) {
      if (!cached) throw errNotFound(qr(def), name);
      const cur = copyOf(cached);
      checkPreconditions(def, cur, opts);
      const hooks = this.hooksFor(def);
      const special = await hooks.delete?.(this, def, cur, opts);
      if (special) return special;
      const result = await this.deleteStep(def, cached, cur, opts);
      if (result) return result;
      if (attempt > 10) throw errConflict(qr(def), name, "too many concurrent changes during delete");
      cached = await this.store.getFromEtcd(prefix, key);
    }
  }

  /** One attempt; undefined means the object changed underneath and the caller should retry. */
  private async deleteStep(
    def: ResourceDef,
    cached: CachedObject,
    cur: any,
    opts: DeleteOptions,
  ): Promise<DeleteResult | undefined> {
    const prefix = storagePrefix(def);
    const meta = cur.metadata;
    const next = structuredClone(cur);
    const nm = next.metadata;
    let changed = false;
    // Graceful deletion: the object stays, marked, until its grace period is over (pods only).
    const grace = gracePeriodFor(def, cur, opts);
    if (grace > 0) {
      const deadline = formatTime(Date.now() + grace * 1000);
      if (!meta.deletionTimestamp || (meta.deletionGracePeriodSeconds ?? Infinity) > grace) {
        nm.deletionTimestamp =
          meta.deletionTimestamp && Date.parse(meta.deletionTimestamp) < Date.parse(deadline)
            ? meta.deletionTimestamp
            : deadline;
        nm.deletionGracePeriodSeconds = grace;
        changed = true;
      }
    } else if (meta.deletionTimestamp && (meta.deletionGracePeriodSeconds ?? 0) > 0) {
      nm.deletionGracePeriodSeconds = 0;
      changed = true;
    }
    // Propagation policy becomes a finalizer the garbage collector acts on.
    const policy = propagationOf(def, opts);
    const fins = new Set<string>(nm.finalizers ?? []);
    if (!meta.deletionTimestamp || policy) {
      if (policy === "Foreground" && !fins.has("foregroundDeletion")) {
        fins.add("foregroundDeletion");
        fins.delete("orphan");
        changed = true;
      } else if (policy === "Orphan" && !fins.has("orphan")) {
        fins.add("orphan");
        fins.delete("foregroundDeletion");
        changed = true;
      } else if (
        policy === "Background" &&
        (fins.has("orphan") || fins.has("foregroundDeletion")) &&
        !meta.deletionTimestamp
      ) {
        fins.delete("orphan");
        fins.delete("foregroundDeletion");
        changed = true;
      }
    }
    nm.finalizers = [...fins];
    if (!nm.finalizers.length) delete nm.finalizers;
    const pending = grace > 0 || (nm.finalizers?.length ?? 0) > 0;
    if (pending) {
      if (!nm.deletionTimestamp) {
        nm.deletionTimestamp = formatTime();
        nm.deletionGracePeriodSeconds = 0;
        changed = true;
      }
      if (!changed) return { object: this.asVersion(def, cur), deleted: false };
      if (opts.dryRun) return { object: this.asVersion(def, next), deleted: false };
      const res = await this.store.update(prefix, cached.key, this.toStorage(def, next), cached.rv);
      if (!res.ok) return undefined;
      return { object: this.asVersion(def, res.object), deleted: false };
    }
    if (opts.dryRun) return { object: this.asVersion(def, cur), deleted: true };
    const res = await this.store.delete(
      prefix,
      cached.key,
      cached.rv,
      this.hooksFor(def).onDelete?.(cur) ?? [],
    );
    if (!res.ok) return undefined;
    return { object: this.asVersion(def, cur), deleted: true };
  }

  // ---------------------------------------------------------------- helpers

  /** The object as stored: the storage version's apiVersion for custom resources. */
  private toStorage(def: ResourceDef, obj: any): any {
    if (!def.crd) return obj;
    const storage = this.registry.byPrefix(storagePrefix(def));
    if (storage) obj.apiVersion = apiVersionOf(storage);
    return obj;
  }

  /** Checks apiVersion/kind/namespace of a request body against the URL and fills them in. */
  checkEnvelope(def: ResourceDef, namespace: string, body: any): any {
    if (!body || typeof body !== "object" || Array.isArray(body))
      throw errBadRequest(
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
      );
    const apiVersion = apiVersionOf(def);
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersion)
      throw errBadRequest(
        `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersion})`,
      );
    if (body.kind !== undefined && body.kind !== def.kind)
      throw errBadRequest(
        `${body.kind} in version "${def.version}" cannot be handled as a ${def.kind}: the kind in the data does not match the expected kind ${def.kind}`,
      );
    body.apiVersion = apiVersion;
    body.kind = def.kind;
    if (body.metadata === null || body.metadata === undefined) body.metadata = {};
    if (typeof body.metadata !== "object" || Array.isArray(body.metadata))
      throw errBadRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: metadata must be an object`,
      );
    if (body.metadata.creationTimestamp === null) delete body.metadata.creationTimestamp;
    if (def.namespaced) {
      if (body.metadata.namespace && namespace && body.metadata.namespace !== namespace)
        throw errBadRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      body.metadata.namespace = namespace || body.metadata.namespace;
      if (!body.metadata.namespace) throw errBadRequest("the namespace of the object is required");
    } else {
      delete body.metadata.namespace;
    }
    return body;
  }

  private checkFields(def: ResourceDef, obj: any, opts: WriteOptions, isPatch = false): void {
    const mode = opts.fieldValidation ?? "Ignore";
    const unknown = mode === "Ignore" ? [] : this.schema.unknownFields(def, obj);
    if (unknown.length && mode === "Strict")
      throw errBadRequest(this.schema.strictMessage(def, unknown, isPatch));
    for (const f of unknown) opts.warnings?.push(`unknown field "${f}"`);
    this.schema.dropUnknownFields(def, obj);
  }

  private validate(def: ResourceDef, obj: any, errs: FieldError[]): void {
    if (errs.length) throw errInvalid(def.kind, def.group, obj.metadata?.name ?? "", errs);
  }

  /** Namespaced content needs an existing namespace that is not being deleted. */
  async checkNamespaceAcceptsContent(namespace: string): Promise<void> {
    const nsDef = this.registry.lookup("", "v1", "namespaces")!;
    const ns = await this.store.get(storagePrefix(nsDef), keyOf(nsDef, "", namespace));
    if (!ns) throw errNotFound({ group: "", resource: "namespaces" }, namespace);
    const obj = parsedOf(ns);
    if (obj.metadata.deletionTimestamp || obj.status?.phase === "Terminating")
      throw errForbidden(
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          name: namespace,
          kind: "namespaces",
          causes: [
            {
              reason: "NamespaceTerminating",
              message: `namespace ${namespace} is being terminated`,
              field: "metadata.namespace",
            },
          ],
        },
      );
  }
}

function allowCreateOnUpdate(def: ResourceDef): boolean {
  return def.group === "" && (def.plural === "endpoints" || def.plural === "events");
}

const UID_PRECONDITION_FAILED = "Precondition failed: UID in precondition";

function uidPreconditionFailed(def: ResourceDef, cur: any, uid: string): ApiError {
  return errConflict(
    qr(def),
    cur.metadata.name,
    `${UID_PRECONDITION_FAILED}: ${uid}, UID in object meta: ${cur.metadata.uid}`,
  );
}

function isUidPreconditionFailure(err: ApiError): boolean {
  return err.message.includes(UID_PRECONDITION_FAILED);
}

/**
 * A uid in an update's or patch's body is a precondition, as upstream: the write is for that
 * object, and must not land on another one created under the same name since.
 */
function checkUidPrecondition(def: ResourceDef, cur: any, next: any): void {
  const uid = next.metadata?.uid;
  if (uid && uid !== cur.metadata.uid) throw uidPreconditionFailed(def, cur, uid);
}

function checkPreconditions(def: ResourceDef, cur: any, opts: DeleteOptions): void {
  const p = opts.preconditions;
  if (!p) return;
  if (p.uid && p.uid !== cur.metadata.uid) throw uidPreconditionFailed(def, cur, p.uid);
  if (p.resourceVersion && p.resourceVersion !== cur.metadata.resourceVersion)
    throw errConflict(
      qr(def),
      cur.metadata.name,
      `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`,
    );
}

/** Only pods delete gracefully; unscheduled and finished pods go at once (upstream rules). */
function gracePeriodFor(def: ResourceDef, cur: any, opts: DeleteOptions): number {
  if (!(def.group === "" && def.plural === "pods")) return 0;
  if (!cur.spec?.nodeName) return 0;
  const phase = cur.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return 0;
  const g = opts.gracePeriodSeconds ?? cur.spec?.terminationGracePeriodSeconds ?? 30;
  return Math.max(0, g);
}

function propagationOf(
  _def: ResourceDef,
  opts: DeleteOptions,
): DeleteOptions["propagationPolicy"] | undefined {
  if (opts.propagationPolicy) return opts.propagationPolicy;
  if (opts.orphanDependents === true) return "Orphan";
  if (opts.orphanDependents === false) return "Background";
  return undefined;
}
