// Shared fixtures for this directory's tests: ResourceDefs for the built-in resources and a
// CronTab custom resource whose schema exercises the structural-schema features.
import { BUILTIN_RESOURCES, STANDARD_VERBS } from "../builtin-resources.ts";
import type { ResourceDef, Strategy } from "../types.ts";
import type { JsonSchema } from "./json-schema.ts";

const NO_STRATEGY: Strategy = { hasStatus: false, tracksGeneration: false };

export function builtinDefs(): ResourceDef[] {
  return BUILTIN_RESOURCES.map((b) => ({
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
    strategy: NO_STRATEGY,
  }));
}

export const builtinDef = (plural: string): ResourceDef => builtinDefs().find((d) => d.plural === plural)!;

export const cronTabSchema = (): JsonSchema => ({
  type: "object",
  description: "CronTab runs an image on a schedule.",
  properties: {
    spec: {
      type: "object",
      description: "CronTabSpec is the desired state of a CronTab.",
      required: ["cronSpec"],
      properties: {
        cronSpec: {
          type: "string",
          description: "The schedule, in cron format.",
          pattern: "^(\\S+ ){4}\\S+$",
        },
        image: { type: "string", maxLength: 20 },
        replicas: { type: "integer", format: "int32", minimum: 1, maximum: 10, default: 1 },
        mode: {
          type: "string",
          enum: ["Allow", "Forbid"],
          default: "Allow",
          description: "Concurrency policy.",
        },
        ports: {
          type: "array",
          maxItems: 3,
          items: {
            type: "object",
            required: ["port"],
            properties: {
              name: { type: "string", default: "http" },
              port: { "x-kubernetes-int-or-string": true, description: "Port number or name." },
            },
          },
        },
        labels: { type: "object", additionalProperties: { type: "string", maxLength: 5 } },
        extra: {
          type: "object",
          "x-kubernetes-preserve-unknown-fields": true,
          properties: { known: { type: "object", properties: { a: { type: "string" } } } },
        },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          "x-kubernetes-preserve-unknown-fields": true,
        },
        note: { type: "string", nullable: true },
      },
    },
    status: {
      type: "object",
      default: {},
      properties: { phase: { type: "string", default: "Pending" }, replicas: { type: "integer" } },
    },
  },
});

export function cronTabDef(schema: JsonSchema = cronTabSchema()): ResourceDef {
  return {
    group: "stable.example.com",
    version: "v1",
    kind: "CronTab",
    listKind: "CronTabList",
    plural: "crontabs",
    singular: "crontab",
    shortNames: ["ct"],
    categories: [],
    namespaced: true,
    verbs: STANDARD_VERBS,
    subresources: ["status", "scale"],
    strategy: NO_STRATEGY,
    crd: { name: "crontabs.stable.example.com", uid: "u1", storage: true, served: true, schema },
  };
}
