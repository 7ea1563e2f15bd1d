// Connects the generic server to the per-kind modules: strategies (kinds/), Table printers
// (tables/) and schemas (openapi/), and builds the strategy of custom resources from their
// CRD's structural schema.
import { strategyFor } from "./kinds/index.ts";
import { dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from "./kinds/meta.ts";
import {
  applySchemaDefaults,
  decodeErrorMessage,
  dropUnknownFields,
  type JsonSchema,
  pruneUnknownFields,
  strictDecodingMessage,
  unknownFields,
  unknownFieldsForSchema,
  validateAgainstSchema,
} from "./openapi/index.ts";
import type { RegistryDeps } from "./registry.ts";
import type { SchemaChecks } from "./rest.ts";
import { crdPrinter, printerFor } from "./tables/index.ts";
import type { ResourceDef, Strategy } from "./types.ts";

function crStrategy(crd: any, version: any): Strategy {
  const schema: JsonSchema | undefined = version.schema?.openAPIV3Schema;
  const namespaced = crd.spec?.scope !== "Cluster";
  return {
    hasStatus: Boolean(version.subresources?.status),
    tracksGeneration: true,
    defaults(obj) {
      if (!schema) return;
      pruneUnknownFields(schema, obj);
      applySchemaDefaults(schema, obj);
    },
    validate(obj) {
      const errs = validateObjectMeta(obj.metadata, {
        namespaced,
        nameValidator: dns1123Subdomain,
        kubeFinalizers: false,
      });
      if (schema) errs.push(...validateAgainstSchema(schema, obj));
      return errs;
    },
    validateUpdate(obj, old) {
      return validateObjectMetaUpdate(obj.metadata, old.metadata);
    },
  };
}

export const registryDeps: RegistryDeps = {
  strategyFor,
  printerFor,
  crdPrinter: (columns) => crdPrinter(columns as Parameters<typeof crdPrinter>[0]),
  crStrategy,
};

export const schemaChecks: SchemaChecks = {
  unknownFields(def: ResourceDef, obj: any): string[] {
    if (def.model) return unknownFields(def.model, obj);
    if (def.crd?.schema) return unknownFieldsForSchema(def.crd.schema as JsonSchema, obj);
    return [];
  },
  dropUnknownFields(def: ResourceDef, obj: any): void {
    // Custom resources are pruned by their strategy's defaults.
    if (def.model) dropUnknownFields(def.model, obj);
  },
  strictMessage(def: ResourceDef, paths: string[], isPatch: boolean): string {
    return isPatch ? strictDecodingMessage(paths) : decodeErrorMessage(def.kind, def.version, paths);
  },
};
