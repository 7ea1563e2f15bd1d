// OpenAPI v3 publishing (explain, create/apply validation negotiation) and schema-based
// validation of request bodies (unknown fields, custom resources).

export type { Gvk } from "./cr-schemas.ts";
export { crSchemaName } from "./cr-schemas.ts";
export {
  applySchemaDefaults,
  crdSchemaShapeErrors,
  dropNonNullableNulls,
  jsonTypeName,
  pruneUnknownFields,
  validateAgainstSchema,
  validateCrdSchemaShape,
} from "./crd-schema.ts";
export { fieldDescription, modelDescription, modelDocs } from "./descriptions.ts";
export type { JsonSchema } from "./json-schema.ts";
export type { OpenApiResponse } from "./responses.ts";
export { openApiV2Response, openApiV3Response } from "./responses.ts";
export { schemaNameOf } from "./schema-names.ts";
export {
  decodeErrorMessage,
  dropUnknownFields,
  strictDecodingMessage,
  unknownFieldMessage,
  unknownFields,
  unknownFieldsForSchema,
} from "./unknown-fields.ts";
export type {
  DocOptions,
  GroupVersionDocument,
  OpenApiDocument,
  OpenApiIndex,
  ResourceSource,
} from "./v3.ts";
export {
  buildGroupVersionDoc,
  buildIndex,
  documentHash,
  groupVersionPath,
  OPENAPI_V2_CONTENT_TYPE,
  OpenApiCache,
} from "./v3.ts";
