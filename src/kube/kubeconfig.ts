// Turns a kubeconfig (or the in-cluster service account) into a ClientConfig, using
// @kubernetes/client-node's KubeConfig for the loading rules and auth plugins. Loaded lazily:
// the module costs ~0.3 s to import and tests of everything else never need it. Once loaded it
// stays resident (~40 MiB of code and source text), so long-lived processes can `isolate` the
// loading in a child process; only exec and auth-provider plugins, which must run again as
// credentials expire, then load it in-process.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ClientConfig, Headers } from "./client-config.ts";

export interface KubeConfigSource {
  /** A kubeconfig file; otherwise the default loading rules apply. */
  path?: string;
  /** Use the pod's service account, whatever else is configured. */
  inCluster?: boolean;
  /** Overrides the kubeconfig's current-context. */
  context?: string;
  /**
   * Read the kubeconfig in a child process, so this process never loads client-node (for
   * long-lived processes that care about memory). Costs one short-lived Node process.
   */
  isolate?: boolean;
}

/** A kubeconfig as the child process describes it (JSON-safe). */
export interface KubeConfigDescription {
  server: string;
  /** PEM data, base64. */
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  namespace?: string;
  headers: Headers;
  /**
   * How the credentials stay fresh: "static" (never change), "tokenFile" (re-read this file,
   * as client-node's file auth does), or "plugin" (exec or auth-provider: needs client-node).
   */
  refresh: "static" | "tokenFile" | "plugin";
  tokenFile?: string;
}

// Exec plugins and service-account tokens rotate; client-go re-reads token files once a minute.
const HEADER_REFRESH_MS = 60_000;

interface HttpsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
  headers?: Record<string, string>;
  auth?: string;
}

export async function loadClientConfig(source: KubeConfigSource = {}): Promise<ClientConfig> {
  if (source.isolate) {
    const described = await describeInChild(source);
    if (described.refresh !== "plugin") return fromDescription(described);
  }
  return loadInProcess(source);
}

async function loadKubeConfig(source: KubeConfigSource) {
  const { KubeConfig } = await import("@kubernetes/client-node/dist/config.js");
  const kc = new KubeConfig();
  if (source.inCluster) kc.loadFromCluster();
  else if (source.path) kc.loadFromFile(source.path);
  else kc.loadFromDefault();
  if (source.context) kc.setCurrentContext(source.context);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig has no cluster for context "${kc.getCurrentContext()}"`);
  return { kc, cluster };
}

/** Loads the kubeconfig with client-node and answers what a client needs (the child's job). */
export async function describeKubeConfig(source: KubeConfigSource): Promise<KubeConfigDescription> {
  const { kc, cluster } = await loadKubeConfig(source);
  const opts: HttpsOptions = {};
  await kc.applyToHTTPSOptions(opts as Parameters<typeof kc.applyToHTTPSOptions>[0]);
  const user = kc.getCurrentUser();
  const tokenFile: unknown = user?.authProvider?.config?.tokenFile;
  const refresh =
    user?.exec || (user?.authProvider && typeof tokenFile !== "string")
      ? "plugin"
      : typeof tokenFile === "string"
        ? "tokenFile"
        : "static";
  const b64 = (v: Buffer | undefined) => (v ? Buffer.from(v).toString("base64") : undefined);
  return {
    server: cluster.server,
    ca: b64(opts.ca),
    cert: b64(opts.cert),
    key: b64(opts.key),
    rejectUnauthorized: opts.rejectUnauthorized,
    servername: opts.servername,
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace?.trim() || undefined,
    headers: authHeaders(opts),
    refresh,
    tokenFile: refresh === "tokenFile" ? (tokenFile as string) : undefined,
  };
}

const CHILD = fileURLToPath(new URL("./kubeconfig-child.ts", import.meta.url));

function describeInChild(source: KubeConfigSource): Promise<KubeConfigDescription> {
  const { isolate: _i, ...rest } = source;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", CHILD, JSON.stringify(rest)],
      { timeout: 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(stderr.trim() || err.message));
        try {
          resolve(JSON.parse(stdout));
        } catch (e) {
          reject(new Error(`kubeconfig loader answered no JSON: ${String(e)}`));
        }
      },
    );
  });
}

function fromDescription(d: KubeConfigDescription): ClientConfig {
  const buf = (v: string | undefined) => (v ? Buffer.from(v, "base64") : undefined);
  const config: ClientConfig = {
    server: d.server,
    ca: buf(d.ca),
    cert: buf(d.cert),
    key: buf(d.key),
    rejectUnauthorized: d.rejectUnauthorized,
    servername: d.servername,
    namespace: d.namespace,
    headers: d.headers,
  };
  const tokenFile = d.tokenFile;
  if (d.refresh === "tokenFile" && tokenFile) {
    // Service-account tokens rotate: re-read the file once a minute, as client-node does.
    let headers = d.headers;
    let readAt = Date.now();
    config.headers = () => {
      if (Date.now() - readAt > HEADER_REFRESH_MS) {
        headers = { ...headers, Authorization: `Bearer ${readFileSync(tokenFile, "utf8").trim()}` };
        readAt = Date.now();
      }
      return headers;
    };
  }
  return config;
}

async function loadInProcess(source: KubeConfigSource): Promise<ClientConfig> {
  const { kc, cluster } = await loadKubeConfig(source);

  const apply = async (): Promise<HttpsOptions> => {
    const opts: HttpsOptions = {};
    // Typed for https.RequestOptions; only the fields above are read back.
    await kc.applyToHTTPSOptions(opts as Parameters<typeof kc.applyToHTTPSOptions>[0]);
    return opts;
  };
  const first = await apply();
  let headers = authHeaders(first);
  let fetchedAt = Date.now();
  let refreshing: Promise<void> | undefined;

  const contextName = kc.getCurrentContext();
  const namespace = kc.getContextObject(contextName)?.namespace;
  return {
    server: cluster.server,
    ca: first.ca,
    cert: first.cert,
    key: first.key,
    rejectUnauthorized: first.rejectUnauthorized,
    servername: first.servername,
    namespace: namespace?.trim() || undefined,
    headers: async () => {
      if (Date.now() - fetchedAt > HEADER_REFRESH_MS) {
        refreshing ??= apply()
          .then((o) => {
            headers = authHeaders(o);
            fetchedAt = Date.now();
          })
          .finally(() => {
            refreshing = undefined;
          });
        await refreshing;
      }
      return headers;
    },
  };
}

function authHeaders(opts: HttpsOptions): Headers {
  const h: Headers = { ...opts.headers };
  // Basic auth arrives as https' `auth` option rather than as a header.
  if (opts.auth && !h.Authorization) h.Authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
  return h;
}
