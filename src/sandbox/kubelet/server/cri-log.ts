// The CRI container log format containerd writes, one record per line:
//   <RFC3339Nano timestamp> <stdout|stderr> <tags> <content>
// where the first tag is F (full: the content ends a line) or P (partial: the line goes on in
// the next record, as containerd splits lines longer than its buffer). Content is raw bytes.

export interface CriLogRecord {
  /** The timestamp exactly as written (what `--timestamps` prints). */
  timestamp: string;
  /** The timestamp in epoch milliseconds (for sinceTime / sinceSeconds). */
  timeMs: number;
  stream: "stdout" | "stderr";
  partial: boolean;
  content: Buffer;
}

const SPACE = 0x20;

/** Parses one record (without its trailing newline); throws on a line that is not a CRI record. */
export function parseCriLogLine(line: Buffer): CriLogRecord {
  const s1 = line.indexOf(SPACE);
  if (s1 <= 0) throw new Error("timestamp is not found");
  const timestamp = line.subarray(0, s1).toString("latin1");
  const timeMs = Date.parse(timestamp);
  if (Number.isNaN(timeMs)) throw new Error(`unexpected timestamp format ${JSON.stringify(timestamp)}`);
  const s2 = line.indexOf(SPACE, s1 + 1);
  if (s2 < 0) throw new Error("stream type is not found");
  const stream = line.subarray(s1 + 1, s2).toString("latin1");
  if (stream !== "stdout" && stream !== "stderr")
    throw new Error(`unexpected stream type ${JSON.stringify(stream)}`);
  // Tags end at the next space; a record with empty content may end right after them.
  let s3 = line.indexOf(SPACE, s2 + 1);
  if (s3 < 0) s3 = line.length;
  const tags = line
    .subarray(s2 + 1, s3)
    .toString("latin1")
    .split(":");
  if (tags[0] !== "P" && tags[0] !== "F") throw new Error(`unexpected log tag ${JSON.stringify(tags[0])}`);
  return {
    timestamp,
    timeMs,
    stream,
    partial: tags[0] === "P",
    content: line.subarray(Math.min(s3 + 1, line.length)),
  };
}

/** Formats a record as containerd writes it (used by tests and fakes). */
export function formatCriLogLine(
  time: Date | string,
  stream: "stdout" | "stderr",
  partial: boolean,
  content: string,
): string {
  const ts = typeof time === "string" ? time : time.toISOString();
  return `${ts} ${stream} ${partial ? "P" : "F"} ${content}\n`;
}
