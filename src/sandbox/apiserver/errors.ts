// Kubernetes-style errors: every failure leaves the server as a metav1.Status with the
// reason, code and (for 422) field causes that kubectl and client libraries expect.

export type StatusReason =
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Gone"
  | "Invalid"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "RequestEntityTooLarge"
  | "UnsupportedMediaType"
  | "TooManyRequests"
  | "InternalError"
  | "Timeout"
  | "ServiceUnavailable"
  | "Expired";

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details?: StatusDetails;
  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Status {
    const s: Status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** A resource as errors name it: `pods`, `deployments.apps`. */
export interface QualifiedResource {
  group: string;
  resource: string;
}

const qualified = (r: QualifiedResource) => (r.group ? `${r.resource}.${r.group}` : r.resource);

export const errNotFound = (r: QualifiedResource, name: string) =>
  new ApiError(404, "NotFound", `${qualified(r)} "${name}" not found`, {
    name,
    group: r.group || undefined,
    kind: r.resource,
  });

export const errAlreadyExists = (r: QualifiedResource, name: string) =>
  new ApiError(409, "AlreadyExists", `${qualified(r)} "${name}" already exists`, {
    name,
    group: r.group || undefined,
    kind: r.resource,
  });

export const errConflict = (r: QualifiedResource, name: string, why: string) =>
  new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, {
    name,
    group: r.group || undefined,
    kind: r.resource,
  });

export const errBadRequest = (message: string) => new ApiError(400, "BadRequest", message);
export const errGone = (message: string) => new ApiError(410, "Expired", message);
export const errMethodNotAllowed = (message: string) => new ApiError(405, "MethodNotAllowed", message);
export const errForbidden = (message: string, details?: StatusDetails) =>
  new ApiError(403, "Forbidden", message, details);
export const errInternal = (message: string) =>
  new ApiError(500, "InternalError", `Internal error occurred: ${message}`);

// ---- field errors (k8s.io/apimachinery/pkg/util/validation/field) ----

export type FieldErrorType =
  | "FieldValueRequired"
  | "FieldValueInvalid"
  | "FieldValueNotSupported"
  | "FieldValueDuplicate"
  | "FieldValueForbidden"
  | "FieldValueTooLong"
  | "FieldValueTooMany"
  | "FieldValueTypeInvalid"
  | "FieldValueNotFound";

export interface FieldError {
  type: FieldErrorType;
  field: string;
  /** The detail after the type's own words, e.g. the explanation of an Invalid value. */
  detail?: string;
  value?: unknown;
  /** Print the value (Invalid, NotSupported, Duplicate, NotFound do). */
  showValue?: boolean;
}

/** A value already printed the way Go's %#v would print it (e.g. `map[string]string{"a":"b"}`). */
export class GoValue {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

function formatValue(v: unknown): string {
  if (v instanceof GoValue) return v.text;
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || v === undefined) return "null";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** The message k8s prints for one field error, without the field path. */
export function fieldErrorBody(e: FieldError): string {
  const detail = e.detail ? `: ${e.detail}` : "";
  switch (e.type) {
    case "FieldValueRequired":
      return `Required value${detail}`;
    case "FieldValueForbidden":
      return `Forbidden${detail}`;
    case "FieldValueTooLong":
      return `Too long${detail}`;
    case "FieldValueTooMany":
      return `Too many${detail}`;
    case "FieldValueInvalid":
      return `Invalid value: ${formatValue(e.value)}${detail}`;
    case "FieldValueNotSupported":
      return `Unsupported value: ${formatValue(e.value)}${detail}`;
    case "FieldValueDuplicate":
      return `Duplicate value: ${formatValue(e.value)}${detail}`;
    case "FieldValueNotFound":
      return `Not found: ${formatValue(e.value)}${detail}`;
    case "FieldValueTypeInvalid":
      return `Invalid value: ${formatValue(e.value)}${detail}`;
  }
}

export const required = (field: string, detail?: string): FieldError => ({
  type: "FieldValueRequired",
  field,
  detail,
});
export const invalid = (field: string, value: unknown, detail?: string): FieldError => ({
  type: "FieldValueInvalid",
  field,
  value,
  detail,
});
export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError => ({
  type: "FieldValueNotSupported",
  field,
  value,
  detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`,
});
export const duplicate = (field: string, value: unknown): FieldError => ({
  type: "FieldValueDuplicate",
  field,
  value,
});
export const forbidden = (field: string, detail: string): FieldError => ({
  type: "FieldValueForbidden",
  field,
  detail,
});
export const tooLong = (field: string, max: number): FieldError => ({
  type: "FieldValueTooLong",
  field,
  detail: `must have at most ${max} bytes`,
});

/** 422 Invalid: `Pod "x" is invalid: spec.containers[0].image: Required value`. */
export function errInvalid(kind: string, group: string, name: string, errs: FieldError[]): ApiError {
  const parts = errs.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`;
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  return new ApiError(422, "Invalid", `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    name,
    group: group || undefined,
    kind,
    causes: errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
  });
}
