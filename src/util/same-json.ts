// Whether two values mean the same as JSON: key order, and a key absent or undefined, do not
// count (what an API server stores and echoes back against what a controller wants).
import { isDeepStrictEqual } from "node:util";

export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a) ?? "null"), JSON.parse(JSON.stringify(b) ?? "null"));
}
