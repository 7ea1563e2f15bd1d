// Reading request JSON defensively: bodies are only loosely typed by the time a strategy sees
// them, and a malformed one must produce field errors, never a crash.

/** A JSON object read field by field; kind-specific shapes are not modelled as types. */
export type Json = Record<string, any>;

export const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);

/** The entries of a JSON list, with non-object entries read as empty objects (indices are kept). */
export const objects = (v: unknown): Json[] => (Array.isArray(v) ? v.map((x) => (isObject(x) ? x : {})) : []);

/** The entries of a JSON list as strings (non-strings read as ""), indices kept. */
export const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x : "")) : [];
