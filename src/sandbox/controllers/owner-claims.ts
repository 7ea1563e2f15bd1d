// Controller references, as upstream's ControllerRefManager handles them: a controller owns
// the objects whose controller reference points at it and that its selector still matches,
// adopts matching orphans, and releases owned objects that stopped matching. Objects another
// controller owns are never touched.

import type { KubeClient } from "../../kube/client.ts";
import { isNotFound } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import { matches, type Requirement } from "../../kube/labels.ts";
import { controllerOf, type KubeObject, type OwnerReference } from "../../kube/objects.ts";
import type { ApiResource } from "../../kube/resource.ts";

/**
 * Index of objects by their controller's UID, with orphans under `orphan:<namespace>`: what a
 * controller may claim is then two index lookups instead of a scan of the namespace.
 */
export const CONTROLLER_INDEX = "raven.workloads/controller-uid";

export const orphanIndexValue = (namespace: string) => `orphan:${namespace}`;

export function controllerIndex(obj: KubeObject): string[] {
  const ref = controllerOf(obj);
  return [ref ? ref.uid : orphanIndexValue(obj.metadata.namespace ?? "")];
}

/** Adds the controller index unless a sibling controller sharing the informer already did. */
export function ensureControllerIndex(informer: SharedInformer): void {
  try {
    informer.addIndexer(CONTROLLER_INDEX, controllerIndex);
  } catch (err) {
    if (!String(err).includes("already exists")) throw err;
  }
}

/** The objects `owner` controls plus the orphans of its namespace (what it may claim). */
export function claimCandidates(informer: SharedInformer, owner: KubeObject): KubeObject[] {
  return [
    ...informer.byIndex(CONTROLLER_INDEX, owner.metadata.uid!),
    ...informer.byIndex(CONTROLLER_INDEX, orphanIndexValue(owner.metadata.namespace ?? "")),
  ];
}

export interface ClaimPlan {
  /** Owned and matching: the owner's, as they are. */
  owned: KubeObject[];
  /** Orphans that match: to be adopted. */
  adopt: KubeObject[];
  /** Owned but no longer matching: to be released. */
  release: KubeObject[];
}

/** Sorts candidates into owned, to adopt and to release (upstream's ClaimObject rules). */
export function planClaims(
  owner: KubeObject,
  selector: Requirement[] | null,
  candidates: KubeObject[],
): ClaimPlan {
  const plan: ClaimPlan = { owned: [], adopt: [], release: [] };
  const ownerDeleting = Boolean(owner.metadata.deletionTimestamp);
  for (const obj of candidates) {
    if (obj.metadata.namespace !== owner.metadata.namespace) continue;
    const ref = controllerOf(obj);
    const match = matches(selector, obj.metadata.labels);
    if (ref) {
      if (ref.uid !== owner.metadata.uid) continue;
      if (match) plan.owned.push(obj);
      // An owner being deleted keeps what it has, so the garbage collector can finish.
      else if (!ownerDeleting) plan.release.push(obj);
      continue;
    }
    // Orphans: neither a dying owner nor a dying orphan is worth an adoption.
    if (ownerDeleting || !match || obj.metadata.deletionTimestamp) continue;
    plan.adopt.push(obj);
  }
  return plan;
}

/**
 * Executes a plan: adopts and releases with merge patches pinned to the cached
 * resourceVersion (a concurrent change, e.g. another controller adopting first, fails with a
 * conflict and the sync is retried on fresh data). `canAdopt` is asked once before the first
 * adoption (upstream re-reads the owner to be sure it still exists and is not being deleted).
 * Answers the objects the owner ends up controlling.
 */
export async function executeClaims(
  client: KubeClient,
  res: ApiResource,
  plan: ClaimPlan,
  ref: OwnerReference,
  canAdopt: () => Promise<void>,
): Promise<KubeObject[]> {
  const claimed = [...plan.owned];
  const errors: unknown[] = [];
  if (plan.adopt.length) {
    await canAdopt();
    await Promise.all(
      plan.adopt.map(async (obj) => {
        try {
          claimed.push(await patchOwners(client, res, obj, [...(obj.metadata.ownerReferences ?? []), ref]));
        } catch (err) {
          if (!isNotFound(err)) errors.push(err);
        }
      }),
    );
  }
  await Promise.all(
    plan.release.map(async (obj) => {
      const rest = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
      try {
        await patchOwners(client, res, obj, rest);
      } catch (err) {
        if (!isNotFound(err)) errors.push(err);
      }
    }),
  );
  if (errors.length) throw errors[0];
  return claimed;
}

async function patchOwners(
  client: KubeClient,
  res: ApiResource,
  obj: KubeObject,
  ownerReferences: OwnerReference[],
): Promise<KubeObject> {
  const { namespace, name, resourceVersion } = obj.metadata;
  return client.patch(res, namespace!, name!, "merge", {
    metadata: { resourceVersion, ownerReferences: ownerReferences.length ? ownerReferences : null },
  });
}

/** The owner, re-read from the server, must be the same object and not being deleted. */
export async function checkOwnerFresh(
  client: KubeClient,
  res: ApiResource,
  owner: KubeObject,
): Promise<void> {
  const { namespace, name, uid } = owner.metadata;
  const fresh = await client.get(res, namespace!, name!);
  if (fresh.metadata.uid !== uid)
    throw new Error(`original ${namespace}/${name} is gone: got uid ${fresh.metadata.uid}, wanted ${uid}`);
  if (fresh.metadata.deletionTimestamp)
    throw new Error(`${namespace}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
}
