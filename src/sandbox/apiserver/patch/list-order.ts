// The order of a list after a strategic merge, following upstream's rules
// (apimachinery strategicpatch normalizeElementOrder): items named by the patch keep the
// patch's relative order, items only the server had keep their original relative order, and
// the two runs are interleaved so that a server-only item stays in front of a patch item it
// preceded in the original list.
import { jsonEqual } from "./json-values.ts";

/** What identifies a list item: its merge-key value, or the value itself for primitives. */
export type ItemIdentity = (item: unknown) => unknown;

/**
 * Reorders `merged`. `patchOrder` is the list whose order the patch asks for (the patch list
 * itself or a `$setElementOrder` list); `serverOrder` is the original list.
 */
export function orderMergedList(
  merged: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  identity: ItemIdentity,
): unknown[] {
  const patchIds = patchOrder.map(identity);
  const serverIds = serverOrder.map(identity);
  const positionIn = (ids: unknown[], item: unknown) => {
    const id = identity(item);
    return ids.findIndex((other) => jsonEqual(other, id));
  };
  const byPosition = (ids: unknown[]) => (a: unknown, b: unknown) =>
    rank(positionIn(ids, a)) - rank(positionIn(ids, b));

  // Array.prototype.sort is stable, so items with equal positions keep their merged order.
  const fromPatch = merged.filter((item) => positionIn(patchIds, item) >= 0).sort(byPosition(patchIds));
  const serverOnly = merged.filter((item) => positionIn(patchIds, item) < 0).sort(byPosition(serverIds));

  const result: unknown[] = [];
  let s = 0;
  let p = 0;
  while (s < serverOnly.length || p < fromPatch.length) {
    if (p >= fromPatch.length) {
      result.push(serverOnly[s++]);
    } else if (s >= serverOnly.length) {
      result.push(fromPatch[p++]);
    } else {
      // A server-only item goes first only when both were in the original and it came first.
      const serverPos = positionIn(serverIds, serverOnly[s]);
      const patchPos = positionIn(serverIds, fromPatch[p]);
      if (serverPos >= 0 && patchPos >= 0 && serverPos < patchPos) result.push(serverOnly[s++]);
      else result.push(fromPatch[p++]);
    }
  }
  return result;
}

// Items not found sort after found ones.
const rank = (position: number) => (position < 0 ? Number.MAX_SAFE_INTEGER : position);
