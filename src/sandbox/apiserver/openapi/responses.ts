// What to answer on /openapi/v2, /openapi/v3 and /openapi/v3/<group-version>, as upstream's
// kube-openapi handler does, as plain data for the HTTP layer to send:
//  - v2: 200 with an empty body (a valid empty protobuf document: kubectl 1.27 insists on
//    fetching it, and an empty one turns client-side validation off);
//  - the v3 index: JSON with an ETag;
//  - a v3 document: JSON with an ETag; with `?hash=` equal to the current hash also
//    `Cache-Control: public, immutable`, with a stale hash a 301 to the current URL.

import type { OpenApiCache } from "./v3.ts";
import { documentHash, OPENAPI_V2_CONTENT_TYPE } from "./v3.ts";

export interface OpenApiResponse {
  status: 200 | 301 | 404;
  headers: Record<string, string>;
  body: string;
}

const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

export function openApiV2Response(): OpenApiResponse {
  return { status: 200, headers: { "content-type": OPENAPI_V2_CONTENT_TYPE }, body: "" };
}

/**
 * The answer for `/openapi/v3` (subPath "") or `/openapi/v3/<subPath>` (`api/v1`,
 * `apis/apps/v1`); `hash` is the `hash` query parameter, if any.
 */
export function openApiV3Response(
  cache: OpenApiCache,
  subPath: string,
  hash?: string | null,
  now = Date.now(),
): OpenApiResponse {
  const path = subPath.replace(/^\/+|\/+$/g, "");
  if (path === "") {
    const body = JSON.stringify(cache.index());
    return {
      status: 200,
      headers: { "content-type": "application/json", etag: `"${documentHash(body)}"` },
      body,
    };
  }
  const doc = cache.document(path);
  if (!doc) return { status: 404, headers: {}, body: "" };
  if (hash && hash !== doc.hash)
    return { status: 301, headers: { location: `/openapi/v3/${doc.path}?hash=${doc.hash}` }, body: "" };
  const headers: Record<string, string> = {
    "content-type": "application/json",
    etag: doc.etag,
    vary: "Accept",
  };
  if (hash) {
    headers["cache-control"] = "public, immutable";
    headers.expires = new Date(now + ONE_YEAR_MS).toUTCString();
  }
  return { status: 200, headers, body: doc.body };
}
