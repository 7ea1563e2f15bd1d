import assert from "node:assert/strict";
import { test } from "node:test";
import {
  compareQuantity,
  formatQuantity,
  parseQuantity,
  QUANTITY_FORMAT_ERROR,
  QUANTITY_SUFFIX_ERROR,
  roundUpToMilli,
  tryParseQuantity,
} from "./quantity.ts";

const canonical = (s: string | number) => formatQuantity(roundUpToMilli(parseQuantity(s)));

test("quantities come back in upstream's canonical form", () => {
  assert.equal(canonical("100m"), "100m");
  assert.equal(canonical("0.5"), "500m");
  assert.equal(canonical("1000m"), "1");
  assert.equal(canonical("1500"), "1500");
  assert.equal(canonical("12000"), "12k");
  assert.equal(canonical("1e3"), "1e3");
  assert.equal(canonical("1E3"), "1e3");
  assert.equal(canonical("1Gi"), "1Gi");
  assert.equal(canonical("1024Mi"), "1Gi");
  assert.equal(canonical("0.5Gi"), "512Mi");
  assert.equal(canonical("100Mi"), "100Mi");
  assert.equal(canonical("1.5Ki"), "1536");
  assert.equal(canonical("512"), "512");
  assert.equal(canonical(2), "2");
  assert.equal(canonical("0"), "0");
  assert.equal(canonical("-1"), "-1");
  assert.equal(canonical("0.0001"), "1m", "finer than milli rounds up");
});

test("garbage is refused with upstream's messages", () => {
  assert.equal(tryParseQuantity("abc"), QUANTITY_FORMAT_ERROR);
  assert.equal(tryParseQuantity(""), QUANTITY_FORMAT_ERROR);
  assert.equal(tryParseQuantity("1.2.3"), QUANTITY_FORMAT_ERROR);
  assert.equal(tryParseQuantity("5Z"), QUANTITY_FORMAT_ERROR);
  assert.equal(tryParseQuantity("5mi"), QUANTITY_SUFFIX_ERROR);
  assert.equal(tryParseQuantity(null), QUANTITY_FORMAT_ERROR);
});

test("comparison is exact across suffixes", () => {
  assert.equal(compareQuantity(parseQuantity("1"), parseQuantity("1000m")), 0);
  assert.equal(compareQuantity(parseQuantity("100Mi"), parseQuantity("100M")), 1);
  assert.equal(compareQuantity(parseQuantity("250m"), parseQuantity("0.5")), -1);
  assert.equal(compareQuantity(parseQuantity("1Gi"), parseQuantity("1073741824")), 0);
});
