// Turns a kubeconfig (or the in-cluster service account) into a ClientConfig, using
// @kubernetes/client-node's KubeConfig for the loading rules and auth plugins. Loaded lazily:
// the module costs ~0.3 s to import and tests of everything else never need it.

import type { ClientConfig, Headers } from "./client.ts";

export interface KubeConfigSource {
  /** A kubeconfig file; otherwise the default loading rules apply. */
  path?: string;
  /** Use the pod's service account, whatever else is configured. */
  inCluster?: boolean;
  /** Overrides the kubeconfig's current-context. */
  context?: string;
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
  const { KubeConfig } = await import("@kubernetes/client-node/dist/config.js");
  const kc = new KubeConfig();
  if (source.inCluster) kc.loadFromCluster();
  else if (source.path) kc.loadFromFile(source.path);
  else kc.loadFromDefault();
  if (source.context) kc.setCurrentContext(source.context);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig has no cluster for context "${kc.getCurrentContext()}"`);

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
