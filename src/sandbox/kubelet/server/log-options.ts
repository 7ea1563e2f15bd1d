// PodLogOptions from a query string (the pod `log` subresource and the kubelet's
// /containerLogs use the same parameter names), validated with upstream's messages.

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  /** Only the last N lines (before following). */
  tailLines?: number;
  /** Stop after this many bytes of output. */
  limitBytes?: number;
  /** Only lines stamped at or after this time (epoch ms), from sinceSeconds or sinceTime. */
  sinceMs?: number;
}

export class LogOptionsError extends Error {}

/** Go's strconv.ParseBool, which is what the API server's query decoding accepts. */
function parseBool(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null || v === "") return false;
  if (["1", "t", "T", "true", "TRUE", "True"].includes(v)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(v)) return false;
  throw new LogOptionsError(`${name}: Invalid value: ${JSON.stringify(v)}: must be a boolean`);
}

function parseInteger(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d+$/.test(v))
    throw new LogOptionsError(`${name}: Invalid value: ${JSON.stringify(v)}: must be an integer`);
  return Number(v);
}

export function parseLogOptions(query: URLSearchParams, now = Date.now()): LogOptions {
  const tailLines = parseInteger(query, "tailLines");
  const limitBytes = parseInteger(query, "limitBytes");
  const sinceSeconds = parseInteger(query, "sinceSeconds");
  const sinceTime = query.get("sinceTime") || undefined;
  if (tailLines !== undefined && tailLines < 0)
    throw new LogOptionsError(`tailLines: Invalid value: ${tailLines}: must be greater than or equal to 0`);
  if (limitBytes !== undefined && limitBytes < 1)
    throw new LogOptionsError(`limitBytes: Invalid value: ${limitBytes}: must be greater than 0`);
  if (sinceSeconds !== undefined && sinceTime !== undefined)
    throw new LogOptionsError(
      "sinceSeconds: Forbidden: at most one of sinceTime or sinceSeconds may be specified",
    );
  if (sinceSeconds !== undefined && sinceSeconds < 1)
    throw new LogOptionsError(`sinceSeconds: Invalid value: ${sinceSeconds}: must be greater than 0`);
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = now - sinceSeconds * 1000;
  if (sinceTime !== undefined) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs) || !/^\d{4}-\d{2}-\d{2}T/.test(sinceTime))
      throw new LogOptionsError(
        `sinceTime: Invalid value: ${JSON.stringify(sinceTime)}: must be an RFC3339 time`,
      );
  }
  return {
    follow: parseBool(query, "follow"),
    previous: parseBool(query, "previous"),
    timestamps: parseBool(query, "timestamps"),
    tailLines,
    limitBytes,
    sinceMs,
  };
}
