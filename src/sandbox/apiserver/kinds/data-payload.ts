// What ConfigMaps and Secrets share: base64 payloads, the 1 MiB size budget, and the
// `immutable: true` lock on their data.
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, forbidden } from "../errors.ts";
import { canonicalJson } from "./semantic-equal.ts";

/** The largest ConfigMap or Secret payload, in bytes. */
export const MAX_DATA_SIZE = 1024 * 1024;

/** Why `s` is not standard padded base64 (in Go's encoding/base64 wording), or undefined. */
export function base64Error(s: string): string | undefined {
  // Go's decoder skips line breaks.
  const text = s.replace(/[\r\n]/g, "");
  const bad = text.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return `illegal base64 data at input byte ${bad}`;
  const pad = text.indexOf("=");
  if (pad >= 0 && !/^={1,2}$/.test(text.slice(pad))) return `illegal base64 data at input byte ${pad}`;
  if (text.length % 4 !== 0) return `illegal base64 data at input byte ${text.length - (text.length % 4)}`;
  return undefined;
}

export const decodedLength = (s: string) => Buffer.from(s.replace(/[\r\n]/g, ""), "base64").length;

export const entries = (m: unknown): [string, unknown][] =>
  m && typeof m === "object" ? Object.entries(m as object) : [];

/** Once `immutable: true`, neither the flag nor the data may change. */
export function validateImmutableData(obj: KubeObject, old: KubeObject, keys: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (obj.immutable !== true) errs.push(forbidden("immutable", "field is immutable when `immutable` is set"));
  for (const key of keys)
    if (canonicalJson(obj[key]) !== canonicalJson(old[key]))
      errs.push(forbidden(key, "field is immutable when `immutable` is set"));
  return errs;
}
