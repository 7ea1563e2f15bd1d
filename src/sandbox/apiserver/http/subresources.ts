// Subresources other than status: scale, pods/binding, pods/eviction, namespaces/finalize,
// and the streaming pod subresources (log, exec, attach, portforward), which are handed to
// whatever serves the pod's node.
import type { IncomingMessage, ServerResponse } from "node:http";
import { labelSelectorString } from "../../../kube/labels.ts";
import { formatTime } from "../../../kube/objects.ts";
import { ApiError, errBadRequest, errConflict, errMethodNotAllowed } from "../errors.ts";
import { applyPatch } from "../patch/index.ts";
import type { Rest } from "../rest.ts";
import { decodeObjectBody, readBody, sendJson } from "./io.ts";
import type { ResourceRequest } from "./routes.ts";

/** Serves log/exec/attach/portforward for pods on one kind of node (real or virtual). */
export interface PodStreamer {
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    pod: any,
    subresource: string,
    query: URLSearchParams,
  ): Promise<void>;
  upgrade?(
    req: IncomingMessage,
    socket: import("node:stream").Duplex,
    head: Buffer,
    pod: any,
    subresource: string,
    query: URLSearchParams,
  ): Promise<void>;
}

export interface SubresourceDeps {
  /** Finds the streamer for a pod's node; undefined when no node serves it. */
  streamerFor(pod: any): PodStreamer | undefined;
}

export async function handleSubresource(
  req: IncomingMessage,
  res: ServerResponse,
  r: ResourceRequest,
  rest: Rest,
  deps: SubresourceDeps,
): Promise<void> {
  const method = req.method ?? "GET";
  switch (r.subresource) {
    case "scale":
      return scale(req, res, r, rest, method);
    case "binding":
      if (method !== "POST") throw errMethodNotAllowed("binding only supports create");
      return binding(req, res, r, rest);
    case "eviction":
      if (method !== "POST") throw errMethodNotAllowed("eviction only supports create");
      return eviction(req, res, r, rest);
    case "finalize":
      if (method !== "PUT") throw errMethodNotAllowed("finalize only supports update");
      return finalize(req, res, r, rest);
    case "log":
    case "exec":
    case "attach":
    case "portforward": {
      const pod = await rest.get(r.def, r.namespace, r.name);
      const streamer = deps.streamerFor(pod);
      if (!streamer) throw noStreamer(pod, r.subresource);
      return streamer.handle(req, res, pod, r.subresource, r.query);
    }
    default:
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
  }
}

export function noStreamer(pod: any, sub: string): ApiError {
  if (!pod.spec?.nodeName) return errBadRequest(`pod ${pod.metadata.name} does not have a host assigned`);
  return errBadRequest(
    `${sub} is not available for pod ${pod.metadata.name}: node ${pod.spec.nodeName} runs no containers`,
  );
}

function toScale(obj: any): any {
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector: labelSelectorString(obj.spec?.selector) },
  };
}

async function scale(
  req: IncomingMessage,
  res: ServerResponse,
  r: ResourceRequest,
  rest: Rest,
  method: string,
): Promise<void> {
  if (method === "GET") return sendJson(res, 200, toScale(await rest.get(r.def, r.namespace, r.name)));
  if (method !== "PUT" && method !== "PATCH")
    throw errMethodNotAllowed("scale supports get, update and patch");
  const body = await readBody(req);
  const obj = await rest.mutate(r.def, r.namespace, r.name, {}, "", (cur) => {
    const current = toScale(cur);
    const wanted =
      method === "PUT"
        ? decodeObjectBody(req.headers["content-type"], body)
        : applyPatch(req.headers["content-type"] ?? "", current, body, "V1Scale");
    const replicas = wanted?.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0)
      throw new ApiError(
        422,
        "Invalid",
        `Scale.autoscaling "${r.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
      );
    cur.spec.replicas = replicas;
    const rv = wanted?.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) cur.metadata.resourceVersion = rv;
    return cur;
  });
  sendJson(res, 200, toScale(obj));
}

async function binding(
  req: IncomingMessage,
  res: ServerResponse,
  r: ResourceRequest,
  rest: Rest,
): Promise<void> {
  const b = decodeObjectBody(req.headers["content-type"], await readBody(req));
  const node = b?.target?.name;
  if (!node || (b.target.kind && b.target.kind !== "Node"))
    throw errBadRequest("target.name is required and target.kind must be Node");
  // nodeName is immutable to ordinary updates: binding writes it (and upstream's PodScheduled
  // condition) directly, in one write.
  await rest.systemUpdate(r.def, r.namespace, r.name, (pod) => {
    if (b.metadata?.uid && b.metadata.uid !== pod.metadata.uid)
      throw errConflict(
        { group: "", resource: "pods" },
        r.name,
        `Precondition failed: UID in precondition: ${b.metadata.uid}, UID in object meta: ${pod.metadata.uid}`,
      );
    if (pod.metadata.deletionTimestamp)
      throw errConflict(
        { group: "", resource: "pods" },
        r.name,
        "pod is being deleted, cannot be assigned to a host",
      );
    if (pod.spec.nodeName)
      throw errConflict(
        { group: "", resource: "pods" },
        r.name,
        `pod ${r.name} is already assigned to node "${pod.spec.nodeName}"`,
      );
    pod.spec.nodeName = node;
    pod.status ??= {};
    const conds = (pod.status.conditions ?? []).filter((c: any) => c.type !== "PodScheduled");
    conds.push({
      type: "PodScheduled",
      status: "True",
      lastProbeTime: null,
      lastTransitionTime: formatTime(),
    });
    pod.status.conditions = conds;
    return pod;
  });
  sendJson(res, 201, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 });
}

async function eviction(
  req: IncomingMessage,
  res: ServerResponse,
  r: ResourceRequest,
  rest: Rest,
): Promise<void> {
  const body = await readBody(req);
  const ev = body.length ? decodeObjectBody(req.headers["content-type"], body) : {};
  await rest.delete(r.def, r.namespace, r.name, { ...(ev?.deleteOptions ?? {}) });
  sendJson(res, 201, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 });
}

/** PUT namespaces/x/finalize: only spec.finalizers change; a terminating namespace left with none goes. */
async function finalize(
  req: IncomingMessage,
  res: ServerResponse,
  r: ResourceRequest,
  rest: Rest,
): Promise<void> {
  const b = decodeObjectBody(req.headers["content-type"], await readBody(req));
  const obj = await rest.mutate(r.def, "", r.name, {}, "finalize", (ns) => {
    ns.spec = { ...(ns.spec ?? {}), finalizers: b?.spec?.finalizers ?? [] };
    if (b?.metadata?.resourceVersion) ns.metadata.resourceVersion = b.metadata.resourceVersion;
    return ns;
  });
  sendJson(res, 200, obj);
}
