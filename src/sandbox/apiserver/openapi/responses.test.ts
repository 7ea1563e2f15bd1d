import assert from "node:assert/strict";
import { test } from "node:test";
import { openApiV2Response, openApiV3Response } from "./responses.ts";
import { builtinDefs } from "./testing.ts";
import { OpenApiCache } from "./v3.ts";

const cache = new OpenApiCache({ generation: 1, all: builtinDefs });

test("/openapi/v2 is an empty protobuf document kubectl's mime parser accepts", () => {
  assert.deepEqual(openApiV2Response(), {
    status: 200,
    headers: { "content-type": "application/com.github.proto-openapi.spec.v2.v1.0+protobuf" },
    body: "",
  });
});

test("/openapi/v3 lists the group-versions", () => {
  const r = openApiV3Response(cache, "");
  assert.equal(r.status, 200);
  assert.match(r.headers.etag, /^"[0-9A-F]{128}"$/);
  const index = JSON.parse(r.body);
  assert.match(index.paths["api/v1"].serverRelativeURL, /^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/);
});

test("a document by its current hash is immutable; by a stale hash it redirects", () => {
  const url: string = JSON.parse(openApiV3Response(cache, "").body).paths["apis/apps/v1"].serverRelativeURL;
  const hash = url.split("hash=")[1];
  const now = Date.UTC(2026, 0, 1);
  const fresh = openApiV3Response(cache, "apis/apps/v1", hash, now);
  assert.equal(fresh.status, 200);
  assert.equal(fresh.headers["cache-control"], "public, immutable");
  assert.equal(fresh.headers.etag, `"${hash}"`);
  assert.equal(fresh.headers.expires, "Fri, 01 Jan 2027 00:00:00 GMT");
  assert.equal(JSON.parse(fresh.body).openapi, "3.0.0");

  const stale = openApiV3Response(cache, "/apis/apps/v1", "ABC");
  assert.deepEqual(stale, { status: 301, headers: { location: url }, body: "" });

  const unhashed = openApiV3Response(cache, "apis/apps/v1");
  assert.equal(unhashed.status, 200);
  assert.equal(unhashed.headers["cache-control"], undefined);
  assert.equal(openApiV3Response(cache, "apis/nope/v1").status, 404);
});
