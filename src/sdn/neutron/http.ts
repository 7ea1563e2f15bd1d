// JSON over HTTP to an OpenStack service, on undici: a deadline per request, retries with
// backoff where a retry cannot do harm (connection errors and 5xx for idempotent methods; for a
// POST only a refused connection, which never reached the service), and errors that say what
// failed without a token or password in them.
import { Agent, type Dispatcher, request } from "undici";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE" | "PATCH";

/** An answer other than 2xx from an OpenStack API. */
export class OpenStackError extends Error {
  readonly status: number;
  /** Neutron's `NeutronError.type` (e.g. IpAddressAlreadyAllocated), Octavia's `faultstring` kind. */
  readonly type: string | undefined;
  readonly method: HttpMethod;
  readonly path: string;
  constructor(status: number, method: HttpMethod, path: string, type: string | undefined, detail: string) {
    super(`${method} ${path}: ${status}${type ? ` ${type}` : ""}: ${detail}`);
    this.status = status;
    this.type = type;
    this.method = method;
    this.path = path;
  }
}

/** The service could not be reached, or did not answer in time, after the retries. */
export class OpenStackUnavailable extends Error {}

export interface HttpOptions {
  /** Per request, headers to answer. Default 30 s. */
  timeoutMs?: number;
  /** Attempts for a retryable failure. Default 5. */
  attempts?: number;
  /** The first backoff; doubles each time (with jitter). Default 200 ms. */
  backoffMs?: number;
  dispatcher?: Dispatcher;
  /** TLS: a CA bundle (PEM) and whether to verify at all. */
  ca?: string;
  verify?: boolean;
  sleep?: (ms: number) => Promise<void>;
}

export interface JsonResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

const RETRY_STATUS = new Set([500, 502, 503, 504]);
/** Connection errors that mean the request never reached the service. */
const REFUSED = new Set(["ECONNREFUSED", "ENOENT", "UND_ERR_CONNECT_TIMEOUT"]);

export class JsonHttp {
  private readonly o: Required<Omit<HttpOptions, "ca" | "verify" | "dispatcher">>;
  private readonly dispatcher: Dispatcher;

  constructor(opts: HttpOptions = {}) {
    this.o = {
      timeoutMs: opts.timeoutMs ?? 30_000,
      attempts: opts.attempts ?? 5,
      backoffMs: opts.backoffMs ?? 200,
      sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    };
    this.dispatcher =
      opts.dispatcher ??
      new Agent({
        connections: 16,
        connect: { ca: opts.ca, rejectUnauthorized: opts.verify ?? true },
      });
  }

  /**
   * `method url` with `body` as JSON; answers the parsed JSON (undefined for an empty body).
   * `path` is what errors name (the URL without its origin).
   */
  async send<T>(
    method: HttpMethod,
    url: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<JsonResponse<T>> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.once<T>(method, url, headers, body);
      if (!("retry" in r)) return r;
      if (attempt >= this.o.attempts) throw r.retry;
      const base = this.o.backoffMs * 2 ** (attempt - 1);
      await this.o.sleep(base / 2 + Math.random() * base);
    }
  }

  /** One attempt: the answer, a failure worth retrying, or (thrown) one that is not. */
  private async once<T>(
    method: HttpMethod,
    url: string,
    headers: Record<string, string>,
    body: unknown,
  ): Promise<JsonResponse<T> | { retry: Error }> {
    const path = new URL(url).pathname;
    const idempotent = method !== "POST" && method !== "PATCH";
    let status: number;
    let resHeaders: JsonResponse<T>["headers"];
    let text: string;
    try {
      const res = await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
      });
      status = res.statusCode;
      resHeaders = res.headers;
      text = await res.body.text();
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      const e = new OpenStackUnavailable(`${method} ${path}: ${code || (err as Error).message}`);
      // A POST that may have reached the service is not sent twice (it could create twice).
      if (idempotent || REFUSED.has(code)) return { retry: e };
      throw e;
    }
    if (status >= 200 && status < 300)
      return { status, headers: resHeaders, body: (text ? JSON.parse(text) : undefined) as T };
    const err = errorOf(status, method, path, text);
    if (idempotent && RETRY_STATUS.has(status)) return { retry: err };
    throw err;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/** The error an OpenStack API answered, with its type and message when it says them. */
function errorOf(status: number, method: HttpMethod, path: string, text: string): OpenStackError {
  let type: string | undefined;
  let detail = text.slice(0, 300);
  try {
    const j = JSON.parse(text);
    // Neutron: {"NeutronError": {"type", "message", "detail"}}; Octavia: {"faultcode",
    // "faultstring", "debuginfo"}; Keystone: {"error": {"code", "title", "message"}}.
    if (j?.NeutronError) {
      type = j.NeutronError.type;
      detail = j.NeutronError.message ?? detail;
    } else if (j?.faultstring !== undefined) {
      detail = String(j.faultstring);
      type = j.faultcode;
    } else if (j?.error) {
      type = j.error.title;
      detail = j.error.message ?? detail;
    } else if (j?.message) detail = String(j.message);
  } catch {
    // Not JSON (a proxy's HTML page): keep the start of the text.
  }
  return new OpenStackError(status, method, path, type, detail);
}
