// Splits a byte stream into lines for watch responses (one JSON event per line). Works on bytes
// so a multi-byte character cut between two chunks is decoded whole.

const NEWLINE = 0x0a;

export class LineSplitter {
  private parts: Buffer[] = [];

  /** The complete lines this chunk finishes, without their newlines. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, i);
      if (this.parts.length > 0) {
        this.parts.push(piece);
        lines.push(Buffer.concat(this.parts).toString("utf8"));
        this.parts = [];
      } else {
        lines.push(piece.toString("utf8"));
      }
      start = i + 1;
    }
    if (start < chunk.length) this.parts.push(chunk.subarray(start));
    return lines;
  }

  /** Whatever followed the last newline, when the stream ends without one. */
  end(): string | undefined {
    if (this.parts.length === 0) return undefined;
    const rest = Buffer.concat(this.parts).toString("utf8");
    this.parts = [];
    return rest;
  }
}
