import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { formatCriLogLine, parseCriLogLine } from "./cri-log.ts";
import { type LogOptions, LogOptionsError, parseLogOptions } from "./log-options.ts";
import { type LogOutput, streamCriLog } from "./log-stream.ts";

const T0 = Date.parse("2024-05-01T10:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace(".000Z", ".123456789Z");
const line = (s: number, text: string, partial = false, stream: "stdout" | "stderr" = "stdout") =>
  formatCriLogLine(at(s), stream, partial, text);

function tempLog(t: TestContext, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "raven-log-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "0.log");
  writeFileSync(path, content);
  return path;
}

function collector(): LogOutput & { text(): string } {
  const chunks: Buffer[] = [];
  return {
    write: async (b) => {
      chunks.push(Buffer.from(b));
    },
    text: () => Buffer.concat(chunks).toString(),
  };
}

const opts = (o: Partial<LogOptions> = {}): LogOptions => ({
  follow: false,
  previous: false,
  timestamps: false,
  ...o,
});

describe("parseCriLogLine", () => {
  it("splits timestamp, stream, tag and content (content keeps its spaces)", () => {
    const r = parseCriLogLine(Buffer.from("2024-05-01T10:00:00.123456789Z stderr F hello  world "));
    assert.equal(r.timestamp, "2024-05-01T10:00:00.123456789Z");
    assert.equal(r.timeMs, Date.parse("2024-05-01T10:00:00.123Z"));
    assert.equal(r.stream, "stderr");
    assert.equal(r.partial, false);
    assert.equal(r.content.toString(), "hello  world ");
  });

  it("reads partial tags, extra tags and empty content", () => {
    assert.equal(parseCriLogLine(Buffer.from("2024-05-01T10:00:00Z stdout P:x abc")).partial, true);
    assert.equal(parseCriLogLine(Buffer.from("2024-05-01T10:00:00Z stdout F")).content.length, 0);
    assert.equal(parseCriLogLine(Buffer.from("2024-05-01T10:00:00Z stdout F ")).content.length, 0);
  });

  it("rejects lines that are not CRI records", () => {
    assert.throws(() => parseCriLogLine(Buffer.from("hello")), /timestamp is not found/);
    assert.throws(() => parseCriLogLine(Buffer.from("yesterday stdout F x")), /unexpected timestamp/);
    assert.throws(() => parseCriLogLine(Buffer.from("2024-05-01T10:00:00Z stdin F x")), /stream type/);
    assert.throws(() => parseCriLogLine(Buffer.from("2024-05-01T10:00:00Z stdout Q x")), /log tag/);
  });
});

describe("parseLogOptions", () => {
  it("reads flags and numbers", () => {
    const o = parseLogOptions(
      new URLSearchParams("follow=true&previous=1&timestamps=true&tailLines=5&limitBytes=10"),
    );
    assert.deepEqual(o, {
      follow: true,
      previous: true,
      timestamps: true,
      tailLines: 5,
      limitBytes: 10,
      sinceMs: undefined,
    });
  });

  it("turns sinceSeconds and sinceTime into a time", () => {
    assert.equal(parseLogOptions(new URLSearchParams("sinceSeconds=10"), T0).sinceMs, T0 - 10_000);
    assert.equal(parseLogOptions(new URLSearchParams("sinceTime=2024-05-01T10:00:00Z")).sinceMs, T0);
  });

  it("rejects bad values with upstream's messages", () => {
    const bad = (q: string, re: RegExp) =>
      assert.throws(
        () => parseLogOptions(new URLSearchParams(q)),
        (e: Error) => e instanceof LogOptionsError && re.test(e.message),
      );
    bad("tailLines=-1", /tailLines: Invalid value: -1: must be greater than or equal to 0/);
    bad("limitBytes=0", /limitBytes: Invalid value: 0: must be greater than 0/);
    bad("sinceSeconds=0", /sinceSeconds: Invalid value: 0/);
    bad("sinceSeconds=1&sinceTime=2024-05-01T10:00:00Z", /at most one of sinceTime or sinceSeconds/);
    bad("sinceTime=yesterday", /sinceTime: Invalid value/);
    bad("tailLines=abc", /tailLines: Invalid value: "abc": must be an integer/);
    bad("follow=maybe", /follow: Invalid value/);
  });
});

describe("streamCriLog", () => {
  it("joins partial records, merges stdout and stderr, skips malformed lines", async (t) => {
    const path = tempLog(
      t,
      line(1, "one") + line(2, "tw", true) + line(2, "o") + "garbage\n" + line(3, "three", false, "stderr"),
    );
    const out = collector();
    await streamCriLog(path, opts(), out);
    assert.equal(out.text(), "one\ntwo\nthree\n");
  });

  it("prefixes each line (not each partial) with its timestamp", async (t) => {
    const path = tempLog(t, line(1, "a", true) + line(2, "b") + line(3, "c"));
    const out = collector();
    await streamCriLog(path, opts({ timestamps: true }), out);
    assert.equal(out.text(), `${at(1)} ab\n${at(3)} c\n`);
  });

  it("tailLines counts joined lines; 0 gives nothing", async (t) => {
    const path = tempLog(t, line(1, "one") + line(2, "t", true) + line(2, "wo") + line(3, "three"));
    const out = collector();
    await streamCriLog(path, opts({ tailLines: 2 }), out);
    assert.equal(out.text(), "two\nthree\n");
    const none = collector();
    await streamCriLog(path, opts({ tailLines: 0 }), none);
    assert.equal(none.text(), "");
  });

  it("since drops older lines, before tail counts", async (t) => {
    const path = tempLog(t, line(1, "one") + line(5, "five") + line(6, "six") + line(7, "seven"));
    const out = collector();
    await streamCriLog(path, opts({ sinceMs: T0 + 5000 }), out);
    assert.equal(out.text(), "five\nsix\nseven\n");
    const tail = collector();
    await streamCriLog(path, opts({ sinceMs: T0 + 6000, tailLines: 5 }), tail);
    assert.equal(tail.text(), "six\nseven\n");
  });

  it("limitBytes cuts the output exactly", async (t) => {
    const path = tempLog(t, line(1, "hello") + line(2, "world"));
    const out = collector();
    await streamCriLog(path, opts({ limitBytes: 8 }), out);
    assert.equal(out.text(), "hello\nwo");
  });

  it("reads a large file across chunk boundaries", async (t) => {
    const long = "x".repeat(100_000);
    let content = "";
    for (let i = 0; i < 5; i++) content += line(i, `${i}${long}`);
    const path = tempLog(t, content);
    const out = collector();
    await streamCriLog(path, opts({ tailLines: 2 }), out);
    assert.equal(out.text(), `3${long}\n4${long}\n`);
  });

  it("follow: sends appended lines, then ends once the container stops", async (t) => {
    const path = tempLog(t, line(1, "first"));
    let running = true;
    const chunks: string[] = [];
    const done = streamCriLog(
      path,
      opts({ follow: true }),
      { write: async (b) => void chunks.push(b.toString()) },
      { stillRunning: async () => running, pollMs: 10, runningCheckMs: 20 },
    );
    await waitFor(() => chunks.join("") === "first\n");
    appendFileSync(path, line(2, "sec", true));
    appendFileSync(path, line(2, "ond"));
    await waitFor(() => chunks.join("") === "first\nsecond\n");
    appendFileSync(path, line(3, "last"));
    running = false;
    await done;
    assert.equal(chunks.join(""), "first\nsecond\nlast\n");
  });

  it("follow: keeps going across a rotation to the new file", async (t) => {
    const path = tempLog(t, line(1, "before"));
    let running = true;
    const out = collector();
    const done = streamCriLog(path, opts({ follow: true }), out, {
      stillRunning: async () => running,
      pollMs: 10,
      runningCheckMs: 20,
    });
    await waitFor(() => out.text() === "before\n");
    // What a log rotation does: the old file gets a line, is renamed, a new file appears.
    appendFileSync(path, line(2, "old-tail"));
    renameSync(path, `${path}.20240501-100002`);
    await sleep(30);
    writeFileSync(path, line(3, "after"));
    await waitFor(() => out.text() === "before\nold-tail\nafter\n");
    running = false;
    await done;
  });

  it("follow: stops at limitBytes and when the client goes away", async (t) => {
    const path = tempLog(t, line(1, "abc"));
    const limited = collector();
    await streamCriLog(path, opts({ follow: true, limitBytes: 4 }), limited, {
      stillRunning: async () => true,
    });
    assert.equal(limited.text(), "abc\n");
    const ac = new AbortController();
    const out = collector();
    const done = streamCriLog(path, opts({ follow: true }), out, {
      signal: ac.signal,
      stillRunning: async () => true,
      pollMs: 10,
    });
    await waitFor(() => out.text() === "abc\n");
    ac.abort();
    await done;
  });

  it("fails clearly when the file does not exist", async () => {
    await assert.rejects(streamCriLog("/nonexistent/0.log", opts(), collector()), /ENOENT/);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(5);
  }
}
