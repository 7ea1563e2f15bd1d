// Builds the meta.k8s.io/v1 Table that `kubectl get` asks for (Accept: ...;as=Table;g=meta.k8s.io).
import type { KubeObject } from "../../../kube/objects.ts";
import type { TableColumn, TablePrinter } from "../types.ts";
import type { RowCondition, RowPrinter } from "./printer.ts";

/** ?includeObject: what each row carries besides its cells. */
export type IncludeObject = "None" | "Metadata" | "Object";

export interface TableOptions {
  /** The list's (or single object's) resourceVersion; kubectl starts `get -w` from it. */
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
  /** Metadata (default): PartialObjectMetadata per row; Object: the whole object; None: nothing. */
  includeObject?: IncludeObject;
  /** Time to compute ages against (ms since epoch). */
  now: number;
  /** Leave columnDefinitions empty (watch events after the first). */
  noHeaders?: boolean;
}

export interface TableRow {
  cells: unknown[];
  conditions?: RowCondition[];
  object?: KubeObject | PartialObjectMetadata;
}

export interface PartialObjectMetadata {
  kind: "PartialObjectMetadata";
  apiVersion: "meta.k8s.io/v1";
  metadata: KubeObject["metadata"];
}

export interface Table {
  kind: "Table";
  apiVersion: "meta.k8s.io/v1";
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

function rowObject(obj: KubeObject, include: IncludeObject): TableRow["object"] {
  if (include === "None") return undefined;
  if (include === "Object") return obj;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata };
}

export function buildTable(printer: TablePrinter, objects: KubeObject[], opts: TableOptions): Table {
  const include = opts.includeObject ?? "Metadata";
  const rows = objects.map((obj) => {
    const row: TableRow = { cells: printer.cells(obj, opts.now) };
    const conditions = (printer as RowPrinter).conditions?.(obj);
    if (conditions?.length) row.conditions = conditions;
    const object = rowObject(obj, include);
    if (object) row.object = object;
    return row;
  });
  const metadata: Table["metadata"] = {};
  if (opts.resourceVersion) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    // A copy: callers may blank or edit it (watch events) without touching the shared printer.
    columnDefinitions: opts.noHeaders ? [] : [...printer.columns],
    rows,
  };
}
