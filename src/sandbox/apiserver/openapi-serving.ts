// Serves /openapi/v2 (an empty document, which kubectl 1.27 requires) and /openapi/v3.
import type { IncomingMessage, ServerResponse } from "node:http";
import { OpenApiCache, type OpenApiResponse, openApiV2Response, openApiV3Response } from "./openapi/index.ts";
import type { Registry } from "./registry.ts";

export class OpenApiServer {
  private readonly cache: OpenApiCache;

  constructor(registry: Registry) {
    this.cache = new OpenApiCache(registry);
  }

  serve(_req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): void {
    let r: OpenApiResponse;
    if (path === "/openapi/v2") r = openApiV2Response();
    else if (path === "/openapi/v3" || path.startsWith("/openapi/v3/"))
      r = openApiV3Response(this.cache, path.slice("/openapi/v3".length), query.get("hash"));
    else r = { status: 404, headers: { "content-type": "text/plain" }, body: "404 page not found" };
    res.writeHead(r.status, { ...r.headers, "content-length": Buffer.byteLength(r.body) });
    res.end(r.body);
  }
}
