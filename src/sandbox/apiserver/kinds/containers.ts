// Validation of the containers of a PodSpec (regular and init): names, image, ports, env,
// volume mounts, probes and lifecycle handlers, pull policy and resources.
import { duplicate, type FieldError, forbidden, invalid, notSupported, required } from "../errors.ts";
import { type Json, objects } from "./json.ts";
import { NEGATIVE } from "./meta.ts";
import {
  configMapKey,
  dns1123Label,
  dns1123Subdomain,
  envVarName,
  httpHeaderName,
  isValidPortName,
  isValidPortNum,
  qualifiedName,
} from "./names.ts";
import { validateResourceRequirements } from "./resources.ts";

const PORT_PROTOCOLS = ["SCTP", "TCP", "UDP"];
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];
const MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"];
const MOUNT_PROPAGATIONS = ["Bidirectional", "HostToContainer", "None"];
const ENV_FIELD_PATHS = [
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "spec.nodeName",
  "spec.serviceAccountName",
  "status.hostIP",
  "status.hostIPs",
  "status.podIP",
  "status.podIPs",
];
/** Everything the v1 downward API can name (conversion accepts these; validation narrows further). */
const CONVERTIBLE_FIELD_PATHS = new Set([
  ...ENV_FIELD_PATHS,
  "metadata.annotations",
  "metadata.labels",
  "spec.restartPolicy",
  "spec.schedulerName",
  "status.phase",
]);
const RESOURCE_FIELD_PATHS = [
  "limits.cpu",
  "limits.ephemeral-storage",
  "limits.memory",
  "requests.cpu",
  "requests.ephemeral-storage",
  "requests.memory",
];

export interface ContainerContext {
  /** Names of the pod's valid volumes. */
  volumes: Set<string>;
  /** Set for Pods (not templates): a few checks only apply to real pods. */
  isPod: boolean;
}

/** "Not found: <value>" (errors.ts has no helper for it). */
const notFound = (field: string, value: unknown): FieldError => ({
  type: "FieldValueNotFound",
  field,
  value,
});

export function validateContainerPorts(ports: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  objects(ports).forEach((port, i) => {
    const p = `${path}[${i}]`;
    if (port.name) {
      const msgs = isValidPortName(port.name);
      if (msgs.length) for (const m of msgs) errs.push(invalid(`${p}.name`, port.name, m));
      else if (names.has(port.name)) errs.push(duplicate(`${p}.name`, port.name));
      else names.add(port.name);
    }
    if (!port.containerPort) errs.push(required(`${p}.containerPort`, ""));
    else
      for (const m of isValidPortNum(port.containerPort))
        errs.push(invalid(`${p}.containerPort`, port.containerPort, m));
    if (port.hostPort)
      for (const m of isValidPortNum(port.hostPort)) errs.push(invalid(`${p}.hostPort`, port.hostPort, m));
    if (!port.protocol) errs.push(required(`${p}.protocol`, ""));
    else if (!PORT_PROTOCOLS.includes(port.protocol))
      errs.push(notSupported(`${p}.protocol`, port.protocol, PORT_PROTOCOLS));
  });
  return errs;
}

/** A `metadata.labels['key']` downward-API path: its base and subscript. */
function splitSubscript(fieldPath: string): { base: string; key?: string } {
  const m = /^(.*)\['(.*)'\]$/.exec(fieldPath);
  return m ? { base: m[1], key: m[2] } : { base: fieldPath };
}

function validateFieldRef(ref: Json, path: string): FieldError[] {
  if (!ref.apiVersion) return [required(`${path}.apiVersion`, "")];
  if (!ref.fieldPath) return [required(`${path}.fieldPath`, "")];
  const { base, key } = splitSubscript(ref.fieldPath);
  const convertible =
    ref.apiVersion === "v1" &&
    (key !== undefined
      ? base === "metadata.annotations" || base === "metadata.labels"
      : CONVERTIBLE_FIELD_PATHS.has(base));
  if (!convertible) {
    const why =
      ref.apiVersion !== "v1"
        ? `unsupported pod version: ${ref.apiVersion}`
        : `field label not supported: ${ref.fieldPath}`;
    return [invalid(`${path}.fieldPath`, ref.fieldPath, `error converting fieldPath: ${why}`)];
  }
  if (key !== undefined) {
    const name = base === "metadata.annotations" ? key.toLowerCase() : key;
    return qualifiedName(name).map((m) => invalid(path, name, m));
  }
  if (!ENV_FIELD_PATHS.includes(base)) return [notSupported(`${path}.fieldPath`, base, ENV_FIELD_PATHS)];
  return [];
}

function validateKeySelector(sel: Json, path: string): FieldError[] {
  const errs = dns1123Subdomain(sel.name ?? "").map((m) => invalid(`${path}.name`, sel.name ?? "", m));
  if (!sel.key) errs.push(required(`${path}.key`, ""));
  else for (const m of configMapKey(sel.key)) errs.push(invalid(`${path}.key`, sel.key, m));
  return errs;
}

function validateValueFrom(ev: Json, path: string): FieldError[] {
  const from = ev.valueFrom;
  if (!from || typeof from !== "object") return [];
  const errs: FieldError[] = [];
  let sources = 0;
  if (from.fieldRef) {
    sources++;
    errs.push(...validateFieldRef(from.fieldRef, `${path}.fieldRef`));
  }
  if (from.resourceFieldRef) {
    sources++;
    const r = from.resourceFieldRef;
    const p = `${path}.resourceFieldRef`;
    if (!r.resource) errs.push(required(`${p}.resource`, ""));
    else if (!RESOURCE_FIELD_PATHS.includes(r.resource) && !/^(requests|limits)\.hugepages-/.test(r.resource))
      errs.push(notSupported(`${p}.resource`, r.resource, RESOURCE_FIELD_PATHS));
  }
  if (from.configMapKeyRef) {
    sources++;
    errs.push(...validateKeySelector(from.configMapKeyRef, `${path}.configMapKeyRef`));
  }
  if (from.secretKeyRef) {
    sources++;
    errs.push(...validateKeySelector(from.secretKeyRef, `${path}.secretKeyRef`));
  }
  if (sources === 0)
    errs.push(
      invalid(
        path,
        "",
        "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
      ),
    );
  else if (ev.value) errs.push(invalid(path, "", "may not be specified when `value` is not empty"));
  else if (sources > 1) errs.push(invalid(path, "", "may not have more than one field specified at a time"));
  return errs;
}

export function validateEnv(env: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objects(env).forEach((ev, i) => {
    const p = `${path}[${i}]`;
    if (!ev.name) errs.push(required(`${p}.name`, ""));
    else for (const m of envVarName(ev.name)) errs.push(invalid(`${p}.name`, ev.name, m));
    errs.push(...validateValueFrom(ev, `${p}.valueFrom`));
  });
  return errs;
}

function validateEnvFrom(envFrom: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objects(envFrom).forEach((ev, i) => {
    const p = `${path}[${i}]`;
    if (ev.prefix) for (const m of envVarName(ev.prefix)) errs.push(invalid(`${p}.prefix`, ev.prefix, m));
    let sources = 0;
    for (const key of ["configMapRef", "secretRef"]) {
      const ref = ev[key];
      if (!ref) continue;
      sources++;
      if (!ref.name) errs.push(required(`${p}.${key}.name`, ""));
      else for (const m of dns1123Subdomain(ref.name)) errs.push(invalid(`${p}.${key}.name`, ref.name, m));
    }
    // Upstream reports these two on the list's path.
    if (sources === 0) errs.push(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"));
    else if (sources > 1)
      errs.push(invalid(path, "", "may not have more than one field specified at a time"));
  });
  return errs;
}

/** A path inside a volume: relative and never climbing out with "..". */
export function validateLocalDescendingPath(target: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (target.startsWith("/")) errs.push(invalid(path, target, "must be a relative path"));
  if (target.split("/").includes("..")) errs.push(invalid(path, target, "must not contain '..'"));
  return errs;
}

function validateVolumeMounts(mounts: unknown, c: Json, path: string, ctx: ContainerContext): FieldError[] {
  const errs: FieldError[] = [];
  const paths = new Set<string>();
  objects(mounts).forEach((m, i) => {
    const p = `${path}[${i}]`;
    if (!m.name) errs.push(required(`${p}.name`, ""));
    if (!ctx.volumes.has(m.name ?? "")) errs.push(notFound(`${p}.name`, m.name ?? ""));
    if (!m.mountPath) errs.push(required(`${p}.mountPath`, ""));
    if (paths.has(m.mountPath ?? ""))
      errs.push(invalid(`${p}.mountPath`, m.mountPath ?? "", "must be unique"));
    paths.add(m.mountPath ?? "");
    // Upstream reports sub-path problems on the list's path.
    if (m.subPath) errs.push(...validateLocalDescendingPath(m.subPath, `${path}.subPath`));
    if (m.subPathExpr) {
      if (m.subPath)
        errs.push(
          invalid(`${p}.subPathExpr`, m.subPathExpr, "subPathExpr and subPath are mutually exclusive"),
        );
      errs.push(...validateLocalDescendingPath(m.subPathExpr, `${path}.subPathExpr`));
    }
    if (m.mountPropagation !== undefined && m.mountPropagation !== null) {
      if (!MOUNT_PROPAGATIONS.includes(m.mountPropagation))
        errs.push(notSupported(`${path}.mountPropagation`, m.mountPropagation, MOUNT_PROPAGATIONS));
      else if (m.mountPropagation === "Bidirectional" && c.securityContext?.privileged !== true)
        errs.push(
          forbidden(
            `${path}.mountPropagation`,
            "Bidirectional mount propagation is available only to privileged containers",
          ),
        );
    }
  });
  return errs;
}

/** A port given as a number (1..65535) or as an IANA service name. */
export function validatePortNumOrName(port: unknown, path: string): FieldError[] {
  // An unset port is the zero int.
  if (port === undefined || port === null) return [invalid(path, 0, isValidPortNum(0)[0])];
  if (typeof port === "number") return isValidPortNum(port).map((m) => invalid(path, port, m));
  if (typeof port === "string") return isValidPortName(port).map((m) => invalid(path, port, m));
  return [invalid(path, port, "must be an integer or a string")];
}

function validateHandler(
  h: Json,
  path: string,
  kinds: readonly string[],
  gracePeriod: number | undefined,
): FieldError[] {
  const errs: FieldError[] = [];
  let count = 0;
  for (const kind of kinds) {
    const action = h[kind];
    if (action === undefined || action === null) continue;
    if (count > 0) {
      errs.push(forbidden(`${path}.${kind}`, "may not specify more than 1 handler type"));
      continue;
    }
    count++;
    const p = `${path}.${kind}`;
    if (kind === "exec" && !action.command?.length) errs.push(required(`${p}.command`, ""));
    if (kind === "httpGet") {
      if (!action.path) errs.push(required(`${p}.path`, ""));
      errs.push(...validatePortNumOrName(action.port, `${p}.port`));
      if (!["HTTP", "HTTPS"].includes(action.scheme))
        errs.push(notSupported(`${p}.scheme`, action.scheme ?? "", ["HTTP", "HTTPS"]));
      for (const header of objects(action.httpHeaders))
        for (const m of httpHeaderName(header.name ?? ""))
          errs.push(invalid(`${p}.httpHeaders`, header.name ?? "", m));
    }
    if (kind === "tcpSocket") errs.push(...validatePortNumOrName(action.port, `${p}.port`));
    if (kind === "grpc") errs.push(...validatePortNumOrName(Number(action.port ?? 0), `${p}.port`));
    if (
      kind === "sleep" &&
      gracePeriod !== undefined &&
      (!(action.seconds >= 0) || action.seconds > gracePeriod)
    )
      errs.push(
        invalid(
          p,
          action.seconds,
          `must be non-negative and less than terminationGracePeriodSeconds (${gracePeriod})`,
        ),
      );
  }
  if (count === 0) errs.push(required(path, "must specify a handler type"));
  return errs;
}

type ProbeKind = "livenessProbe" | "readinessProbe" | "startupProbe";

function validateProbe(
  probe: Json | undefined,
  kind: ProbeKind,
  path: string,
  gracePeriod: number | undefined,
): FieldError[] {
  if (!probe || typeof probe !== "object") return [];
  const errs = validateHandler(probe, path, ["exec", "httpGet", "tcpSocket", "grpc"], gracePeriod);
  for (const f of [
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
  ])
    if (typeof probe[f] === "number" && probe[f] < 0) errs.push(invalid(`${path}.${f}`, probe[f], NEGATIVE));
  const tgps = probe.terminationGracePeriodSeconds;
  if (typeof tgps === "number" && tgps <= 0)
    errs.push(invalid(`${path}.terminationGracePeriodSeconds`, tgps, "must be greater than 0"));
  if (kind === "readinessProbe" && tgps !== undefined && tgps !== null)
    errs.push(invalid(`${path}.terminationGracePeriodSeconds`, tgps, "must not be set for readinessProbes"));
  // Liveness and startup probes fail or pass once; only readiness may require repeated success.
  if (kind !== "readinessProbe" && probe.successThreshold !== 1)
    errs.push(invalid(`${path}.successThreshold`, probe.successThreshold ?? 0, "must be 1"));
  return errs;
}

function validateLifecycle(
  lc: Json | undefined,
  path: string,
  gracePeriod: number | undefined,
): FieldError[] {
  if (!lc || typeof lc !== "object") return [];
  const errs: FieldError[] = [];
  for (const hook of ["postStart", "preStop"])
    if (lc[hook])
      errs.push(
        ...validateHandler(
          lc[hook],
          `${path}.${hook}`,
          ["exec", "httpGet", "tcpSocket", "sleep"],
          gracePeriod,
        ),
      );
  return errs;
}

/** What every container, regular or init, must satisfy (upstream validateContainerCommon). */
function validateContainerCommon(c: Json, path: string, ctx: ContainerContext): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.name) errs.push(required(`${path}.name`, ""));
  else for (const m of dns1123Label(c.name)) errs.push(invalid(`${path}.name`, c.name, m));
  if (!c.image) errs.push(required(`${path}.image`, ""));
  if (!c.terminationMessagePolicy) errs.push(required(`${path}.terminationMessagePolicy`, ""));
  else if (!MESSAGE_POLICIES.includes(c.terminationMessagePolicy))
    errs.push(notSupported(`${path}.terminationMessagePolicy`, c.terminationMessagePolicy, MESSAGE_POLICIES));
  errs.push(...validateContainerPorts(c.ports, `${path}.ports`));
  errs.push(...validateEnv(c.env, `${path}.env`));
  errs.push(...validateEnvFrom(c.envFrom, `${path}.envFrom`));
  errs.push(...validateVolumeMounts(c.volumeMounts, c, `${path}.volumeMounts`, ctx));
  if (!c.imagePullPolicy) errs.push(required(`${path}.imagePullPolicy`, ""));
  else if (!PULL_POLICIES.includes(c.imagePullPolicy))
    errs.push(notSupported(`${path}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  errs.push(...validateResourceRequirements(c.resources, `${path}.resources`));
  return errs;
}

/** Host ports must not collide (protocol/hostIP/port) within one list of containers. */
function hostPortConflicts(containers: Json[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  containers.forEach((c, ci) => {
    objects(c.ports).forEach((p, pi) => {
      if (!p.hostPort) return;
      const key = `${p.protocol ?? ""}/${p.hostIP ?? ""}/${p.hostPort}`;
      if (seen.has(key)) errs.push(duplicate(`${path}[${ci}].ports[${pi}].hostPort`, key));
      seen.add(key);
    });
  });
  return errs;
}

export function validateContainers(
  containers: unknown,
  path: string,
  ctx: ContainerContext,
  gracePeriod: number | undefined,
): FieldError[] {
  const all = objects(containers);
  if (!all.length) return [required(path, "")];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  all.forEach((c, i) => {
    const p = `${path}[${i}]`;
    errs.push(...validateContainerCommon(c, p, ctx));
    if (names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
    else names.add(c.name);
    errs.push(...validateLifecycle(c.lifecycle, `${p}.lifecycle`, gracePeriod));
    errs.push(...validateProbe(c.livenessProbe, "livenessProbe", `${p}.livenessProbe`, gracePeriod));
    errs.push(...validateProbe(c.readinessProbe, "readinessProbe", `${p}.readinessProbe`, gracePeriod));
    errs.push(...validateProbe(c.startupProbe, "startupProbe", `${p}.startupProbe`, gracePeriod));
    if (c.restartPolicy !== undefined && c.restartPolicy !== null)
      errs.push(forbidden(`${p}.restartPolicy`, "may not be set for non-init containers"));
  });
  errs.push(...hostPortConflicts(all, path));
  return errs;
}

export function validateInitContainers(
  inits: unknown,
  regular: unknown,
  path: string,
  ctx: ContainerContext,
  gracePeriod: number | undefined,
): FieldError[] {
  const errs: FieldError[] = [];
  // Init container names share one namespace with the regular containers.
  const names = new Set<string>(objects(regular).map((c) => c.name));
  objects(inits).forEach((c, i) => {
    const p = `${path}[${i}]`;
    errs.push(...validateContainerCommon(c, p, ctx));
    let sidecar = false;
    if (c.restartPolicy !== undefined && c.restartPolicy !== null) {
      if (c.restartPolicy !== "Always")
        errs.push(notSupported(`${p}.restartPolicy`, c.restartPolicy, ["Always"]));
      sidecar = c.restartPolicy === "Always";
    }
    if (names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
    else if (c.name) names.add(c.name);
    errs.push(...hostPortConflicts([c], path));
    if (sidecar) {
      errs.push(...validateLifecycle(c.lifecycle, `${p}.lifecycle`, gracePeriod));
      errs.push(...validateProbe(c.livenessProbe, "livenessProbe", `${p}.livenessProbe`, gracePeriod));
      errs.push(...validateProbe(c.readinessProbe, "readinessProbe", `${p}.readinessProbe`, gracePeriod));
      errs.push(...validateProbe(c.startupProbe, "startupProbe", `${p}.startupProbe`, gracePeriod));
    } else {
      for (const f of ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"])
        if (c[f])
          errs.push(
            forbidden(`${p}.${f}`, "may not be set for init containers without restartPolicy=Always"),
          );
    }
  });
  return errs;
}

/** Pod-only: images may not carry surrounding whitespace (templates keep the legacy leniency). */
export function validateImagesForPod(containers: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objects(containers).forEach((c, i) => {
    if (typeof c.image === "string" && c.image !== c.image.trim())
      errs.push(invalid(`${path}[${i}].image`, c.image, "must not have leading or trailing whitespace"));
  });
  return errs;
}
