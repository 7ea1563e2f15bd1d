// One authenticated JSON call to an OpenStack service: the endpoint from the auth (catalog or
// configuration), the token in its header, one fresh authentication when the token is refused,
// and paging through collections that link to their next page.
import type { Auth } from "./auth.ts";
import type { ServiceType } from "./clouds.ts";
import { type HttpMethod, type JsonHttp, OpenStackError } from "./http.ts";

export type Query = Record<string, string | number | boolean | string[] | undefined>;

export function queryString(q: Query | undefined): string {
  if (!q) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) p.append(k, String(one));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** Told of every call: which service, which method, and how it ended (an HTTP status, or "error"). */
export type CallObserver = (service: ServiceType, method: HttpMethod, outcome: string) => void;

export class OpenStackClient {
  readonly auth: Auth;
  private readonly http: JsonHttp;
  private readonly observe: CallObserver | undefined;
  /** Path prefixes per service (its version), e.g. `/v2.0` for Neutron. */
  private readonly prefix: Record<ServiceType, string> = { network: "/v2.0", "load-balancer": "/v2" };

  constructor(auth: Auth, http: JsonHttp, observe?: CallObserver) {
    this.auth = auth;
    this.http = http;
    this.observe = observe;
  }

  async call<T>(
    service: ServiceType,
    method: HttpMethod,
    path: string,
    body?: unknown,
    query?: Query,
  ): Promise<T> {
    const base = await this.auth.endpoint(service);
    // A catalog entry may or may not carry the version already.
    const prefix = base.endsWith(this.prefix[service]) ? "" : this.prefix[service];
    const url = `${base}${prefix}${path}${queryString(query)}`;
    const send = async () => {
      try {
        const res = await this.http.send<T>(method, url, await this.auth.headers(), body);
        this.observe?.(service, method, String(res.status));
        return res.body;
      } catch (err) {
        this.observe?.(service, method, err instanceof OpenStackError ? String(err.status) : "error");
        throw err;
      }
    };
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof OpenStackError && err.status === 401)) throw err;
      // The token expired or was revoked early: authenticate again, once.
      this.auth.invalidate();
      return await send();
    }
  }

  /**
   * Every item of a collection (`key`, e.g. "ports"), following `<key>_links` "next" (Neutron
   * and Octavia page with limit and marker), `pageSize` at a time.
   */
  async list<T>(
    service: ServiceType,
    path: string,
    key: string,
    query: Query = {},
    pageSize = 500,
  ): Promise<T[]> {
    const out: T[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.call<Record<string, unknown>>(service, "GET", path, undefined, {
        ...query,
        limit: pageSize,
        marker,
      });
      const items = (page[key] ?? []) as (T & { id?: string })[];
      out.push(...items);
      const links = (page[`${key}_links`] ?? []) as { rel: string; href: string }[];
      const next = links.find((l) => l.rel === "next");
      if (!next || !items.length) return out;
      const m = new URL(next.href).searchParams.get("marker") ?? items.at(-1)?.id;
      if (!m || m === marker) return out;
      marker = m;
    }
  }
}
