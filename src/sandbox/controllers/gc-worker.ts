// One garbage-collector sync for one UID (upstream's attemptToDelete and attemptToOrphan):
// finish a foreground deletion or an orphaning the object asked for, or, for a dependent,
// decide from its owners whether to keep it, drop dangling references, or delete it.
// The graph says who owns what; the server is asked (live GETs) before anything is deleted.
import type { KubeClient } from "../../kube/client.ts";
import { isConflict, isInvalid, isNotFound } from "../../kube/errors.ts";
import { removeFinalizer } from "../../kube/finalizers.ts";
import type { KubeObject, OwnerReference } from "../../kube/objects.ts";
import type { JsonPatchOp } from "../../kube/patch.ts";
import type { DiscoveredResource, ResourceMap } from "./discovery.ts";
import {
  decide,
  FOREGROUND_FINALIZER,
  type GraphNode,
  ORPHAN_FINALIZER,
  type OwnerGraph,
  type OwnerState,
} from "./owner-graph.ts";

export type GcClient = Pick<KubeClient, "get" | "patch" | "delete">;

type Node = GraphNode<DiscoveredResource>;

export interface GcWorkerOptions {
  client: GcClient;
  graph: OwnerGraph<DiscoveredResource>;
  /** The latest discovery, to look up owners by apiVersion and kind. */
  resources: () => ResourceMap | undefined;
  /** Queues a UID for another sync. */
  enqueue: (uid: string) => void;
  /** Records a Warning event about an object. */
  warn?: (obj: KubeObject, reason: string, message: string) => void;
  /** Owners known to be gone, remembered so 1,000 orphans of one owner cost one GET. Default 2000. */
  absentCacheSize?: number;
}

/** Thrown when an owner's kind is not served (yet): retried, never treated as absent. */
export class UnknownOwnerKindError extends Error {}

export class GcWorker {
  private readonly o: GcWorkerOptions;
  private readonly absent: AbsentOwners;

  constructor(opts: GcWorkerOptions) {
    this.o = opts;
    this.absent = new AbsentOwners(opts.absentCacheSize ?? 2000);
  }

  async sync(uid: string): Promise<void> {
    const node = this.o.graph.get(uid);
    if (!node) return; // deleted meanwhile: its dependents were queued when it went
    if (node.orphaning) {
      await this.orphanDependents(node);
      if (node.deletingDependents) this.o.enqueue(uid);
      return;
    }
    if (node.deletingDependents) return this.finishForeground(node);
    if (node.beingDeleted || node.owners.length === 0) return;
    await this.checkOwners(node);
  }

  /** A dependent: are its owners still there? */
  private async checkOwners(node: Node): Promise<void> {
    const latest = await this.getLive(node);
    if (!latest || latest.metadata.deletionTimestamp) return;
    const refs = latest.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const owners: { uid: string; state: OwnerState }[] = [];
    for (const ref of refs) owners.push({ uid: ref.uid, state: await this.ownerState(node, latest, ref) });
    const verdict = decide(owners, {
      finalizers: latest.metadata.finalizers ?? [],
      hasDependents: this.o.graph.dependents(node.uid).length > 0,
    });
    if (verdict.action === "removeOwnerRefs") await this.removeOwnerRefs(node, new Set(verdict.uids));
    else if (verdict.action === "delete") await this.deleteObject(node, verdict.propagationPolicy);
  }

  private async ownerState(node: Node, obj: KubeObject, ref: OwnerReference): Promise<OwnerState> {
    const known = this.o.graph.ownerOf(node, ref);
    if (known) return known.deletingDependents ? "waiting" : "solid";
    // Not (yet) in the graph: ask the server before calling it gone.
    const res = this.o.resources()?.forKind(ref.apiVersion, ref.kind);
    if (!res) throw new UnknownOwnerKindError(`no served resource has kind ${ref.kind} in ${ref.apiVersion}`);
    if (res.namespaced && !node.namespace) {
      this.o.warn?.(
        obj,
        "OwnerRefInvalidNamespace",
        `ownerRef [${ref.apiVersion}/${ref.kind}, namespace: , name: ${ref.name}, uid: ${ref.uid}] does not exist in namespace ""`,
      );
      return "dangling";
    }
    const namespace = res.namespaced ? node.namespace : "";
    const cacheKey = `${namespace}/${ref.uid}`;
    if (this.absent.has(cacheKey)) return "dangling";
    let owner: KubeObject;
    try {
      owner = await this.o.client.get(res, namespace, ref.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.absent.add(cacheKey);
      return "dangling";
    }
    // Same name, another object: the owner we meant is gone.
    if (owner.metadata.uid !== ref.uid) {
      this.absent.add(cacheKey);
      return "dangling";
    }
    const waiting =
      Boolean(owner.metadata.deletionTimestamp) &&
      (owner.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER);
    return waiting ? "waiting" : "solid";
  }

  /** Foreground deletion of an owner: its dependents go first, then its finalizer. */
  private async finishForeground(owner: Node): Promise<void> {
    for (const dep of this.o.graph.dependents(owner.uid)) if (!dep.beingDeleted) this.o.enqueue(dep.uid);
    // Dependents being deleted still block until they are gone; their removal queues us again.
    if (this.o.graph.blockingDependents(owner.uid).length > 0) return;
    const live = await this.getLive(owner);
    if (live) await removeFinalizer(this.o.client, owner.resource, live, FOREGROUND_FINALIZER);
  }

  /** Orphan propagation: release every dependent, then let the owner go. */
  private async orphanDependents(owner: Node): Promise<void> {
    const failures: string[] = [];
    for (const dep of this.o.graph.dependents(owner.uid)) {
      try {
        await this.removeOwnerRefs(dep, new Set([owner.uid]));
      } catch (err) {
        failures.push(`${dep.namespace}/${dep.name}: ${String(err)}`);
      }
    }
    if (failures.length) throw new Error(`cannot orphan dependents: ${failures.join("; ")}`);
    const live = await this.getLive(owner);
    if (live) await removeFinalizer(this.o.client, owner.resource, live, ORPHAN_FINALIZER);
  }

  /**
   * Drops the references to `uids` with a JSON patch that first tests each removed entry's
   * UID, so a concurrent edit of the list fails the patch rather than removing the wrong entry.
   */
  private async removeOwnerRefs(node: Node, uids: Set<string>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const live = await this.getLive(node);
      if (!live) return;
      const refs = live.metadata.ownerReferences ?? [];
      const indexes = refs.flatMap((r, i) => (uids.has(r.uid) ? [i] : []));
      if (indexes.length === 0) return;
      const ops: JsonPatchOp[] = [
        ...indexes.map(
          (i): JsonPatchOp => ({
            op: "test",
            path: `/metadata/ownerReferences/${i}/uid`,
            value: refs[i].uid,
          }),
        ),
        ...indexes
          .reverse()
          .map((i): JsonPatchOp => ({ op: "remove", path: `/metadata/ownerReferences/${i}` })),
      ];
      try {
        await this.o.client.patch(node.resource, node.namespace, node.name, "json", ops);
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!(isInvalid(err) || isConflict(err)) || attempt >= 5) throw err;
      }
    }
  }

  private async deleteObject(
    node: Node,
    propagationPolicy: "Background" | "Foreground" | "Orphan",
  ): Promise<void> {
    try {
      await this.o.client.delete(node.resource, node.namespace, node.name, {
        propagationPolicy,
        preconditions: { uid: node.uid },
      });
    } catch (err) {
      // Gone already, or replaced by a new object of the same name (the UID precondition).
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
  }

  /** The object as the server has it now; undefined when it is gone (or is another object). */
  private async getLive(node: Node): Promise<KubeObject | undefined> {
    try {
      const obj = await this.o.client.get(node.resource, node.namespace, node.name);
      return obj.metadata.uid === node.uid ? obj : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/** A bounded set; the oldest entries are forgotten first. */
class AbsentOwners {
  private readonly keys = new Set<string>();
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value!);
  }
}
