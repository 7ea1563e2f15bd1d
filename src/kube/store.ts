// The informer's cache: objects by `namespace/name`, plus user-defined secondary indexes
// (client-go's cache.Indexer). Indexes are recomputed from the old object on every change, so
// nothing but the objects themselves and the index sets is kept.

import { type KubeObject, objectKey } from "./objects.ts";

/** The index values of an object, e.g. its node name or its owners' UIDs. */
export type IndexFunc<T> = (obj: T) => string[];

export const NAMESPACE_INDEX = "namespace";

/** Indexes objects by namespace, as client-go's MetaNamespaceIndexFunc. */
export function namespaceIndex(obj: KubeObject): string[] {
  return obj.metadata.namespace ? [obj.metadata.namespace] : [];
}

interface Index<T> {
  fn: IndexFunc<T>;
  byValue: Map<string, Set<string>>;
}

export class Store<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexes = new Map<string, Index<T>>();

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }

  /** Registers an index and builds it over the objects already cached. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexes.has(name)) throw new Error(`index ${name} already exists`);
    const index: Index<T> = { fn, byValue: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.items) addToIndex(index, key, obj);
  }

  /** Objects whose index function returned `value`. */
  byIndex(name: string, value: string): T[] {
    const keys = this.indexKeys(name, value);
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.items.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** Keys of the objects whose index function returned `value`. */
  indexKeys(name: string, value: string): string[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`index ${name} does not exist`);
    return [...(index.byValue.get(value) ?? [])];
  }

  /** The values an index currently holds. */
  indexValues(name: string): string[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`index ${name} does not exist`);
    return [...index.byValue.keys()];
  }

  /** Inserts or replaces; answers the previous object. */
  set(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    this.items.set(key, obj);
    for (const index of this.indexes.values()) {
      if (old) removeFromIndex(index, key, old);
      addToIndex(index, key, obj);
    }
    return old;
  }

  /** Removes; answers the object that was cached. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.items.delete(key);
    for (const index of this.indexes.values()) removeFromIndex(index, key, old);
    return old;
  }
}

function addToIndex<T>(index: Index<T>, key: string, obj: T): void {
  for (const value of index.fn(obj)) {
    let keys = index.byValue.get(value);
    if (!keys) {
      keys = new Set();
      index.byValue.set(value, keys);
    }
    keys.add(key);
  }
}

function removeFromIndex<T>(index: Index<T>, key: string, obj: T): void {
  for (const value of index.fn(obj)) {
    const keys = index.byValue.get(value);
    if (!keys) continue;
    keys.delete(key);
    // Drop empty sets so values that come and go (node names, owner UIDs) don't accumulate.
    if (keys.size === 0) index.byValue.delete(value);
  }
}
