// Container lifecycle handlers (pkg/kubelet/lifecycle/handlers.go): exec through CRI ExecSync,
// httpGet from the kubelet's network namespace to the pod IP (the http probe's client), sleep.
// The answer is the handler's failure message (for the log; the kubelet's events carry only
// "PostStartHook failed" / "PreStopHook failed" so a hook cannot leak secrets into events),
// or undefined when the hook succeeded.
import type { RuntimeService } from "../cri/types.ts";
import { type Clock, sleep, systemClock } from "../kube/clock.ts";
import type { KubeObject } from "../kube/objects.ts";
import { httpProbe } from "./probes/http-probe.ts";
import { resolvePort } from "./probes/spec.ts";

/** NewRequestForHTTPGetAction(..., "lifecycle"): the User-Agent of lifecycle requests. */
export const LIFECYCLE_USER_AGENT = "kube-lifecycle/1.33";

export interface HookEnv {
  runtime: Pick<RuntimeService, "execSync">;
  /** The pod's first IP (the node IP for hostNetwork pods); httpGet without a host needs it. */
  podIp: string | undefined;
  /** Bound on the whole hook (the grace period for preStop); 0: none, as for postStart. */
  timeoutMs: number;
  clock?: Clock;
}

/** `name_namespace(uid)`, the kubelet's format.Pod. */
const formatPod = (pod: KubeObject): string =>
  `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;

/** No timeout (0) still needs a bound for the http client's deadline: a day is "none" here. */
const UNBOUNDED_MS = 24 * 3600_000;

export async function runLifecycleHook(
  pod: KubeObject,
  container: any,
  containerId: string,
  handler: any,
  env: HookEnv,
): Promise<string | undefined> {
  const name = container?.name ?? "";
  const where = `for Container ${JSON.stringify(name)} in Pod ${JSON.stringify(formatPod(pod))}`;
  const clock = env.clock ?? systemClock;
  if (handler?.exec) {
    const cmd: string[] = handler.exec.command ?? [];
    let error: string | undefined;
    let output = "";
    try {
      const r = await env.runtime.execSync(containerId, cmd, Math.ceil(env.timeoutMs / 1000));
      output = `${r.stdout}${r.stderr}`;
      if (r.exitCode !== 0) error = `command '${cmd.join(" ")}' exited with ${r.exitCode}: ${r.stderr}`;
    } catch (err) {
      error = String((err as Error)?.message ?? err);
    }
    if (error === undefined) return undefined;
    return `Exec lifecycle hook ([${cmd.join(" ")}]) ${where} failed - error: ${error}, message: ${JSON.stringify(output)}`;
  }
  if (handler?.httpGet) {
    const g = handler.httpGet;
    const error = await runHttpGet(g, container, env, clock);
    if (error === undefined) return undefined;
    return `HTTP lifecycle hook (${g.path ?? ""}) ${where} failed - error: ${error}`;
  }
  if (handler?.sleep) {
    const seconds = Number(handler.sleep.seconds ?? 0);
    const ms = env.timeoutMs > 0 ? Math.min(seconds * 1000, env.timeoutMs) : seconds * 1000;
    await sleep(clock, ms);
    return undefined;
  }
  // tcpSocket is deprecated as a lifecycle handler: no runner handles it, so Run's default case
  // answers (the API documents that such hooks "fail at runtime").
  const kind = handler?.tcpSocket ? "tcpSocket" : "none";
  return `Cannot run handler: invalid handler: ${kind} (only exec, httpGet and sleep lifecycle handlers run)`;
}

/** runHTTPHandler: any HTTP response is success; only a request that gets none fails. */
async function runHttpGet(g: any, container: any, env: HookEnv, clock: Clock): Promise<string | undefined> {
  const host: string = g.host || env.podIp || "";
  if (!host) return "failed to find networking container: the pod has no IP";
  let port: number;
  try {
    port = g.port === undefined || g.port === "" ? 80 : resolvePort(g.port, container);
  } catch (err) {
    return (err as Error).message;
  }
  const scheme = String(g.scheme ?? "HTTP").toLowerCase();
  if (scheme !== "http" && scheme !== "https") return `unsupported scheme ${JSON.stringify(g.scheme)}`;
  const headers: { name: string; value: string }[] = (g.httpHeaders ?? []).map((h: any) => ({
    name: String(h.name),
    value: String(h.value ?? ""),
  }));
  if (!headers.some((h) => h.name.toLowerCase() === "user-agent"))
    headers.push({ name: "User-Agent", value: LIFECYCLE_USER_AGENT });
  try {
    const outcome = await httpProbe(
      { scheme, host, port, path: g.path ?? "", headers },
      env.timeoutMs > 0 ? env.timeoutMs : UNBOUNDED_MS,
      clock,
    );
    // The probe judges status codes; a lifecycle hook does not (discardHTTPRespBody only).
    if (outcome.result === "failure" && !outcome.output.startsWith("HTTP probe failed with statuscode"))
      return outcome.output;
    return undefined;
  } catch (err) {
    return String((err as Error)?.message ?? err);
  }
}
