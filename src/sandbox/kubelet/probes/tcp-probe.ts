// tcpSocket probe (pkg/probe/tcp): success when a TCP connection opens within the timeout.
import net from "node:net";
import { type Clock, deadlineSignal } from "../../../kube/clock.ts";
import { dialError, dialTimeout } from "./go-format.ts";
import { failure, type ProbeOutcome, success } from "./outcome.ts";

export function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
  clock: Clock,
  signal?: AbortSignal,
): Promise<ProbeOutcome> {
  const deadline = deadlineSignal(clock, timeoutMs, signal);
  return new Promise<ProbeOutcome>((resolve) => {
    const socket = net.connect({ host, port });
    const done = (outcome: ProbeOutcome) => {
      deadline.signal.removeEventListener("abort", onAbort);
      deadline.dispose();
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = () => done(failure(dialTimeout(host, port)));
    if (deadline.signal.aborted) return onAbort();
    deadline.signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => done(success()));
    socket.once("error", (err) => done(failure(dialError(host, port, err))));
  });
}
