// The set of resources being served: the built-ins plus one entry per served version of every
// established CustomResourceDefinition. Discovery, OpenAPI, routing and storage read it.
import { BUILTIN_RESOURCES, GROUP_ORDER, STANDARD_VERBS } from "./builtin-resources.ts";
import { REGISTRY_PREFIX } from "./storage/watch-cache.ts";
import type { ResourceDef, Strategy, TablePrinter } from "./types.ts";
import { storagePrefix } from "./types.ts";

export interface RegistryDeps {
  strategyFor(group: string, plural: string): Strategy;
  printerFor(group: string, plural: string): TablePrinter;
  crdPrinter(columns: NonNullable<ResourceDef["crd"]>["printerColumns"]): TablePrinter;
  /** Strategy for custom resources of one CRD version (schema validation, status subresource). */
  crStrategy(crd: any, version: any): Strategy;
}

export interface GroupInfo {
  group: string;
  versions: string[];
  preferred: string;
}

export class Registry {
  private builtins: ResourceDef[];
  private custom: ResourceDef[] = [];
  private index = new Map<string, ResourceDef>();
  private prefixes = new Map<string, ResourceDef>();
  /** Bumped whenever the served set changes (discovery and OpenAPI caches key on it). */
  generation = 0;
  private readonly deps: RegistryDeps;

  constructor(deps: RegistryDeps) {
    this.deps = deps;
    this.builtins = BUILTIN_RESOURCES.map((b) => ({
      group: b.group,
      version: b.version,
      kind: b.kind,
      listKind: `${b.kind}List`,
      plural: b.plural,
      singular: b.singular,
      shortNames: b.shortNames ?? [],
      categories: b.categories ?? [],
      namespaced: b.namespaced,
      verbs: b.verbs ?? STANDARD_VERBS,
      subresources: b.subresources ?? [],
      model: b.model,
      strategy: deps.strategyFor(b.group, b.plural),
      table: deps.printerFor(b.group, b.plural),
    }));
    this.rebuild();
  }

  /** Replaces the custom resources with those defined by `crds` (established, not being deleted). */
  setCrds(crds: any[]): void {
    const out: ResourceDef[] = [];
    for (const crd of crds) {
      const spec = crd.spec ?? {};
      const names = spec.names ?? {};
      for (const v of spec.versions ?? []) {
        if (!v.served) continue;
        const sub = v.subresources ?? {};
        out.push({
          group: spec.group,
          version: v.name,
          kind: names.kind,
          listKind: names.listKind ?? `${names.kind}List`,
          plural: names.plural,
          singular: names.singular ?? String(names.kind).toLowerCase(),
          shortNames: names.shortNames ?? [],
          categories: names.categories ?? [],
          namespaced: spec.scope !== "Cluster",
          verbs: STANDARD_VERBS,
          subresources: [...(sub.status ? ["status"] : []), ...(sub.scale ? ["scale"] : [])],
          strategy: this.deps.crStrategy(crd, v),
          table: this.deps.crdPrinter(v.additionalPrinterColumns),
          crd: {
            name: crd.metadata.name,
            uid: crd.metadata.uid,
            storage: Boolean(v.storage),
            served: true,
            schema: v.schema?.openAPIV3Schema,
            printerColumns: v.additionalPrinterColumns,
          },
        });
      }
    }
    this.custom = out;
    this.rebuild();
  }

  private rebuild(): void {
    this.index.clear();
    this.prefixes.clear();
    for (const d of [...this.builtins, ...this.custom]) {
      this.index.set(`${d.group}/${d.version}/${d.plural}`, d);
      const p = storagePrefix(d);
      if (!this.prefixes.has(p) || d.crd?.storage) this.prefixes.set(p, d);
    }
    this.generation++;
  }

  all(): ResourceDef[] {
    return [...this.builtins, ...this.custom];
  }

  lookup(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.index.get(`${group}/${version}/${plural}`);
  }

  /** The definition whose objects live under a storage prefix. */
  byPrefix(prefix: string): ResourceDef | undefined {
    return this.prefixes.get(prefix);
  }

  /** Any served definition of `group`/`kind` (preferring the storage version). */
  byKind(group: string, kind: string): ResourceDef | undefined {
    const matches = this.all().filter((d) => d.group === group && d.kind === kind);
    return matches.find((d) => !d.crd || d.crd.storage) ?? matches[0];
  }

  /** Groups with their served versions, in discovery order. */
  groups(): GroupInfo[] {
    const map = new Map<string, string[]>();
    for (const d of this.all()) {
      const vs = map.get(d.group) ?? [];
      if (!vs.includes(d.version)) vs.push(d.version);
      map.set(d.group, vs);
    }
    const order = (g: string) => {
      const i = GROUP_ORDER.indexOf(g);
      return i < 0 ? GROUP_ORDER.length : i;
    };
    return [...map.entries()]
      .sort(([a], [b]) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0))
      .map(([group, versions]) => {
        const sorted = sortVersions(versions);
        return { group, versions: sorted, preferred: sorted[0] };
      });
  }

  /**
   * Maps an etcd key to its resource's storage prefix. Keys of unknown resources map to their
   * two-segment prefix so the cache keeps them until a CRD claims (or deletes) them.
   */
  resolvePrefix = (key: string): string | undefined => {
    if (!key.startsWith(REGISTRY_PREFIX)) return undefined;
    const rest = key.slice(REGISTRY_PREFIX.length).split("/");
    const one = `${REGISTRY_PREFIX}${rest[0]}/`;
    if (this.prefixes.has(one)) return one;
    if (rest.length < 3) return undefined;
    const two = `${REGISTRY_PREFIX}${rest[0]}/${rest[1]}/`;
    if (this.prefixes.has(two) || rest[0].includes(".")) return two;
    return undefined;
  };
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first (v2 > v1 > v1beta2 > v1beta1 > v1alpha1). */
export function sortVersions(versions: string[]): string[] {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0, v] as const;
    const stage = m[2] === "alpha" ? 1 : m[2] === "beta" ? 2 : 3;
    return [stage, Number(m[1]), Number(m[3] ?? 0), v] as const;
  };
  return [...versions].sort((a, b) => {
    const pa = parse(a);
    const pb = parse(b);
    if (pa[0] !== pb[0]) return pb[0] - pa[0];
    if (pa[1] !== pb[1]) return pb[1] - pa[1];
    if (pa[2] !== pb[2]) return pb[2] - pa[2];
    return a < b ? -1 : 1;
  });
}
