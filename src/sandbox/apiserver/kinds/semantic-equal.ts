// Upstream compares API objects with "semantic" equality, under which nil and empty lists and
// maps are the same. Comparing canonical JSON gives the same answers for our JSON objects.

/** JSON with sorted keys and without empty lists, empty maps or nulls. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(prune(v)) ?? "null";
}

function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? v.map(prune) : undefined;
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
