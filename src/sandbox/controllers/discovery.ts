// What the API server serves, from legacy discovery (/api/v1, /apis, /apis/<g>/<v>): every
// top-level resource of every served version, with its kind and verbs. The garbage collector
// and the namespace controller use it to find what to watch, delete and look owners up in.
import type { KubeClient } from "../../kube/client.ts";
import type { ApiResource } from "../../kube/resource.ts";

export interface DiscoveredResource extends ApiResource {
  kind: string;
  verbs: readonly string[];
  /** Served in its group's preferred version (the version controllers watch and delete in). */
  preferred: boolean;
}

/** The part of KubeClient discovery needs. */
export type DiscoveryClient = Pick<KubeClient, "raw">;

interface ApiResourceList {
  resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
}

interface ApiGroupList {
  groups?: {
    name: string;
    versions?: { version: string }[];
    preferredVersion?: { version: string };
  }[];
}

/** `group/plural`: one resource, whatever version it is served in. */
export function resourceId(res: { group: string; plural: string }): string {
  return `${res.group}/${res.plural}`;
}

/** The group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``). */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf("/");
  return i < 0 ? "" : apiVersion.slice(0, i);
}

export function supports(res: DiscoveredResource, ...verbs: string[]): boolean {
  return verbs.every((v) => res.verbs.includes(v));
}

/** A snapshot of discovery. Group versions that failed to answer are listed, not guessed at. */
export class ResourceMap {
  readonly all: readonly DiscoveredResource[];
  /** `group/version` → why it could not be discovered. */
  readonly failures: ReadonlyMap<string, string>;
  private readonly byKind = new Map<string, DiscoveredResource>();

  constructor(resources: DiscoveredResource[], failures: Map<string, string> = new Map()) {
    this.all = resources;
    this.failures = failures;
    // Preferred versions first, so a lookup by group and kind alone finds the preferred one.
    const ordered = [...resources].sort((a, b) => Number(b.preferred) - Number(a.preferred));
    for (const r of ordered) {
      const exact = `${r.group}/${r.version}/${r.kind}`;
      if (!this.byKind.has(exact)) this.byKind.set(exact, r);
      const loose = `${r.group}//${r.kind}`;
      if (!this.byKind.has(loose)) this.byKind.set(loose, r);
    }
  }

  /** One entry per resource: the group's preferred version. */
  preferred(): DiscoveredResource[] {
    return this.all.filter((r) => r.preferred);
  }

  /**
   * The resource serving `kind` in `apiVersion`, or in another version of the same group when
   * that version is not served (an owner reference may name an older version).
   */
  forKind(apiVersion: string, kind: string): DiscoveredResource | undefined {
    const group = groupOf(apiVersion);
    const version = apiVersion.slice(group ? group.length + 1 : 0);
    return this.byKind.get(`${group}/${version}/${kind}`) ?? this.byKind.get(`${group}//${kind}`);
  }

  /** Whether discovery of `group` failed (so its resources may be missing from this map). */
  groupFailed(group: string): boolean {
    for (const gv of this.failures.keys()) if (groupOf(gv) === group) return true;
    return false;
  }
}

/**
 * Asks the server what it serves. A group version that fails is recorded in `failures` and
 * left out; only failing to read the group list itself rejects.
 */
export async function discover(client: DiscoveryClient, signal?: AbortSignal): Promise<ResourceMap> {
  const groups = (await client.raw("GET", "/apis", undefined, { signal })) as ApiGroupList;
  const wanted: { group: string; version: string; preferred: boolean }[] = [
    { group: "", version: "v1", preferred: true },
  ];
  for (const g of groups.groups ?? []) {
    const preferred = g.preferredVersion?.version ?? g.versions?.[0]?.version;
    for (const v of g.versions ?? [])
      wanted.push({ group: g.name, version: v.version, preferred: v.version === preferred });
  }
  const failures = new Map<string, string>();
  const lists = await Promise.all(
    wanted.map(async (gv) => {
      const path = gv.group ? `/apis/${gv.group}/${gv.version}` : `/api/${gv.version}`;
      try {
        return { gv, list: (await client.raw("GET", path, undefined, { signal })) as ApiResourceList };
      } catch (err) {
        failures.set(gv.group ? `${gv.group}/${gv.version}` : gv.version, String(err));
        return { gv, list: {} as ApiResourceList };
      }
    }),
  );
  const resources: DiscoveredResource[] = [];
  for (const { gv, list } of lists) {
    for (const r of list.resources ?? []) {
      if (r.name.includes("/")) continue; // a subresource
      resources.push({
        group: gv.group,
        version: gv.version,
        plural: r.name,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs ?? [],
        preferred: gv.preferred,
      });
    }
  }
  return new ResourceMap(resources, failures);
}
