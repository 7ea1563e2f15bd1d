// Patch helpers: JSON Pointer escaping, JSON Patch operations, and merge patches of metadata maps.

import type { KubeClient, PatchOptions } from "./client.ts";
import type { KubeObject } from "./objects.ts";
import type { ApiResource } from "./resource.ts";

export interface JsonPatchOp {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
}

/** The client calls the patch helpers make; KubeClient provides them. */
export type Patcher = Pick<KubeClient, "get" | "patch">;

/** A JSON Pointer (RFC 6901) from path segments, escaping `~` and `/` (as in annotation keys). */
export function jsonPointer(...segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/**
 * Sets annotations with a JSON merge patch; a `null` value removes that key. Other
 * annotations are untouched and no resourceVersion is involved, so it never conflicts.
 */
export function mergePatchAnnotations<T extends KubeObject = KubeObject>(
  client: Patcher,
  res: ApiResource,
  namespace: string,
  name: string,
  annotations: Record<string, string | null>,
  opts: PatchOptions = {},
): Promise<T> {
  return client.patch<T>(res, namespace, name, "merge", { metadata: { annotations } }, opts);
}

/** As mergePatchAnnotations, for labels. */
export function mergePatchLabels<T extends KubeObject = KubeObject>(
  client: Patcher,
  res: ApiResource,
  namespace: string,
  name: string,
  labels: Record<string, string | null>,
  opts: PatchOptions = {},
): Promise<T> {
  return client.patch<T>(res, namespace, name, "merge", { metadata: { labels } }, opts);
}
