// Errors from the API server, shaped after apimachinery's StatusError and its IsNotFound & co.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** metav1.Status as the API server sends it with failures (and with some deletes). */
export interface Status {
  kind?: "Status";
  apiVersion?: string;
  metadata?: Record<string, unknown>;
  status?: "Success" | "Failure";
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
}

/** The server answered with a failure status. */
export class KubeApiError extends Error {
  readonly code: number;
  /** The Status reason (`NotFound`, `Conflict`, `Expired`, …), or one derived from the code. */
  readonly reason: string;
  readonly status: Status;
  readonly method: string;
  readonly path: string;

  constructor(method: string, path: string, status: Status) {
    const code = status.code ?? 0;
    const reason = status.reason || reasonForCode(code);
    let text = `${method} ${path}: ${code} ${reason}: ${status.message ?? "(no message)"}`;
    // Watchers and relisting code look for this word; 410 comes as reason Gone or Expired.
    if (code === 410 && !/gone/i.test(text)) text += " (resource version gone)";
    super(text);
    this.name = "KubeApiError";
    this.code = code;
    this.reason = reason;
    this.status = status;
    this.method = method;
    this.path = path;
  }
}

/** The request never got an HTTP answer (connection refused, TLS failure, reset, timeout). */
export class KubeRequestError extends Error {
  readonly method: string;
  readonly path: string;
  constructor(method: string, path: string, cause: unknown) {
    super(`${method} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "KubeRequestError";
    this.method = method;
    this.path = path;
  }
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Gone",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export function reasonForCode(code: number): string {
  return REASONS[code] ?? "Unknown";
}

/**
 * Builds the Status for a failed response: the server's own Status when the body is one,
 * otherwise one synthesised from the code and the body text (proxies, load balancers).
 */
export function statusFromBody(code: number, body: string): Status {
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed === "object" && parsed.kind === "Status") {
      return { ...parsed, code: typeof parsed.code === "number" && parsed.code ? parsed.code : code };
    }
  } catch {
    // not JSON: fall through
  }
  const text = body.trim().slice(0, 500);
  return {
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    code,
    reason: reasonForCode(code),
    message: text || `the server responded with status ${code}`,
  };
}

// Like apimachinery, prefer the reason and fall back to the code when the reason is unknown.
function hasReason(err: unknown, reason: string, code: number): boolean {
  if (!(err instanceof KubeApiError)) return false;
  if (err.reason === reason) return true;
  return (err.reason === "Unknown" || err.reason === "") && err.code === code;
}

export const isNotFound = (err: unknown): boolean => hasReason(err, "NotFound", 404);
export const isAlreadyExists = (err: unknown): boolean => hasReason(err, "AlreadyExists", 409);
export const isInvalid = (err: unknown): boolean => hasReason(err, "Invalid", 422);
export const isForbidden = (err: unknown): boolean => hasReason(err, "Forbidden", 403);
export const isTooManyRequests = (err: unknown): boolean => hasReason(err, "TooManyRequests", 429);

/** An optimistic-concurrency conflict (409 Conflict; AlreadyExists is also 409 but not this). */
export const isConflict = (err: unknown): boolean => hasReason(err, "Conflict", 409);

/**
 * A write guarded by a uid precondition failed because its object is gone: deleted (404), or
 * replaced by another object of the same name (409, the uid precondition).
 */
export const isObjectGone = (err: unknown): boolean => isNotFound(err) || isConflict(err);

/** 410: the resource version (or list continuation) is too old; relist. Covers reasons Gone and Expired. */
export function isGone(err: unknown): boolean {
  return (
    err instanceof KubeApiError && (err.code === 410 || err.reason === "Gone" || err.reason === "Expired")
  );
}
