// Server-owned metadata: uid, timestamps, generation and generated names.
import { randomBytes, randomUUID } from "node:crypto";
import { formatTime } from "../../kube/objects.ts";

// The alphabet upstream uses for generated name suffixes (no vowels, no look-alikes).
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

export function randomSuffix(n = 5): string {
  const bytes = randomBytes(n);
  let s = "";
  for (let i = 0; i < n; i++) s += ALPHANUMS[bytes[i] % ALPHANUMS.length];
  return s;
}

/** upstream: generateName is truncated so the result fits 63 characters. */
export function generateName(base: string): string {
  const max = 63 - 5;
  return (base.length > max ? base.slice(0, max) : base) + randomSuffix();
}

export function stampNew(obj: any, tracksGeneration: boolean): void {
  const m = obj.metadata;
  m.uid = randomUUID();
  m.creationTimestamp = formatTime();
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  delete m.selfLink;
  if (tracksGeneration) m.generation = 1;
  else delete m.generation;
  if (m.managedFields === null) delete m.managedFields;
}

/** Copies the fields clients may not change on update from the stored object. */
export function keepSystemMeta(next: any, old: any): void {
  const m = next.metadata;
  const o = old.metadata;
  m.uid = o.uid;
  m.creationTimestamp = o.creationTimestamp;
  if (o.deletionTimestamp) m.deletionTimestamp = o.deletionTimestamp;
  else delete m.deletionTimestamp;
  if (o.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
  else delete m.deletionGracePeriodSeconds;
  if (o.generation !== undefined) m.generation = o.generation;
  else delete m.generation;
  delete m.selfLink;
}

/** Everything but metadata and status, for deciding whether generation moves. */
export function specPart(obj: any): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

/** JSON equality ignoring resourceVersion (for no-op update detection). */
export function sameObject(a: any, b: any): boolean {
  const strip = (o: any) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return sameJson(strip(a), strip(b));
}

/**
 * Whether two values serialize to the same JSON up to object key order (undefined members
 * count as absent). A walk that stops at the first difference: every write asks this, and
 * most writes do change something.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return leafEqual(a, b);
  if (typeof (a as any).toJSON === "function" || typeof (b as any).toJSON === "function")
    return leafEqual(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const y = b as unknown[];
    if (a.length !== y.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i] ?? null, y[i] ?? null)) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    defined++;
    if (!Object.hasOwn(y, k) || !sameJson(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined) defined--;
  return defined === 0;
}

function leafEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
