// Adding and removing finalizers without clobbering other controllers' finalizers.
//
// Why JSON Patch guarded by a `test` of the finalizer list (and not a merge patch, or a test
// of resourceVersion): a merge patch replaces the whole list, so two controllers editing it at
// once lose one edit. Pinning resourceVersion prevents that, but then every unrelated write
// (kubelet status updates on pods are frequent) makes the patch fail. Testing the list itself
// fails only when the finalizers really changed underneath us; the server then answers 422,
// and we re-read the object and try again.

import { isConflict, isInvalid, isNotFound } from "./errors.ts";
import type { KubeObject } from "./objects.ts";
import type { JsonPatchOp, Patcher } from "./patch.ts";
import type { ApiResource } from "./resource.ts";

export interface FinalizerOptions {
  /** Attempts when the list keeps changing underneath. Default 5. */
  maxAttempts?: number;
  fieldManager?: string;
}

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/** Ensures `finalizer` is on the object; answers the updated object (or `obj` if it was already there). */
export async function addFinalizer<T extends KubeObject>(
  client: Patcher,
  res: ApiResource,
  obj: T,
  finalizer: string,
  opts: FinalizerOptions = {},
): Promise<T> {
  const result = await editFinalizers(client, res, obj, opts, (list) =>
    list.includes(finalizer) ? undefined : [...list, finalizer],
  );
  if (!result) throw new Error(`${obj.metadata.name} vanished while adding finalizer ${finalizer}`);
  return result;
}

/**
 * Ensures `finalizer` is not on the object; answers the updated object (its final state, if
 * that was the last finalizer of an object being deleted), `obj` if it had no such finalizer,
 * or undefined when the object is already gone.
 */
export function removeFinalizer<T extends KubeObject>(
  client: Patcher,
  res: ApiResource,
  obj: T,
  finalizer: string,
  opts: FinalizerOptions = {},
): Promise<T | undefined> {
  return editFinalizers(client, res, obj, opts, (list) =>
    list.includes(finalizer) ? list.filter((f) => f !== finalizer) : undefined,
  );
}

async function editFinalizers<T extends KubeObject>(
  client: Patcher,
  res: ApiResource,
  obj: T,
  opts: FinalizerOptions,
  edit: (list: string[]) => string[] | undefined,
): Promise<T | undefined> {
  const namespace = obj.metadata.namespace ?? "";
  const name = obj.metadata.name ?? "";
  const maxAttempts = opts.maxAttempts ?? 5;
  let current = obj;
  for (let attempt = 1; ; attempt++) {
    const list = current.metadata.finalizers ?? [];
    const next = edit(list);
    if (!next) return current;
    try {
      return await client.patch<T>(res, namespace, name, "json", finalizerPatch(current, next), {
        fieldManager: opts.fieldManager,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (!(isInvalid(err) || isConflict(err)) || attempt >= maxAttempts) throw err;
      let fresh: T;
      try {
        fresh = await client.get<T>(res, namespace, name);
      } catch (getErr) {
        if (isNotFound(getErr)) return undefined;
        throw getErr;
      }
      // The list we tested is still there, so the 422 was about something else (e.g. adding a
      // finalizer to an object being deleted): retrying cannot help.
      if (isInvalid(err) && sameList(fresh.metadata.finalizers ?? [], list)) throw err;
      current = fresh;
    }
  }
}

function finalizerPatch(obj: KubeObject, next: string[]): JsonPatchOp[] {
  const list = obj.metadata.finalizers;
  // An absent list cannot be tested for; pin the version instead (rare: only the first finalizer).
  if (!list || list.length === 0) {
    return [
      { op: "test", path: "/metadata/resourceVersion", value: obj.metadata.resourceVersion },
      { op: "add", path: "/metadata/finalizers", value: next },
    ];
  }
  return [
    { op: "test", path: "/metadata/finalizers", value: list },
    { op: "replace", path: "/metadata/finalizers", value: next },
  ];
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
