// Defaulting of a PodSpec (core/v1 SetDefaults_PodSpec, _Container, _Probe, _Volume, ... and
// the declarative +default tags), shared by Pods and every pod template.
import { isObject, type Json, objects } from "./json.ts";
import { canonicalizeResourceList } from "./resources.ts";

export interface PodDefaultsOptions {
  /** Pod-only defaults (SetDefaults_Pod): not applied to templates, as upstream keeps them off. */
  pod: boolean;
}

const MODE_0644 = 420;

/** Always for `:latest` or no tag, IfNotPresent for any other tag or a digest-only reference. */
export function defaultPullPolicy(image: unknown): "Always" | "IfNotPresent" {
  if (typeof image !== "string" || !image) return "IfNotPresent";
  const at = image.indexOf("@");
  const name = at < 0 ? image : image.slice(0, at);
  const lastSegment = name.slice(name.lastIndexOf("/") + 1);
  const colon = lastSegment.lastIndexOf(":");
  const tag = colon < 0 ? "" : lastSegment.slice(colon + 1);
  if (!tag) return at < 0 ? "Always" : "IfNotPresent";
  return tag === "latest" ? "Always" : "IfNotPresent";
}

function defaultHttpGet(h: Json | undefined): void {
  if (!h || typeof h !== "object") return;
  if (!h.path) h.path = "/";
  if (!h.scheme) h.scheme = "HTTP";
}

function defaultHandler(h: Json | undefined): void {
  if (!h || typeof h !== "object") return;
  defaultHttpGet(h.httpGet);
  if (h.grpc && typeof h.grpc === "object" && h.grpc.service === undefined) h.grpc.service = "";
}

function defaultProbe(p: Json | undefined): void {
  if (!p || typeof p !== "object") return;
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultHandler(p);
}

function defaultEnv(env: unknown): void {
  for (const e of objects(env)) {
    const from = e.valueFrom;
    if (!from || typeof from !== "object") continue;
    if (from.fieldRef && typeof from.fieldRef === "object" && !from.fieldRef.apiVersion)
      from.fieldRef.apiVersion = "v1";
    // A zero Quantity still serialises, so upstream objects always show a divisor.
    if (
      from.resourceFieldRef &&
      typeof from.resourceFieldRef === "object" &&
      from.resourceFieldRef.divisor === undefined
    )
      from.resourceFieldRef.divisor = "0";
  }
}

export function defaultContainer(c: Json): void {
  if (!c || typeof c !== "object") return;
  if (!c.imagePullPolicy) c.imagePullPolicy = defaultPullPolicy(c.image);
  if (!c.terminationMessagePath) c.terminationMessagePath = "/dev/termination-log";
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = "File";
  if (!isObject(c.resources)) c.resources = {};
  canonicalizeResourceList(c.resources.limits);
  canonicalizeResourceList(c.resources.requests);
  for (const p of objects(c.ports)) if (!p.protocol) p.protocol = "TCP";
  defaultEnv(c.env);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (c.lifecycle && typeof c.lifecycle === "object") {
    defaultHandler(c.lifecycle.postStart);
    defaultHandler(c.lifecycle.preStop);
  }
}

function defaultItemsMode(src: Json): void {
  if (src.defaultMode === undefined || src.defaultMode === null) src.defaultMode = MODE_0644;
}

export function defaultVolume(v: Json): void {
  if (!v || typeof v !== "object") return;
  const sources = Object.keys(v).filter((k) => k !== "name" && v[k] !== null && v[k] !== undefined);
  // A volume naming no source is an emptyDir.
  if (!sources.length) v.emptyDir = {};
  for (const key of ["configMap", "secret", "downwardAPI", "projected"])
    if (v[key] && typeof v[key] === "object") defaultItemsMode(v[key]);
  if (v.hostPath && typeof v.hostPath === "object" && v.hostPath.type === undefined) v.hostPath.type = "";
  if (v.emptyDir && typeof v.emptyDir === "object" && v.emptyDir.sizeLimit !== undefined) {
    const holder = { sizeLimit: v.emptyDir.sizeLimit };
    canonicalizeResourceList(holder);
    v.emptyDir.sizeLimit = holder.sizeLimit;
  }
  for (const s of objects(v.projected?.sources)) {
    const token = s.serviceAccountToken;
    if (token && typeof token === "object" && token.expirationSeconds === undefined)
      token.expirationSeconds = 3600;
  }
}

/** Copies limits into missing requests: a pod asks for what it is capped at (SetDefaults_Pod). */
function defaultRequestsFromLimits(c: Json): void {
  const limits = c.resources?.limits;
  if (!isObject(limits)) return;
  c.resources.requests ??= {};
  if (!isObject(c.resources.requests)) return;
  for (const [k, v] of Object.entries(limits)) if (!(k in c.resources.requests)) c.resources.requests[k] = v;
}

/** With host networking a container port is a host port (SetDefaults_Pod). */
function defaultHostPorts(c: Json): void {
  for (const p of objects(c.ports)) if (!p.hostPort && p.containerPort) p.hostPort = p.containerPort;
}

/** Fills a PodSpec's defaults in place. */
export function defaultPodSpec(spec: Json | undefined, opts: PodDefaultsOptions): void {
  if (!isObject(spec)) return;
  if (!spec.dnsPolicy) spec.dnsPolicy = "ClusterFirst";
  if (!spec.restartPolicy) spec.restartPolicy = "Always";
  if (!isObject(spec.securityContext)) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null)
    spec.terminationGracePeriodSeconds = 30;
  if (!spec.schedulerName) spec.schedulerName = "default-scheduler";
  const containers = [spec.containers, spec.initContainers, spec.ephemeralContainers].flatMap(objects);
  for (const c of containers) defaultContainer(c);
  for (const v of objects(spec.volumes)) defaultVolume(v);
  if (spec.overhead) canonicalizeResourceList(spec.overhead);
  if (!opts.pod) return;
  const podContainers = [spec.containers, spec.initContainers].flatMap(objects);
  for (const c of podContainers) {
    defaultRequestsFromLimits(c);
    if (spec.hostNetwork) defaultHostPorts(c);
  }
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null)
    spec.enableServiceLinks = true;
}

/** Pod templates carry an empty creationTimestamp in their metadata, as upstream serialises them. */
export function defaultPodTemplate(template: Json | undefined): void {
  if (!isObject(template)) return;
  template.metadata ??= {};
  if (isObject(template.metadata) && template.metadata.creationTimestamp === undefined)
    template.metadata.creationTimestamp = null;
  defaultPodSpec(template.spec, { pod: false });
}
