// The garbage collector's view of the cluster: every watched object by UID, with just what
// ownership needs (where it lives, its owner references, whether it is being deleted and how),
// and an index from owner UID to dependents. Pure bookkeeping: it tells the caller which UIDs
// need a look after each change, and never talks to the server.
import type { KubeObject, OwnerReference } from "../../kube/objects.ts";
import type { ApiResource } from "../../kube/resource.ts";

/** The finalizers through which the API server asks for foreground deletion and orphaning. */
export const FOREGROUND_FINALIZER = "foregroundDeletion";
export const ORPHAN_FINALIZER = "orphan";

/** An owner reference as the graph keeps it. */
export interface OwnerLink {
  readonly uid: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** blockOwnerDeletion: a foreground-deleted owner waits for this dependent. */
  readonly block: boolean;
}

export interface GraphNode<R extends ApiResource = ApiResource> {
  readonly uid: string;
  readonly resource: R;
  /** "" for cluster-scoped objects. */
  readonly namespace: string;
  readonly name: string;
  readonly owners: readonly OwnerLink[];
  /** Has a deletionTimestamp. */
  readonly beingDeleted: boolean;
  /** Being deleted in the foreground: waits for its blocking dependents to go. */
  readonly deletingDependents: boolean;
  /** Being deleted with the orphan finalizer: its dependents are to be released. */
  readonly orphaning: boolean;
}

const NO_OWNERS: readonly OwnerLink[] = Object.freeze([]);

// 10,000 pods say "apps/v1" and "ReplicaSet" 10,000 times; keep one copy of each string.
const interned = new Map<string, string>();
function intern(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size < 10_000) interned.set(s, s);
  return s;
}

function linksOf(refs: OwnerReference[] | undefined): readonly OwnerLink[] {
  if (!refs?.length) return NO_OWNERS;
  return refs
    .filter((r) => r?.uid)
    .map((r) => ({
      uid: r.uid,
      apiVersion: intern(r.apiVersion ?? ""),
      kind: intern(r.kind ?? ""),
      name: r.name ?? "",
      block: r.blockOwnerDeletion === true,
    }));
}

export function nodeFor<R extends ApiResource>(obj: KubeObject, resource: R): GraphNode<R> {
  const m = obj.metadata;
  const beingDeleted = Boolean(m.deletionTimestamp);
  const fins = m.finalizers ?? [];
  return {
    uid: m.uid ?? "",
    resource,
    namespace: resource.namespaced ? (m.namespace ?? "") : "",
    name: m.name ?? "",
    owners: linksOf(m.ownerReferences),
    beingDeleted,
    deletingDependents: beingDeleted && fins.includes(FOREGROUND_FINALIZER),
    orphaning: beingDeleted && fins.includes(ORPHAN_FINALIZER),
  };
}

function sameOwners(a: readonly OwnerLink[], b: readonly OwnerLink[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => x.uid === b[i].uid && x.block === b[i].block && x.name === b[i].name)
  );
}

function sameNode(a: GraphNode, b: GraphNode): boolean {
  return (
    a.resource === b.resource &&
    a.name === b.name &&
    a.namespace === b.namespace &&
    a.beingDeleted === b.beingDeleted &&
    a.deletingDependents === b.deletingDependents &&
    a.orphaning === b.orphaning &&
    sameOwners(a.owners, b.owners)
  );
}

export class OwnerGraph<R extends ApiResource = ApiResource> {
  private readonly nodes = new Map<string, GraphNode<R>>();
  /** Owner UID → UIDs of the objects that name it, whether or not the owner itself is known. */
  private readonly dependentsOf = new Map<string, Set<string>>();

  get size(): number {
    return this.nodes.size;
  }

  get(uid: string): GraphNode<R> | undefined {
    return this.nodes.get(uid);
  }

  /** All nodes of one resource (a scan: for the rare removal of a whole resource). */
  nodesOf(match: (resource: R) => boolean): GraphNode<R>[] {
    return [...this.nodes.values()].filter((n) => match(n.resource));
  }

  /**
   * The node `link` refers to, as seen from `dependent`: a namespaced owner only counts in the
   * dependent's own namespace (and never for a cluster-scoped dependent).
   */
  ownerOf(dependent: { namespace: string }, link: { uid: string }): GraphNode<R> | undefined {
    const owner = this.nodes.get(link.uid);
    if (!owner) return undefined;
    if (owner.resource.namespaced && owner.namespace !== dependent.namespace) return undefined;
    return owner;
  }

  /** The known objects that name `ownerUid` as an owner (and could really belong to it). */
  dependents(ownerUid: string): GraphNode<R>[] {
    const owner = this.nodes.get(ownerUid);
    const out: GraphNode<R>[] = [];
    for (const uid of this.dependentsOf.get(ownerUid) ?? []) {
      const dep = this.nodes.get(uid);
      if (!dep) continue;
      if (owner?.resource.namespaced && dep.namespace !== owner.namespace) continue;
      out.push(dep);
    }
    return out;
  }

  /** Dependents whose reference to `ownerUid` has blockOwnerDeletion. */
  blockingDependents(ownerUid: string): GraphNode<R>[] {
    return this.dependents(ownerUid).filter((d) => d.owners.some((o) => o.uid === ownerUid && o.block));
  }

  /** Records an added or updated object; answers the UIDs that need a look because of it. */
  observe(obj: KubeObject, resource: R): string[] {
    const node = nodeFor(obj, resource);
    if (!node.uid) return [];
    const old = this.nodes.get(node.uid);
    if (old && sameNode(old, node)) return []; // most updates are status changes: nothing to do
    this.nodes.set(node.uid, node);
    const out = new Set<string>();
    const oldOwners = old?.owners ?? NO_OWNERS;
    for (const prev of oldOwners) {
      const now = node.owners.find((o) => o.uid === prev.uid);
      if (!now) this.unlink(prev.uid, node.uid);
      // A foreground-deleted owner this object no longer blocks may be able to finish.
      if (prev.block && !now?.block && this.nodes.get(prev.uid)?.deletingDependents) out.add(prev.uid);
    }
    for (const o of node.owners) if (!oldOwners.some((p) => p.uid === o.uid)) this.link(o.uid, node.uid);
    if (!old || !sameOwners(old.owners, node.owners)) {
      // An owner we have never seen may not exist; an owner being deleted in the foreground
      // wants this object gone. Either way the object needs a look.
      for (const o of node.owners) {
        const owner = this.ownerOf(node, o);
        if (!owner || owner.deletingDependents) {
          out.add(node.uid);
          break;
        }
      }
    }
    if ((node.deletingDependents && !old?.deletingDependents) || (node.orphaning && !old?.orphaning))
      out.add(node.uid);
    return [...out];
  }

  /** Records a deleted object; answers its dependents and the owners that may be waiting for it. */
  forget(uid: string): string[] {
    const node = this.nodes.get(uid);
    if (!node) return [];
    this.nodes.delete(uid);
    const out = new Set<string>();
    for (const o of node.owners) {
      this.unlink(o.uid, uid);
      if (this.nodes.get(o.uid)?.deletingDependents) out.add(o.uid);
    }
    for (const dep of this.dependentsOf.get(uid) ?? []) out.add(dep);
    return [...out];
  }

  private link(ownerUid: string, depUid: string): void {
    let set = this.dependentsOf.get(ownerUid);
    if (!set) {
      set = new Set();
      this.dependentsOf.set(ownerUid, set);
    }
    set.add(depUid);
  }

  private unlink(ownerUid: string, depUid: string): void {
    const set = this.dependentsOf.get(ownerUid);
    if (!set) return;
    set.delete(depUid);
    if (set.size === 0) this.dependentsOf.delete(ownerUid);
  }
}

export type OwnerState = "solid" | "dangling" | "waiting";

export type Verdict =
  | { action: "keep" }
  | { action: "removeOwnerRefs"; uids: string[] }
  | { action: "delete"; propagationPolicy: "Background" | "Foreground" | "Orphan" };

/**
 * What to do with a dependent given the state of each owner: `solid` (exists, not being
 * deleted in the foreground), `waiting` (exists, foreground deletion waiting for dependents)
 * or `dangling` (does not exist).
 */
export function decide(
  owners: readonly { uid: string; state: OwnerState }[],
  item: { finalizers: readonly string[]; hasDependents: boolean },
): Verdict {
  if (owners.length === 0) return { action: "keep" };
  const solid = owners.filter((o) => o.state === "solid");
  const waiting = owners.filter((o) => o.state === "waiting");
  if (solid.length > 0) {
    // A live owner keeps the object; references to owners that are gone or going are dropped.
    const drop = owners.filter((o) => o.state !== "solid").map((o) => o.uid);
    return drop.length ? { action: "removeOwnerRefs", uids: drop } : { action: "keep" };
  }
  // A foreground-deleted owner waits for the whole subtree: a dependent with dependents of its
  // own goes in the foreground too.
  if (waiting.length > 0 && item.hasDependents) return { action: "delete", propagationPolicy: "Foreground" };
  // Otherwise honour a propagation policy the object already asked for.
  if (item.finalizers.includes(ORPHAN_FINALIZER)) return { action: "delete", propagationPolicy: "Orphan" };
  if (item.finalizers.includes(FOREGROUND_FINALIZER))
    return { action: "delete", propagationPolicy: "Foreground" };
  return { action: "delete", propagationPolicy: "Background" };
}
