// Container resource requirements: canonical quantities (defaulting), request/limit rules
// (validation) and the pod QoS class they imply.
import { type FieldError, forbidden, invalid, required } from "../errors.ts";
import { isObject, objects } from "./json.ts";
import { NEGATIVE } from "./meta.ts";
import { qualifiedName } from "./names.ts";
import {
  compareQuantity,
  formatQuantity,
  isNegative,
  milliValue,
  type Quantity,
  roundUpToMilli,
  tryParseQuantity,
} from "./quantity.ts";

type ResourceList = Record<string, unknown>;

interface Requirements {
  limits?: ResourceList;
  requests?: ResourceList;
  claims?: { name?: string; request?: string }[];
}

const STANDARD_CONTAINER_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage"]);
const STANDARD_RESOURCES = new Set([
  ...STANDARD_CONTAINER_RESOURCES,
  "pods",
  "services",
  "replicationcontrollers",
  "resourcequotas",
  "secrets",
  "configmaps",
  "persistentvolumeclaims",
  "storage",
  "requests.cpu",
  "requests.memory",
  "requests.ephemeral-storage",
  "requests.storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
  "services.nodeports",
  "services.loadbalancers",
]);

const isHugePages = (name: string) => name.startsWith("hugepages-");
/** Native resources are unprefixed or under kubernetes.io/. */
const isNative = (name: string) => !name.includes("/") || name.includes("kubernetes.io/");
/** Extended (device-plugin) resources may not be overcommitted, and neither may huge pages. */
const overcommitAllowed = (name: string) => isNative(name) && !isHugePages(name);
const isIntegerResource = (name: string) => !isNative(name);

/** Rewrites every parseable quantity in a resource list to its canonical milli-rounded text. */
export function canonicalizeResourceList(list: ResourceList | undefined): void {
  if (!isObject(list)) return;
  for (const [k, v] of Object.entries(list)) {
    const q = tryParseQuantity(v);
    if (typeof q !== "string") list[k] = formatQuantity(roundUpToMilli(q));
  }
}

function validateResourceName(name: string, path: string): FieldError[] {
  const errs = qualifiedName(name).map((msg) => invalid(path, name, msg));
  if (errs.length) return errs;
  if (!name.includes("/")) {
    if (!STANDARD_RESOURCES.has(name) && !isHugePages(name))
      errs.push(invalid(path, name, "must be a standard resource type or fully qualified"));
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !isHugePages(name))
      errs.push(invalid(path, name, "must be a standard resource for containers"));
  } else if (!isNative(name) && name.startsWith("requests.")) {
    // Extended resource names may not collide with quota's "requests." namespace.
    errs.push(invalid(path, name, "doesn't follow extended resource name standard"));
  }
  return errs;
}

function validateQuantity(name: string, raw: unknown, path: string): { q?: Quantity; errs: FieldError[] } {
  const q = tryParseQuantity(raw);
  if (typeof q === "string") return { errs: [invalid(path, raw, q)] };
  const errs: FieldError[] = [];
  if (isNegative(q)) errs.push(invalid(path, formatQuantity(q), NEGATIVE));
  if (isIntegerResource(name) && milliValue(q) % 1000n !== 0n)
    errs.push(invalid(path, formatQuantity(q), "must be an integer"));
  return { q, errs };
}

/** upstream validateResourceRequirements for a container. */
export function validateResourceRequirements(res: Requirements | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(res)) return errs;
  const limPath = `${path}.limits`;
  const reqPath = `${path}.requests`;
  const limits = new Map<string, Quantity>();
  let limCpuMem = false;
  let reqCpuMem = false;
  let hugePages = false;
  for (const [name, raw] of Object.entries(isObject(res.limits) ? res.limits : {})) {
    const p = `${limPath}[${name}]`;
    errs.push(...validateResourceName(name, p));
    const { q, errs: qErrs } = validateQuantity(name, raw, p);
    errs.push(...qErrs);
    if (q) limits.set(name, q);
    if (isHugePages(name)) hugePages = true;
    if (name === "cpu" || name === "memory") limCpuMem = true;
  }
  for (const [name, raw] of Object.entries(isObject(res.requests) ? res.requests : {})) {
    const p = `${reqPath}[${name}]`;
    errs.push(...validateResourceName(name, p));
    const { q, errs: qErrs } = validateQuantity(name, raw, p);
    errs.push(...qErrs);
    const limit = limits.get(name);
    if (q && limit) {
      const cmp = compareQuantity(q, limit);
      if (cmp !== 0 && !overcommitAllowed(name))
        errs.push(
          invalid(reqPath, formatQuantity(q), `must be equal to ${name} limit of ${formatQuantity(limit)}`),
        );
      else if (cmp > 0)
        errs.push(
          invalid(
            reqPath,
            formatQuantity(q),
            `must be less than or equal to ${name} limit of ${formatQuantity(limit)}`,
          ),
        );
    } else if (!limits.has(name) && !overcommitAllowed(name)) {
      errs.push(required(limPath, "Limit must be set for non overcommitable resources"));
    }
    if (isHugePages(name)) hugePages = true;
    if (name === "cpu" || name === "memory") reqCpuMem = true;
  }
  if (hugePages && !limCpuMem && !reqCpuMem) errs.push(forbidden(path, "HugePages require cpu or memory"));
  return errs;
}

/** The effective requests of a container: limits stand in for missing requests (pods default so). */
function effectiveRequests(res: Requirements | undefined): ResourceList {
  return { ...(isObject(res?.limits) ? res.limits : {}), ...(isObject(res?.requests) ? res.requests : {}) };
}

const positive = (v: unknown) => {
  const q = tryParseQuantity(v);
  return typeof q !== "string" && q.n > 0n;
};

/** The pod's QoS class from its containers' cpu and memory requests and limits. */
export function computeQOSClass(spec: {
  containers?: { resources?: Requirements }[];
  initContainers?: { resources?: Requirements }[];
}): string {
  const all = [...objects(spec.initContainers), ...objects(spec.containers)];
  let anySet = false;
  let guaranteed = true;
  for (const c of all) {
    const req = effectiveRequests(c.resources);
    const lim: ResourceList = isObject(c.resources?.limits) ? c.resources.limits : {};
    for (const r of ["cpu", "memory"]) {
      if (positive(req[r]) || positive(lim[r])) anySet = true;
      const rq = tryParseQuantity(req[r]);
      const lq = tryParseQuantity(lim[r]);
      if (typeof rq === "string" || typeof lq === "string" || compareQuantity(rq, lq) !== 0)
        guaranteed = false;
    }
  }
  if (!anySet) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}
