// An audit log of who did what (one JSON line per request, at the Metadata level), for
// checking RBAC manifests against what components really do.
import { createWriteStream, type WriteStream } from "node:fs";
/** One resource request, as RBAC sees it, and its outcome. */
export interface AuditEntry {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** When the request arrived (RFC 3339 with milliseconds, upstream's requestReceivedTimestamp). */
  ts: string;
  user: string;
  userAgent: string;
  code: number;
}

export class AuditLog {
  private readonly out: WriteStream;

  constructor(path: string) {
    this.out = createWriteStream(path, { flags: "a" });
  }

  record(e: AuditEntry): void {
    this.out.write(`${JSON.stringify(e)}\n`);
  }

  close(): Promise<void> {
    return new Promise((r) => this.out.end(() => r()));
  }
}
