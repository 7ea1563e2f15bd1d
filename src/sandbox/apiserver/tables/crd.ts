// Tables for custom resources, from a CRD version's additionalPrinterColumns, the way
// apiextensions-apiserver's tableconvertor builds them: NAME, then the declared columns (an AGE date
// column when none are declared). Each cell is the first value its JSONPath selects.
import type { KubeObject } from "../../../kube/objects.ts";
import type { TableColumn } from "../types.ts";
import { nameColumn } from "./columns.ts";
import { humanDuration } from "./duration.ts";
import { evaluateJsonPath, parseJsonPath, type Segment } from "./jsonpath.ts";
import type { RowPrinter } from "./printer.ts";

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

/** What the server serves when a CRD version declares no printer columns. */
const DEFAULT_COLUMNS: PrinterColumn[] = [
  {
    name: "Age",
    type: "date",
    jsonPath: ".metadata.creationTimestamp",
    description:
      "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  },
];

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A date cell: the age of an RFC 3339 timestamp ("<unknown>" for "", "<invalid>" when unparsable). */
function dateCell(value: unknown, now: number): unknown {
  if (typeof value !== "string") return null;
  if (value === "" || value === "null") return "<unknown>";
  const t = RFC3339.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(t) ? "<invalid>" : humanDuration(now - t);
}

/** Go's %v of a float64: shortest digits, exponent form below 1e-4 or from 1e+06 up ("1.5e+06"). */
function goFloat(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN";
  const [mantissa, exp] = n.toExponential().split("e");
  const e = Number(exp);
  if (e < -4 || e >= 6) return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  return String(n);
}

/** encoding/json's compact form: map keys sorted, <, > and & escaped. */
function goJson(v: unknown): string {
  const sortKeys = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sortKeys);
    if (x && typeof x === "object") {
      const o = x as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((k) => [k, sortKeys(o[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(sortKeys(v))
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026");
}

/** A "string" column's text, as jsonpath PrintResults renders one value. */
export function stringCell(value: unknown): string {
  if (value === null || value === undefined) return "<no value>";
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : goFloat(value);
  if (typeof value === "object") return goJson(value);
  return String(value);
}

/** cellForJSONValue: the typed cell, or null when the value does not fit the column type. */
export function typedCell(type: string, value: unknown, now: number): unknown {
  switch (type) {
    case "string":
      return stringCell(value);
    case "integer":
      return typeof value === "number" ? Math.trunc(value) : null;
    case "number":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    case "date":
      return dateCell(value, now);
    default:
      return null;
  }
}

/** The printer for one CRD version. A column whose JSONPath does not parse ends the column list, as upstream. */
export function crdPrinter(printerColumns: PrinterColumn[] | undefined): RowPrinter {
  const declared = printerColumns?.length ? printerColumns : DEFAULT_COLUMNS;
  const columns: TableColumn[] = [nameColumn()];
  const paths: { type: string; path: Segment[] }[] = [];
  for (const c of declared) {
    let path: Segment[];
    try {
      path = parseJsonPath(c.jsonPath);
    } catch {
      break;
    }
    paths.push({ type: c.type, path });
    columns.push({
      name: c.name,
      type: c.type as TableColumn["type"],
      format: c.format ?? "",
      description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      priority: c.priority ?? 0,
    });
  }
  return {
    columns,
    cells(obj: KubeObject, now: number) {
      return [
        obj.metadata.name,
        ...paths.map(({ type, path }) => {
          const found = evaluateJsonPath(path, obj);
          // Upstream takes the first match only, even for [*] paths.
          return found.length ? typedCell(type, found[0], now) : null;
        }),
      ];
    },
  };
}
