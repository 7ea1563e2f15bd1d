// What one probe attempt yields, mirroring pkg/probe: a result and its output text. A probe that
// could not be run at all (an unresolvable port, a runtime error) throws instead; the kubelet
// retries it, reports "errored" and throws the result away.

export type ProbeResult = "success" | "warning" | "failure" | "unknown";

export interface ProbeOutcome {
  result: ProbeResult;
  /** Body, command output or error text: the part after "Liveness probe failed: ". */
  output: string;
}

export const success = (output = ""): ProbeOutcome => ({ result: "success", output });
export const failure = (output: string): ProbeOutcome => ({ result: "failure", output });

/** Most output read from a probe (pkg/probe maxReadLength / maxRespBodyLength: 10 KiB). */
export const MAX_OUTPUT_BYTES = 10 * 1024;

/**
 * A probe that could not be carried out (Go: a non-nil error next to the result): retried, then
 * reported as "<Type> probe errored and resulted in <result> state: <message>" and not counted.
 */
export class ProbeError extends Error {
  readonly result: ProbeResult;
  constructor(message: string, result: ProbeResult = "unknown") {
    super(message);
    this.name = "ProbeError";
    this.result = result;
  }
}
