// One probe of one container (pkg/kubelet/prober/prober.go): run the action, retry it while it
// errors (3 attempts), and turn the outcome into a result plus the event the kubelet records.
import type { RuntimeService } from "../../../cri/types.ts";
import type { Clock } from "../../../kube/clock.ts";
import { execProbe } from "./exec-probe.ts";
import { grpcProbe } from "./grpc-probe.ts";
import { httpProbe } from "./http-probe.ts";
import { ProbeError, type ProbeOutcome } from "./outcome.ts";
import { expandCommand, PROBE_TYPE_NAMES, type ProbeSpec, resolvePort } from "./spec.ts";
import { tcpProbe } from "./tcp-probe.ts";

const MAX_PROBE_RETRIES = 3;

/** What a probe runs against: the container instance and its pod's IP at probe time. */
export interface ProbeTarget {
  runtime: RuntimeService;
  clock: Clock;
  containerId: string;
  /** The container's spec (ports for named ports, env for $(VAR) in exec commands). */
  container: any;
  podIp: string | undefined;
}

export interface ProbeRun {
  /** Counted towards the thresholds unless `errored`. */
  result: "success" | "failure";
  /** The probe could not be run; the kubelet throws the result away. */
  errored: boolean;
  /** The Warning Unhealthy event's message, when the probe did not succeed. */
  unhealthy?: string;
  /** The Warning ProbeWarning event's message (a redirect the prober did not follow). */
  warning?: string;
}

export async function probe(spec: ProbeSpec, target: ProbeTarget, signal?: AbortSignal): Promise<ProbeRun> {
  const name = PROBE_TYPE_NAMES[spec.type];
  let outcome: ProbeOutcome | undefined;
  let error: unknown;
  for (let i = 0; i < MAX_PROBE_RETRIES && !signal?.aborted; i++) {
    try {
      outcome = await runAction(spec, target, signal);
      error = undefined;
      break;
    } catch (err) {
      error = err;
    }
  }
  if (!outcome) {
    const result = error instanceof ProbeError ? error.result : "unknown";
    const message = error instanceof Error ? error.message : String(error);
    return {
      result: "failure",
      errored: true,
      unhealthy: `${name} probe errored and resulted in ${result} state: ${message}`,
    };
  }
  switch (outcome.result) {
    case "success":
      return { result: "success", errored: false };
    case "warning":
      return { result: "success", errored: false, warning: `${name} probe warning: ${outcome.output}` };
    case "failure":
      return { result: "failure", errored: false, unhealthy: `${name} probe failed: ${outcome.output}` };
    default:
      return { result: "failure", errored: false };
  }
}

function hostOf(explicit: string, podIp: string | undefined): string {
  const host = explicit || podIp;
  if (!host) throw new ProbeError("the pod has no IP address yet");
  return host;
}

/** One attempt of the probe's action; throws ProbeError when it cannot be run. */
export async function runAction(
  spec: ProbeSpec,
  t: ProbeTarget,
  signal?: AbortSignal,
): Promise<ProbeOutcome> {
  const a = spec.action;
  const timeoutMs = spec.timeoutSeconds * 1000;
  switch (a.kind) {
    case "exec":
      return execProbe(
        t.runtime,
        t.containerId,
        expandCommand(a.command, t.container?.env),
        spec.timeoutSeconds,
        t.clock,
        signal,
      );
    case "tcp": {
      const port = resolvePort(a.port, t.container);
      return tcpProbe(hostOf(a.host, t.podIp), port, timeoutMs, t.clock, signal);
    }
    case "http": {
      const port = resolvePort(a.port, t.container);
      const host = hostOf(a.host, t.podIp);
      return httpProbe(
        { scheme: a.scheme, host, port, path: a.path, headers: a.headers },
        timeoutMs,
        t.clock,
        signal,
      );
    }
    case "grpc":
      return grpcProbe(hostOf("", t.podIp), a.port, a.service, spec.timeoutSeconds, t.clock, signal);
    case "invalid":
      throw new ProbeError(a.error);
  }
}
