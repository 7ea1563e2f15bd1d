// The contracts between the API server's generic machinery and the per-kind modules
// (strategies in kinds/, Table printers in tables/, schemas in openapi/).
import type { KubeObject } from "../../kube/objects.ts";
import type { FieldError } from "./errors.ts";

/** What a kind needs to say about itself so the generic REST code can serve it. */
export interface Strategy {
  /** Has a `status` subresource: writes to the main resource keep the old status, writes to /status keep everything else. */
  hasStatus: boolean;
  /** metadata.generation starts at 1 and is bumped when anything but metadata/status changes. */
  tracksGeneration: boolean;
  /** Fills defaults in place (runs on create and on every update, as upstream's defaulting does). */
  defaults?(obj: KubeObject): void;
  /** Clears or prepares fields before a create (e.g. status of a new Deployment); runs after defaults. */
  prepareForCreate?(obj: KubeObject): void;
  /** Carries over or derives fields on update (after defaults, before validation). */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  validate?(obj: KubeObject): FieldError[];
  /** Extra rules for updates (immutable fields); runs after validate. */
  validateUpdate?(obj: KubeObject, old: KubeObject): FieldError[];
  /** Rules for writes to the status subresource. */
  validateStatusUpdate?(obj: KubeObject, old: KubeObject): FieldError[];
  /** Field-selectable values beyond metadata.name and metadata.namespace (e.g. spec.nodeName). */
  selectableFields?(obj: KubeObject): Record<string, string>;
}

/** A metav1.TableColumnDefinition. */
export interface TableColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  description?: string;
  /** 0 = always shown; 1 = only with `-o wide`. */
  priority?: number;
}

/** Server-side printing for `kubectl get`: column set plus one row of cells per object. */
export interface TablePrinter {
  columns: TableColumn[];
  /** Cells in column order; `now` is the time to compute ages against (ms since epoch). */
  cells(obj: KubeObject, now: number): unknown[];
}

export interface CrdVersionInfo {
  /** The openAPIV3Schema of this version, if any. */
  schema?: Record<string, unknown>;
  printerColumns?: {
    name: string;
    type: string;
    jsonPath: string;
    description?: string;
    priority?: number;
    format?: string;
  }[];
}

/** One servable resource (a plural under a group/version). */
export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  verbs: string[];
  /** Subresource names this resource serves (status, scale, binding, log, exec, ...). */
  subresources: string[];
  /** The @kubernetes/client-node model class for built-in kinds (e.g. "V1Pod"). */
  model?: string;
  strategy: Strategy;
  table?: TablePrinter;
  /** Present for resources served from a CustomResourceDefinition. */
  crd?: CrdVersionInfo & { name: string; uid: string; storage: boolean; served: boolean };
}

export const apiVersionOf = (d: { group: string; version: string }) =>
  d.group ? `${d.group}/${d.version}` : d.version;

/** The etcd key prefix under which all objects of a resource live (ends with "/"). */
export const storagePrefix = (d: { group: string; plural: string }) =>
  d.group ? `/registry/${d.group}/${d.plural}/` : `/registry/${d.plural}/`;
