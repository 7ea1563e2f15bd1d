// The pod-template-hash that names a Deployment's ReplicaSets and labels their pods.
//
// Upstream hashes the Go struct of the template (FNV-1a, 32 bit, plus the collision count)
// and, since Kubernetes 1.8, prints the number in a "safe" alphanumeric encoding
// (`demo-5d4b8f9c7`). We hash a canonical JSON of the template with the same FNV-1a and the
// same collision-count suffix, but print the number in decimal, as Kubernetes did before 1.8:
// the names then read like the seed's `demo-914545731` / `demo-914545731-ralez`. The values
// differ from upstream's either way (a Go struct dump cannot be reproduced from JSON); what
// matters is that the hash is stable for equal templates and changes when a template does.

export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

/**
 * JSON with sorted keys and without nulls, empty lists and empty maps, so templates that are
 * semantically equal (as apimachinery's Semantic.DeepEqual sees nil and empty) print the same.
 */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(prune(v)) ?? "null";
}

function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? v.map((x) => prune(x) ?? null) : undefined;
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const p = prune((v as Record<string, unknown>)[k]);
      if (p !== undefined && p !== null) out[k] = p;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bit, continuing from `hash` (so input can be fed in parts). */
export function fnv1a32(data: Uint8Array, hash: number = FNV_OFFSET): number {
  let h = hash >>> 0;
  for (const byte of data) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h;
}

/**
 * The decimal pod-template-hash of a pod template. A collision count (status.collisionCount,
 * bumped when a ReplicaSet of that name exists with another template) is mixed in as upstream
 * does: its uint32 little-endian in an 8-byte buffer.
 */
export function computeTemplateHash(template: unknown, collisionCount?: number | null): string {
  let h = fnv1a32(new TextEncoder().encode(canonicalJson(template)));
  if (collisionCount != null) {
    const buf = new Uint8Array(8);
    new DataView(buf.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv1a32(buf, h);
  }
  return String(h);
}

/** The template without the pod-template-hash label (a copy; the input is not touched). */
function withoutHash(template: any): any {
  const labels = { ...(template?.metadata?.labels ?? {}) };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return { ...template, metadata: { ...(template?.metadata ?? {}), labels } };
}

/** Upstream's EqualIgnoreHash: semantic equality of two templates, ignoring pod-template-hash. */
export function templatesEqualIgnoringHash(a: unknown, b: unknown): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}
