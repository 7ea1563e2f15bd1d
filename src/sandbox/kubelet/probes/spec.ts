// A container's probe as the kubelet reads it from the pod spec: defaults applied (the API
// server normally defaults them already, but a static pod's manifest may not have been), the
// handler reduced to one action, and named ports resolved the way pkg/probe does.

export type ProbeType = "liveness" | "readiness" | "startup";

/** The capitalised name the kubelet prints in events ("Liveness probe failed: ..."). */
export const PROBE_TYPE_NAMES: Record<ProbeType, string> = {
  liveness: "Liveness",
  readiness: "Readiness",
  startup: "Startup",
};

const PROBE_FIELDS: Record<ProbeType, string> = {
  liveness: "livenessProbe",
  readiness: "readinessProbe",
  startup: "startupProbe",
};

/** A port as written in a probe: a number, or a container port's name (or a number in a string). */
export type PortRef = number | string;

export type ProbeAction =
  | { kind: "exec"; command: string[] }
  | { kind: "tcp"; host: string; port: PortRef }
  | {
      kind: "http";
      scheme: "http" | "https";
      host: string;
      port: PortRef;
      path: string;
      headers: { name: string; value: string }[];
    }
  | { kind: "grpc"; port: number; service: string }
  /** No handler, or one we cannot read: every probe errors with this message, like the kubelet's. */
  | { kind: "invalid"; error: string };

export interface ProbeSpec {
  type: ProbeType;
  action: ProbeAction;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Upstream's defaults (pkg/apis/core/v1/defaults.go SetDefaults_Probe). */
const DEFAULTS = {
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
};

/** A whole number >= min, or the default when absent/zero (the API defaults zero values). */
function count(value: unknown, fallback: number, min: number): number {
  if (value === undefined || value === null || value === 0) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) return fallback;
  return value;
}

/** The probe of `type` on `container`, or undefined when the container has none. */
export function probeSpecOf(container: any, type: ProbeType, podLabel: string): ProbeSpec | undefined {
  const p = container?.[PROBE_FIELDS[type]];
  if (p === undefined || p === null) return undefined;
  const spec: ProbeSpec = {
    type,
    action: actionOf(p, `${podLabel}:${container.name}`),
    initialDelaySeconds: count(p.initialDelaySeconds, DEFAULTS.initialDelaySeconds, 0),
    periodSeconds: count(p.periodSeconds, DEFAULTS.periodSeconds, 1),
    timeoutSeconds: count(p.timeoutSeconds, DEFAULTS.timeoutSeconds, 1),
    successThreshold: count(p.successThreshold, DEFAULTS.successThreshold, 1),
    failureThreshold: count(p.failureThreshold, DEFAULTS.failureThreshold, 1),
  };
  // Validation requires 1 for liveness and startup; a result other than "failed" must count at once.
  if (type !== "readiness") spec.successThreshold = 1;
  return spec;
}

function actionOf(p: any, target: string): ProbeAction {
  if (p.exec) {
    const command = p.exec.command;
    if (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === "string")) {
      return { kind: "invalid", error: `exec probe of ${target} needs a non-empty command of strings` };
    }
    return { kind: "exec", command };
  }
  if (p.httpGet) {
    const g = p.httpGet;
    const scheme = String(g.scheme ?? "HTTP").toLowerCase();
    if (scheme !== "http" && scheme !== "https") {
      return {
        kind: "invalid",
        error: `unsupported httpGet scheme ${JSON.stringify(g.scheme)} in probe of ${target}`,
      };
    }
    const port = portRefOf(g.port);
    if (port === undefined) return { kind: "invalid", error: `httpGet probe of ${target} has no port` };
    const headers = Array.isArray(g.httpHeaders)
      ? g.httpHeaders
          .filter((h: any) => typeof h?.name === "string" && h.name !== "")
          .map((h: any) => ({ name: h.name, value: String(h.value ?? "") }))
      : [];
    return { kind: "http", scheme, host: g.host ?? "", port, path: g.path ?? "", headers };
  }
  if (p.tcpSocket) {
    const port = portRefOf(p.tcpSocket.port);
    if (port === undefined) return { kind: "invalid", error: `tcpSocket probe of ${target} has no port` };
    return { kind: "tcp", host: p.tcpSocket.host ?? "", port };
  }
  if (p.grpc) {
    const port = p.grpc.port;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
      return { kind: "invalid", error: `invalid port number: ${port}` };
    }
    return { kind: "grpc", port, service: typeof p.grpc.service === "string" ? p.grpc.service : "" };
  }
  return { kind: "invalid", error: `missing probe handler for ${target}` };
}

function portRefOf(v: unknown): PortRef | undefined {
  if (typeof v === "number" || (typeof v === "string" && v !== "")) return v;
  return undefined;
}

/** probe.ResolveContainerPort: a number, a named container port, or a number written as a string. */
export function resolvePort(port: PortRef, container: any): number {
  let n: number;
  if (typeof port === "number") {
    n = port;
  } else {
    const named = (container?.ports ?? []).find((p: any) => p?.name === port);
    if (named) {
      n = Number(named.containerPort);
    } else if (/^[+-]?\d+$/.test(port)) {
      n = Number.parseInt(port, 10);
    } else {
      throw new Error(`strconv.Atoi: parsing ${JSON.stringify(port)}: invalid syntax`);
    }
  }
  if (Number.isInteger(n) && n > 0 && n < 65536) return n;
  throw new Error(`invalid port number: ${n}`);
}

/**
 * kubecontainer.ExpandContainerCommandOnlyStatic: $(VAR) becomes the value of the container's
 * env var VAR when it has a literal value; $$ escapes a dollar; anything else stays as written.
 */
export function expandCommand(command: string[], env: unknown): string[] {
  const vars = new Map<string, string>();
  if (Array.isArray(env)) {
    for (const e of env) {
      if (typeof e?.name === "string" && typeof e.value === "string" && !e.valueFrom)
        vars.set(e.name, e.value);
    }
  }
  return command.map((arg) =>
    arg.replace(/\$\$|\$\(([^)]*)\)/g, (m, name: string | undefined) => {
      if (m === "$$") return "$";
      return name !== undefined && vars.has(name) ? (vars.get(name) as string) : m;
    }),
  );
}

/** The containers that may carry probes: app containers and restartable (sidecar) init containers. */
export function probedContainers(pod: any): any[] {
  const app = Array.isArray(pod?.spec?.containers) ? pod.spec.containers : [];
  const init = Array.isArray(pod?.spec?.initContainers) ? pod.spec.initContainers : [];
  return [...init.filter((c: any) => c?.restartPolicy === "Always"), ...app];
}
