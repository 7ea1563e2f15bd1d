// Request bodies in, JSON/Status out.
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { ApiError, errBadRequest } from "../errors.ts";
import { decodeKubernetesProtobuf, KubernetesProtobufError, PROTOBUF_MEDIA_TYPE } from "../protobuf/index.ts";

/** Upstream's limit on request bodies (3 MiB); etcd would refuse larger values anyway. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

const tooLarge = () =>
  new ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");

export function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0].trim().toLowerCase();
}

const UNKNOWN_FORMAT =
  "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf";

/** Decodes a JSON, YAML or Kubernetes-protobuf object body. */
export function decodeObjectBody(contentType: string | undefined, body: Buffer): any {
  const mt = mediaType(contentType);
  if (!body.length) throw errBadRequest("the body of the request was empty");
  if (mt === PROTOBUF_MEDIA_TYPE) {
    // kubectl 1.33's typed generators (create namespace|deployment|configmap|...) send protobuf.
    try {
      return decodeKubernetesProtobuf(body);
    } catch (e) {
      if (!(e instanceof KubernetesProtobufError)) throw e;
      if (e.reason === "UnsupportedKind") throw new ApiError(415, "UnsupportedMediaType", e.message);
      throw errBadRequest(e.message);
    }
  }
  const text = body.toString("utf8");
  if (!text.trim()) throw errBadRequest("the body of the request was empty");
  if (mt === "application/yaml" || mt === "application/x-yaml") {
    try {
      return parseYaml(text);
    } catch (e) {
      throw errBadRequest(`error converting YAML to JSON: ${(e as Error).message}`);
    }
  }
  if (mt && mt !== "application/json" && mt !== "*/*")
    throw new ApiError(415, "UnsupportedMediaType", UNKNOWN_FORMAT);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw errBadRequest(
      `the object provided is unrecognized (body is not valid JSON: ${(e as Error).message})`,
    );
  }
}

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendRaw(res, code, JSON.stringify(body), headers);
}

export function sendRaw(
  res: ServerResponse,
  code: number,
  raw: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, {
    "content-type": "application/json",
    "cache-control": "no-cache, private",
    "content-length": Buffer.byteLength(raw),
    ...headers,
  });
  res.end(raw);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.code, err.toStatus());
}

/** `Warning:` headers in the RFC 7234 form kubectl prints (`299 - "message"`). */
export function warningHeaders(warnings: string[]): Record<string, string> {
  if (!warnings.length) return {};
  return { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(", ") };
}

export function boolParam(v: string | null): boolean {
  return v === "true" || v === "1";
}

export function intParam(name: string, v: string | null): number | undefined {
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw errBadRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return n;
}
