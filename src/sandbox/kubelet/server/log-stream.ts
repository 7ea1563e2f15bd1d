// Streams a CRI log file as `kubectl logs` output: partial records joined into lines,
// since/tail/limitBytes/timestamps applied, and with follow, the file tailed (surviving a
// rotation: the path reopened once it names a new file) until the container stops.
import type { FileHandle } from "node:fs/promises";
import { open, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { type CriLogRecord, parseCriLogLine } from "./cri-log.ts";
import type { LogOptions } from "./log-options.ts";

/** Where the output goes; write resolves when more may be written (backpressure). */
export interface LogOutput {
  write(chunk: Buffer): Promise<void>;
}

export interface FollowControl {
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /** Whether the container still writes this log; following ends once it does not. */
  stillRunning(): Promise<boolean>;
  /** How often to look for new data at the end of the file. */
  pollMs?: number;
  /** How often to ask stillRunning while no new data arrives. */
  runningCheckMs?: number;
}

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

/** Reached limitBytes: stops reading at once. */
class LimitReached extends Error {}

/** Turns records into output bytes; tracks where a line starts and the byte limit. */
class LineWriter {
  private midLine = false;
  private skipping = false;
  private remaining: number;
  private readonly opts: LogOptions;
  private readonly out: LogOutput;

  constructor(opts: LogOptions, out: LogOutput) {
    this.opts = opts;
    this.out = out;
    this.remaining = opts.limitBytes ?? Number.POSITIVE_INFINITY;
  }

  async record(rec: CriLogRecord): Promise<void> {
    if (!this.midLine) {
      this.skipping = this.opts.sinceMs !== undefined && rec.timeMs < this.opts.sinceMs;
      if (!this.skipping && this.opts.timestamps) await this.emit(Buffer.from(`${rec.timestamp} `));
    }
    this.midLine = rec.partial;
    if (this.skipping) return;
    await this.emit(rec.partial ? rec.content : Buffer.concat([rec.content, Buffer.from("\n")]));
  }

  private async emit(buf: Buffer): Promise<void> {
    if (buf.length === 0) return;
    const part = buf.length > this.remaining ? buf.subarray(0, this.remaining) : buf;
    this.remaining -= part.length;
    await this.out.write(part);
    if (this.remaining <= 0) throw new LimitReached();
  }
}

/** Splits bytes into complete lines, keeping an unterminated tail for the next chunk. */
class LineSplitter {
  private carry = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const lines: Buffer[] = [];
    let start = 0;
    for (let i = data.indexOf(NEWLINE); i >= 0; i = data.indexOf(NEWLINE, start)) {
      lines.push(data.subarray(start, i));
      start = i + 1;
    }
    // Copy so the carry does not pin (or alias) the reused read buffer.
    this.carry = Buffer.from(data.subarray(start));
    return lines;
  }

  reset(): void {
    this.carry = Buffer.alloc(0);
  }
}

/** Malformed lines are skipped, as the kubelet does. */
function parseLines(lines: Buffer[]): CriLogRecord[] {
  const out: CriLogRecord[] = [];
  for (const l of lines) {
    try {
      out.push(parseCriLogLine(l));
    } catch {
      // not a CRI record (e.g. a torn write): skip it
    }
  }
  return out;
}

/** The last `n` lines (each: its partial records plus the full one), after the since filter. */
class TailBuffer {
  private readonly lines: CriLogRecord[][] = [];
  private current: CriLogRecord[] = [];
  private readonly n: number;
  private readonly sinceMs?: number;

  constructor(n: number, sinceMs?: number) {
    this.n = n;
    this.sinceMs = sinceMs;
  }

  add(rec: CriLogRecord): void {
    this.current.push(rec);
    if (!rec.partial) this.finishLine();
  }

  private finishLine(): void {
    const line = this.current;
    this.current = [];
    if (this.sinceMs !== undefined && line[0].timeMs < this.sinceMs) return;
    this.lines.push(line);
    if (this.lines.length > this.n) this.lines.shift();
  }

  /** The kept records in order; an unfinished line at the end counts as a line. */
  drain(): CriLogRecord[] {
    if (this.current.length) this.finishLine();
    return this.lines.flat();
  }
}

class LogFile {
  private fh?: FileHandle;
  private ino = 0;
  private pos = 0;
  private readonly buf = Buffer.alloc(CHUNK);
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async open(): Promise<void> {
    const fh = await open(this.path, "r");
    const ino = (await fh.stat()).ino;
    await this.fh?.close();
    this.fh = fh;
    this.ino = ino;
    this.pos = 0;
  }

  /** The next chunk from the current position; empty at end of file. */
  async read(): Promise<Buffer> {
    const { bytesRead } = await this.fh!.read(this.buf, 0, CHUNK, this.pos);
    this.pos += bytesRead;
    return this.buf.subarray(0, bytesRead);
  }

  /** True when the path now names another file (rotated, or re-created). */
  async rotated(): Promise<boolean> {
    try {
      return (await stat(this.path)).ino !== this.ino;
    } catch {
      return false; // gone for now; the new file has not appeared yet
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

/**
 * Writes the log at `path` to `out`. Without `follow` (or opts.follow false) it stops at the
 * end of the file; with it, it waits for more until follow.stillRunning() says the container
 * has stopped (then reads what is left), the signal aborts, or limitBytes is reached.
 */
export async function streamCriLog(
  path: string,
  opts: LogOptions,
  out: LogOutput,
  follow?: FollowControl,
): Promise<void> {
  const file = new LogFile(path);
  await file.open();
  const writer = new LineWriter(opts, out);
  const splitter = new LineSplitter();
  try {
    // 1. What the file holds now: through the tail buffer when tailLines is set.
    const tail = opts.tailLines !== undefined ? new TailBuffer(opts.tailLines, opts.sinceMs) : undefined;
    for (let chunk = await file.read(); chunk.length; chunk = await file.read()) {
      for (const rec of parseLines(splitter.push(chunk))) {
        if (tail) tail.add(rec);
        else await writer.record(rec);
      }
    }
    if (tail) for (const rec of tail.drain()) await writer.record(rec);
    if (!opts.follow || !follow) return;
    await followFile(file, splitter, writer, follow);
  } catch (err) {
    if (!(err instanceof LimitReached)) throw err;
  } finally {
    await file.close();
  }
}

async function followFile(
  file: LogFile,
  splitter: LineSplitter,
  writer: LineWriter,
  ctl: FollowControl,
): Promise<void> {
  const pollMs = ctl.pollMs ?? 200;
  const runningCheckMs = ctl.runningCheckMs ?? 1000;
  let lastCheck = Date.now();
  /** Reads to the current end of the file; true when anything was read. */
  const drain = async (): Promise<boolean> => {
    let any = false;
    for (let chunk = await file.read(); chunk.length; chunk = await file.read()) {
      any = true;
      for (const rec of parseLines(splitter.push(chunk))) await writer.record(rec);
    }
    return any;
  };
  while (!ctl.signal?.aborted) {
    if (await drain()) continue;
    if (await file.rotated()) {
      // Whatever reached the old file before the rename is read first.
      await drain();
      const reopened = await file.open().then(
        () => true,
        () => false, // renamed away again before we opened it: look again after a pause
      );
      if (reopened) {
        splitter.reset();
        continue;
      }
    }
    if (Date.now() - lastCheck >= runningCheckMs) {
      lastCheck = Date.now();
      if (!(await ctl.stillRunning())) {
        await drain();
        return;
      }
    }
    try {
      await sleep(pollMs, undefined, { signal: ctl.signal });
    } catch {
      return; // aborted
    }
  }
}
