// Who Raven is to OpenStack and where each service is: a Keystone v3 token (password or
// application credential) with the service catalog it comes with, renewed before it expires and
// once more when a service answers 401; or, without Keystone, fixed endpoints. The token only
// ever travels in the X-Auth-Token header: never into a log line, an error or an Event.
import type { CloudConfig, ServiceType } from "./clouds.ts";
import { type JsonHttp, OpenStackError } from "./http.ts";

export interface Auth {
  /** Headers that authenticate a request (none without Keystone). */
  headers(): Promise<Record<string, string>>;
  /** The service's endpoint (no trailing slash), from the catalog or the configuration. */
  endpoint(service: ServiceType): Promise<string>;
  /** The token was refused (401): the next headers() authenticates again. */
  invalidate(): void;
  /** The project resources are created in, when known (Keystone's scope). */
  projectId(): Promise<string | undefined>;
}

const trim = (url: string) => url.replace(/\/+$/, "");

/** No Keystone: each service at its override, else at auth.endpoint. */
export class StaticAuth implements Auth {
  private readonly cloud: CloudConfig;
  constructor(cloud: CloudConfig) {
    this.cloud = cloud;
  }
  async headers() {
    return {};
  }
  async endpoint(service: ServiceType): Promise<string> {
    const url = this.cloud.endpointOverride[service] ?? this.cloud.auth.endpoint;
    if (!url) throw new Error(`cloud ${this.cloud.name}: no endpoint for ${service}`);
    return trim(url);
  }
  invalidate(): void {}
  async projectId() {
    return this.cloud.projectId;
  }
}

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; region?: string; region_id?: string; url: string }[];
}

interface Token {
  value: string;
  expiresAt: number;
  issuedAt: number;
  catalog: CatalogEntry[];
  projectId?: string;
}

/** Renew when this little of the token's life is left (and at least a minute). */
const RENEW_FRACTION = 0.1;

export class KeystoneAuth implements Auth {
  private readonly cloud: CloudConfig;
  private readonly http: JsonHttp;
  private readonly now: () => number;
  private token: Token | undefined;
  private pending: Promise<Token> | undefined;

  constructor(cloud: CloudConfig, http: JsonHttp, now: () => number = Date.now) {
    this.cloud = cloud;
    this.http = http;
    this.now = now;
  }

  async headers(): Promise<Record<string, string>> {
    return { "x-auth-token": (await this.current()).value };
  }

  async endpoint(service: ServiceType): Promise<string> {
    const override = this.cloud.endpointOverride[service];
    if (override) return trim(override);
    const { catalog } = await this.current();
    const entry = catalog.find((c) => c.type === service);
    const region = this.cloud.regionName;
    const ep = entry?.endpoints.find(
      (e) => e.interface === this.cloud.interface && (!region || (e.region_id ?? e.region) === region),
    );
    if (!ep)
      throw new Error(
        `the service catalog has no ${this.cloud.interface} ${service} endpoint${region ? ` in region ${region}` : ""}`,
      );
    return trim(ep.url);
  }

  invalidate(): void {
    this.token = undefined;
  }

  async projectId(): Promise<string | undefined> {
    return (await this.current()).projectId;
  }

  private async current(): Promise<Token> {
    const t = this.token;
    if (t) {
      const left = t.expiresAt - this.now();
      const renewAt = Math.max(60_000, (t.expiresAt - t.issuedAt) * RENEW_FRACTION);
      if (left > renewAt) return t;
    }
    // One authentication at a time, whoever asks.
    this.pending ??= this.authenticate().finally(() => {
      this.pending = undefined;
    });
    this.token = await this.pending;
    return this.token;
  }

  private async authenticate(): Promise<Token> {
    const a = this.cloud.auth;
    const base = trim(a.auth_url!);
    const url = `${/\/v3$/.test(base) ? base : `${base}/v3`}/auth/tokens`;
    const domain = (name?: string, id?: string) =>
      id
        ? { id }
        : name
          ? { name }
          : a.domain_id
            ? { id: a.domain_id }
            : { name: a.domain_name ?? "Default" };
    const identity =
      this.cloud.authType === "v3applicationcredential"
        ? {
            methods: ["application_credential"],
            application_credential: a.application_credential_id
              ? { id: a.application_credential_id, secret: a.application_credential_secret }
              : {
                  name: a.application_credential_name,
                  secret: a.application_credential_secret,
                  user: a.user_id
                    ? { id: a.user_id }
                    : { name: a.username, domain: domain(a.user_domain_name, a.user_domain_id) },
                },
          }
        : {
            methods: ["password"],
            password: {
              user: a.user_id
                ? { id: a.user_id, password: a.password }
                : {
                    name: a.username,
                    password: a.password,
                    domain: domain(a.user_domain_name, a.user_domain_id),
                  },
            },
          };
    // An application credential carries its own scope; a password is scoped to the project.
    const scope =
      this.cloud.authType === "v3applicationcredential"
        ? undefined
        : a.project_id
          ? { project: { id: a.project_id } }
          : a.project_name
            ? {
                project: { name: a.project_name, domain: domain(a.project_domain_name, a.project_domain_id) },
              }
            : undefined;
    let res: Awaited<ReturnType<JsonHttp["send"]>>;
    try {
      res = await this.http.send<unknown>(
        "POST",
        url,
        {},
        { auth: { identity, ...(scope ? { scope } : {}) } },
      );
    } catch (err) {
      if (err instanceof OpenStackError && err.status === 401)
        throw new OpenStackError(401, "POST", err.path, err.type, "Keystone refused the credentials");
      throw err;
    }
    const value = res.headers["x-subject-token"];
    const body = res.body as {
      token?: {
        expires_at?: string;
        issued_at?: string;
        catalog?: CatalogEntry[];
        project?: { id?: string };
      };
    };
    if (typeof value !== "string" || !body?.token?.expires_at)
      throw new Error(`Keystone at ${url} answered without a token`);
    const now = this.now();
    return {
      value,
      expiresAt: Date.parse(body.token.expires_at),
      issuedAt: body.token.issued_at ? Date.parse(body.token.issued_at) : now,
      catalog: body.token.catalog ?? [],
      projectId: body.token.project?.id,
    };
  }
}
