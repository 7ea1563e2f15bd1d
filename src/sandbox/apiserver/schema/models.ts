// The structural schema of the built-in Kubernetes types, read from the model classes that
// @kubernetes/client-node generates from the upstream OpenAPI spec (each class carries an
// `attributeTypeMap`). One source of truth for field validation, patch metadata and OpenAPI.
import * as models from "@kubernetes/client-node/dist/gen/models/all.js";

export type FieldType =
  | { kind: "string"; format?: string }
  | { kind: "integer"; format?: string }
  | { kind: "number"; format?: string }
  | { kind: "boolean" }
  | { kind: "int-or-string" }
  | { kind: "any" }
  | { kind: "array"; items: FieldType }
  | { kind: "map"; values: FieldType }
  | { kind: "ref"; model: string };

export interface ModelField {
  /** JSON name of the field. */
  name: string;
  type: FieldType;
}

interface AttributeType {
  baseName: string;
  type: string;
  format: string;
}

const cache = new Map<string, ModelField[] | null>();

export function parseFieldType(type: string, format = ""): FieldType {
  const t = type.trim();
  if (t.startsWith("Array<") && t.endsWith(">"))
    return { kind: "array", items: parseFieldType(t.slice(6, -1)) };
  const map = /^\{ \[key: string\]: (.*); \}$/.exec(t);
  if (map) return { kind: "map", values: parseFieldType(map[1]) };
  switch (t) {
    case "string":
      return format ? { kind: "string", format } : { kind: "string" };
    case "Date":
      return { kind: "string", format: format || "date-time" };
    case "number":
      return format === "int32" || format === "int64"
        ? { kind: "integer", format }
        : { kind: "number", ...(format ? { format } : {}) };
    case "boolean":
      return { kind: "boolean" };
    case "IntOrString":
      return { kind: "int-or-string" };
    case "any":
    case "object":
      return { kind: "any" };
    default:
      return { kind: "ref", model: t };
  }
}

/** Fields of a generated model (e.g. "V1PodSpec"), or undefined for an unknown name. */
export function modelFields(name: string): ModelField[] | undefined {
  let fields = cache.get(name);
  if (fields === undefined) {
    const cls = (models as Record<string, any>)[name];
    const map: AttributeType[] | undefined = cls?.attributeTypeMap;
    fields = map ? map.map((a) => ({ name: a.baseName, type: parseFieldType(a.type, a.format) })) : null;
    cache.set(name, fields);
  }
  return fields ?? undefined;
}

export function modelField(model: string, field: string): FieldType | undefined {
  return modelFields(model)?.find((f) => f.name === field)?.type;
}

export function hasModel(name: string): boolean {
  return modelFields(name) !== undefined;
}

/** All model names the library knows. */
export function allModelNames(): string[] {
  return Object.keys(models).filter((k) =>
    Array.isArray((models as Record<string, any>)[k]?.attributeTypeMap),
  );
}
