// The subset of an OpenAPI v3 / CRD structural schema (apiextensions JSONSchemaProps) that the
// validators, pruner and defaulter read. Schemas arrive as plain JSON from CRD objects.

export interface JsonSchema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: unknown;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  not?: JsonSchema;
  $ref?: string;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  [extension: string]: unknown;
}

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A schema for the values of a map node, or undefined when the node declares none. */
export function additionalSchema(s: JsonSchema): JsonSchema | undefined {
  const ap = s.additionalProperties;
  if (ap === true) return { "x-kubernetes-preserve-unknown-fields": true };
  return isObject(ap) ? (ap as JsonSchema) : undefined;
}

/** Field path helpers in upstream's notation: `spec.containers[0].name`, map keys as `.key`. */
export const childPath = (path: string, key: string) => (path ? `${path}.${key}` : key);
export const indexPath = (path: string, i: number) => `${path}[${i}]`;

export function cloneJson<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}
