// What a KubeClient needs to reach a server: its own module, so the kubeconfig loader can
// produce one without depending on the client.

export type Headers = Record<string, string>;

export interface ClientConfig {
  /** `https://host:port`, optionally with a path prefix. */
  server: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
  /** Sent with every request; a function is asked before each one, so tokens can rotate. */
  headers?: Headers | (() => Headers | Promise<Headers>);
  /** The kubeconfig context's namespace, for callers that want a default. */
  namespace?: string;
  /** Connections to the server; each open watch holds one for its lifetime. Default 1000. */
  connections?: number;
  /** Limit for an ordinary request to see headers, and for gaps in its body. Default 60 s. */
  requestTimeoutMs?: number;
  userAgent?: string;
}
