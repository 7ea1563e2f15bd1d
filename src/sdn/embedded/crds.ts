// The raven.io CustomResourceDefinitions: loaded from deploy/crds/*.yaml (the same files users
// `kubectl apply`), installed by create-or-update, and waited on until the API server serves them.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { isAlreadyExists, isConflict } from "../../kube/errors.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { CRDS } from "../../kube/resource.ts";
import type { CrClient } from "./store.ts";

/** deploy/crds in the source tree. */
export const CRDS_DIR = fileURLToPath(new URL("../../../deploy/crds/", import.meta.url));

/** Every CRD in `dir`'s *.yaml files (file name order). */
export function loadCrds(dir: string = CRDS_DIR): KubeObject[] {
  const out: KubeObject[] = [];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort();
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
      const obj = doc.toJS() as KubeObject | null;
      if (!obj) continue;
      if (obj.kind !== "CustomResourceDefinition")
        throw new Error(`${file}: expected a CustomResourceDefinition, found ${obj.kind}`);
      out.push(obj);
    }
  }
  return out;
}

export interface InstallOptions {
  dir?: string;
  /** How long to wait for the CRDs to be Established. Default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

type CrdClient = Pick<CrClient, "get" | "create" | "update">;

/** Creates the CRDs, or updates those that differ, then waits until all are Established. */
export async function installCrds(client: CrdClient, opts: InstallOptions = {}): Promise<KubeObject[]> {
  const crds = loadCrds(opts.dir);
  for (const crd of crds) await apply(client, crd);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (const crd of crds) {
    for (;;) {
      opts.signal?.throwIfAborted();
      const live = await client.get(CRDS, "", crd.metadata.name!);
      if (condition(live, "Established")) break;
      if (Date.now() > deadline)
        throw new Error(`CRD ${crd.metadata.name} is not Established after ${opts.timeoutMs ?? 30_000} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return crds;
}

async function apply(client: CrdClient, crd: KubeObject): Promise<void> {
  try {
    await client.create(CRDS, crd);
    return;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  for (let attempt = 0; ; attempt++) {
    const live = await client.get(CRDS, "", crd.metadata.name!);
    const labels = { ...live.metadata.labels, ...crd.metadata.labels };
    if (sameJson(live.spec, { ...live.spec, ...crd.spec }) && sameJson(live.metadata.labels ?? {}, labels))
      return;
    try {
      await client.update(CRDS, {
        ...live,
        metadata: { ...live.metadata, labels },
        spec: { ...live.spec, ...crd.spec },
      });
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= 5) throw err;
    }
  }
}

const condition = (obj: KubeObject, type: string) =>
  (obj.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === type && c.status === "True",
  );

// Servers add defaults (conversion, listKind, ...) to what we send, so only what we set counts:
// `live` spread over by our fields equals `live` when nothing we set differs.
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}
