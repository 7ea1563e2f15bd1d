import assert from "node:assert/strict";
import { test } from "node:test";
import { age, humanDuration } from "./duration.ts";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

test("humanDuration switches units at the apimachinery boundaries", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [999, "0s"],
    [5 * S, "5s"],
    [119 * S + 999, "119s"],
    [2 * M, "2m"],
    [2 * M + 30 * S, "2m30s"],
    [9 * M + 59 * S, "9m59s"],
    [10 * M, "10m"],
    [10 * M + 59 * S, "10m"],
    [179 * M, "179m"],
    [3 * H, "3h"],
    [3 * H + 20 * M, "3h20m"],
    [7 * H + 59 * M, "7h59m"],
    [8 * H, "8h"],
    [8 * H + 30 * M, "8h"],
    [47 * H + 59 * M, "47h"],
    [48 * H, "2d"],
    [2 * D + 3 * H, "2d3h"],
    [7 * D + 23 * H, "7d23h"],
    [8 * D, "8d"],
    [45 * D + 5 * H, "45d"],
    [729 * D, "729d"],
    [730 * D, "2y"],
    [740 * D, "2y10d"],
    [(365 * 8 - 1) * D, "7y364d"],
    [365 * 8 * D, "8y"],
    [3000 * D, "8y"],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

test("humanDuration tolerates up to a second of clock skew, then says <invalid>", () => {
  assert.equal(humanDuration(-500), "0s");
  assert.equal(humanDuration(-1999), "0s"); // int(-1.999s) is -1
  assert.equal(humanDuration(-2000), "<invalid>");
  assert.equal(humanDuration(-3 * H), "<invalid>");
});

test("age measures from an RFC 3339 timestamp and says <unknown> when there is none", () => {
  const now = Date.parse("2025-06-01T12:00:00Z");
  assert.equal(age("2025-06-01T11:55:00Z", now), "5m");
  assert.equal(age("2025-06-01T13:55:00+02:00", now), "5m");
  assert.equal(age(undefined, now), "<unknown>");
  assert.equal(age(null, now), "<unknown>");
  assert.equal(age("not a time", now), "<unknown>");
});
