// What an update may change in a running Pod's spec (upstream ValidatePodUpdate): container
// images, a shrinking activeDeadlineSeconds, added tolerations, removed scheduling gates, and
// nothing else.
import { type FieldError, forbidden, invalid, required } from "../errors.ts";
import { type Json, objects } from "./json.ts";
import { inclusiveRangeError } from "./names.ts";
import { validateTolerations } from "./pod-spec.ts";
import { canonicalJson } from "./semantic-equal.ts";

const MAX_INT32 = 2147483647;

export const UPDATABLE_POD_SPEC_FIELDS = [
  "`spec.containers[*].image`",
  "`spec.initContainers[*].image`",
  "`spec.activeDeadlineSeconds`",
  "`spec.tolerations` (only additions to existing tolerations)",
  "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
];

function containerUpdates(next: unknown, prev: unknown, path: string): { errs: FieldError[]; stop: boolean } {
  const n = objects(next);
  if (n.length !== objects(prev).length)
    return { errs: [forbidden(path, "pod updates may not add or remove containers")], stop: true };
  const errs: FieldError[] = [];
  n.forEach((c, i) => {
    if (!c.image) errs.push(required(`${path}[${i}].image`, ""));
    if (typeof c.image === "string" && c.image.trim() !== c.image)
      errs.push(invalid(`${path}[${i}].image`, c.image, "must not have leading or trailing whitespace"));
  });
  return { errs, stop: false };
}

function onlyAddedTolerations(next: unknown, prev: unknown, path: string): FieldError[] {
  for (const old of objects(prev)) {
    const found = objects(next).some(
      (t) => canonicalJson({ ...old, tolerationSeconds: t.tolerationSeconds }) === canonicalJson(t),
    );
    if (!found)
      return [forbidden(path, "existing toleration can not be modified except its tolerationSeconds")];
  }
  return validateTolerations(next, path);
}

function onlyDeletedGates(next: unknown, prev: unknown, path: string): FieldError[] {
  const before = new Set(objects(prev).map((g) => g.name));
  const errs: FieldError[] = [];
  objects(next).forEach((g, i) => {
    if (!before.has(g.name))
      errs.push(
        forbidden(
          `${path}[${i}].name`,
          `only deletion is allowed, but found new scheduling gate '${g.name}'`,
        ),
      );
  });
  return errs;
}

/** A short account of what differs, in place of upstream's cmp.Diff of the Go structs. */
export function describeSpecDiff(prev: unknown, next: unknown): string {
  const lines: string[] = [];
  const walk = (a: unknown, b: unknown, at: string) => {
    if (canonicalJson(a) === canonicalJson(b)) return;
    const bothObjects =
      a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b);
    if (bothObjects) {
      const keys = new Set([...Object.keys(a as Json), ...Object.keys(b as Json)]);
      for (const k of [...keys].sort((x, y) => (Array.isArray(a) ? Number(x) - Number(y) : x < y ? -1 : 1)))
        walk((a as Json)[k], (b as Json)[k], Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k);
      return;
    }
    if (a !== undefined) lines.push(`- \t${at}: ${JSON.stringify(a)}`);
    if (b !== undefined) lines.push(`+ \t${at}: ${JSON.stringify(b)}`);
  };
  walk(prev, next, "");
  return ["  core.PodSpec{", ...lines, "  }", ""].join("\n");
}

/** Spec rules for a Pod update (metadata rules are checked separately). */
export function validatePodSpecUpdate(pod: Json, old: Json): FieldError[] {
  const spec: Json = pod.spec ?? {};
  const prev: Json = old.spec ?? {};
  const errs: FieldError[] = [];
  for (const key of ["containers", "initContainers"]) {
    const r = containerUpdates(spec[key], prev[key], `spec.${key}`);
    errs.push(...r.errs);
    if (r.stop) return errs;
  }
  const ads = spec.activeDeadlineSeconds;
  const oldAds = prev.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) {
    if (ads < 0 || ads > MAX_INT32)
      return [...errs, invalid("spec.activeDeadlineSeconds", ads, inclusiveRangeError(0, MAX_INT32))];
    if (oldAds !== undefined && oldAds !== null && oldAds < ads)
      return [
        ...errs,
        invalid("spec.activeDeadlineSeconds", ads, "must be less than or equal to previous value"),
      ];
  } else if (oldAds !== undefined && oldAds !== null) {
    errs.push(
      invalid("spec.activeDeadlineSeconds", null, "must not update from a positive integer to nil value"),
    );
  }
  errs.push(...onlyAddedTolerations(spec.tolerations, prev.tolerations, "spec.tolerations"));
  errs.push(...onlyDeletedGates(spec.schedulingGates, prev.schedulingGates, "spec.schedulingGates"));
  if (canonicalJson(spec) === canonicalJson(prev)) return errs;
  // Take the mutable fields from the old spec; whatever still differs is forbidden.
  const munged: Json = structuredClone(spec);
  objects(munged.containers).forEach((c, i) => {
    c.image = objects(prev.containers)[i]?.image;
  });
  objects(munged.initContainers).forEach((c, i) => {
    c.image = objects(prev.initContainers)[i]?.image;
  });
  munged.activeDeadlineSeconds = prev.activeDeadlineSeconds;
  munged.schedulingGates = prev.schedulingGates;
  munged.tolerations = prev.tolerations;
  if (
    typeof prev.terminationGracePeriodSeconds === "number" &&
    prev.terminationGracePeriodSeconds < 0 &&
    munged.terminationGracePeriodSeconds === 1
  )
    munged.terminationGracePeriodSeconds = prev.terminationGracePeriodSeconds;
  if (canonicalJson(munged) !== canonicalJson(prev))
    errs.push(
      forbidden(
        "spec",
        `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(",")}\n${describeSpecDiff(prev, munged)}`,
      ),
    );
  return errs;
}
