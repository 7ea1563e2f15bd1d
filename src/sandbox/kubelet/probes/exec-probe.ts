// exec probe (pkg/probe/exec over the CRI's ExecSync): exit code 0 succeeds, any other fails with
// the command's output (stdout then stderr, at most 10 KiB, as the kubelet's RunInContainer joins
// them); a timeout fails with `command "..." timed out`; a runtime error makes the probe error.

import {
  CriError,
  type ExecSyncResponse,
  GRPC_DEADLINE_EXCEEDED,
  type RuntimeService,
} from "../../../cri/types.ts";
import { type Clock, deadlineSignal } from "../../../kube/clock.ts";
import { goQuote, grpcErrorText } from "./go-format.ts";
import { failure, MAX_OUTPUT_BYTES, ProbeError, type ProbeOutcome, success } from "./outcome.ts";

/** How long past its timeout we wait for the runtime to report an exec as timed out itself. */
export const EXEC_TIMEOUT_GRACE_MS = 2_000;

const TIMED_OUT = Symbol("timed out");

export async function execProbe(
  runtime: RuntimeService,
  containerId: string,
  command: string[],
  timeoutSeconds: number,
  clock: Clock,
  signal?: AbortSignal,
): Promise<ProbeOutcome> {
  const timedOut = () => failure(`command ${goQuote(command.join(" "))} timed out`);
  const deadline = deadlineSignal(clock, timeoutSeconds * 1000 + EXEC_TIMEOUT_GRACE_MS, signal);
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    if (deadline.signal.aborted) resolve(TIMED_OUT);
    deadline.signal.addEventListener("abort", () => resolve(TIMED_OUT), { once: true });
  });
  let res: ExecSyncResponse | typeof TIMED_OUT;
  try {
    res = await Promise.race([runtime.execSync(containerId, command, timeoutSeconds), expired]);
  } catch (err) {
    if (err instanceof CriError && err.code === GRPC_DEADLINE_EXCEEDED) return timedOut();
    throw new ProbeError(runtimeErrorText(err));
  } finally {
    deadline.dispose();
  }
  if (res === TIMED_OUT) {
    if (signal?.aborted) throw new ProbeError("probe cancelled");
    return timedOut();
  }
  const output = Buffer.concat([toBuffer(res.stdout), toBuffer(res.stderr)])
    .subarray(0, MAX_OUTPUT_BYTES)
    .toString("utf8");
  return res.exitCode === 0 ? success(output) : failure(output);
}

function toBuffer(b: Buffer | Uint8Array | string | undefined): Buffer {
  if (b === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(b) ? b : Buffer.from(b);
}

/** A CRI error as the kubelet prints it (grpc-go's status text), anything else by its message. */
function runtimeErrorText(err: unknown): string {
  if (err instanceof CriError) {
    const desc = err.message.replace(`${err.method}: `, "").replace(/ \(grpc status \d+\)$/, "");
    return grpcErrorText(err.code, desc);
  }
  return err instanceof Error ? err.message : String(err);
}
