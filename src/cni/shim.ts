// raven-cni: the plugin the container runtime runs, kept thin (cilium's shape: the agent owns the
// state). It reads the CNI environment and the network config, answers VERSION itself, hands
// every other command to raven-agent over its unix socket and prints the agent's answer. It
// never hangs: the whole call has a deadline. While the agent cannot be reached it answers the
// spec's "try again later" (11); STATUS answers "not available" (50).
import { connect } from "node:net";
import {
  CNI_COMMANDS,
  CNI_ERRORS,
  CNI_SPEC_VERSION,
  type CniCommand,
  type CniError,
  type CniReply,
  type CniRequest,
  cniError,
  DEFAULT_AGENT_SOCKET,
  parseCniArgs,
  SUPPORTED_CNI_VERSIONS,
} from "../api/cni.ts";

/** The whole call's deadline unless the config says `timeoutSeconds` (an ADD waits for Raven's port). */
export const DEFAULT_TIMEOUT_MS = 90_000;

export interface ShimOutput {
  stdout: string;
  exitCode: number;
}

/** Sends one request to the agent at `socket` and reads its one answer, within `timeoutMs`. */
export type AgentCall = (socket: string, request: CniRequest, timeoutMs: number) => Promise<CniReply>;

/** Runs one CNI call: environment + stdin in, what to print and the exit code out. */
export async function runCni(
  env: Record<string, string | undefined>,
  stdin: string,
  call: AgentCall = callAgent,
): Promise<ShimOutput> {
  const command = env.CNI_COMMAND as CniCommand | undefined;
  let config: Record<string, unknown> = {};
  if (command !== "VERSION" || stdin.trim()) {
    try {
      const parsed = JSON.parse(stdin);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
        throw new Error("not a JSON object");
      config = parsed;
    } catch (err) {
      return fail(
        CNI_SPEC_VERSION,
        CNI_ERRORS.decodeFailure,
        "cannot decode the network configuration",
        String(err),
      );
    }
  }
  const version = typeof config.cniVersion === "string" ? config.cniVersion : CNI_SPEC_VERSION;
  if (command === "VERSION") return ok({ cniVersion: version, supportedVersions: SUPPORTED_CNI_VERSIONS });
  if (!command || !CNI_COMMANDS.includes(command))
    return fail(version, CNI_ERRORS.invalidEnvironment, `unknown CNI_COMMAND "${command ?? ""}"`);
  if (!SUPPORTED_CNI_VERSIONS.includes(version))
    return fail(
      version,
      CNI_ERRORS.incompatibleVersion,
      `CNI version ${version} is not supported`,
      `supported: ${SUPPORTED_CNI_VERSIONS.join(", ")}`,
    );
  const args = parseCniArgs(env.CNI_ARGS);
  if (!args) return fail(version, CNI_ERRORS.invalidEnvironment, `malformed CNI_ARGS "${env.CNI_ARGS}"`);
  // Per the spec: ADD, DEL and CHECK name a container; ADD and CHECK also a netns and an
  // interface (containerd's second DEL comes without a netns).
  const perContainer = command === "ADD" || command === "DEL" || command === "CHECK";
  for (const name of perContainer ? ["CNI_CONTAINERID", "CNI_IFNAME"] : [])
    if (!env[name]) return fail(version, CNI_ERRORS.invalidEnvironment, `${name} is not set`);
  if ((command === "ADD" || command === "CHECK") && !env.CNI_NETNS)
    return fail(version, CNI_ERRORS.invalidEnvironment, "CNI_NETNS is not set");

  const socket = typeof config.agentSocket === "string" ? config.agentSocket : DEFAULT_AGENT_SOCKET;
  const timeoutMs =
    typeof config.timeoutSeconds === "number" && config.timeoutSeconds > 0
      ? config.timeoutSeconds * 1000
      : DEFAULT_TIMEOUT_MS;
  const request: CniRequest = {
    command,
    containerId: env.CNI_CONTAINERID ?? "",
    netns: env.CNI_NETNS ?? "",
    ifname: env.CNI_IFNAME ?? "",
    args,
    config,
  };
  let reply: CniReply;
  try {
    reply = await call(socket, request, timeoutMs);
  } catch (err) {
    const code = command === "STATUS" ? CNI_ERRORS.notAvailable : CNI_ERRORS.tryAgainLater;
    return fail(
      version,
      code,
      `raven-agent is not reachable at ${socket}`,
      String((err as Error).message ?? err),
    );
  }
  if ("error" in reply)
    return { stdout: `${JSON.stringify({ ...reply.error, cniVersion: version })}\n`, exitCode: 1 };
  return reply.result === undefined ? { stdout: "", exitCode: 0 } : ok(reply.result);
}

const ok = (result: unknown): ShimOutput => ({ stdout: `${JSON.stringify(result)}\n`, exitCode: 0 });

function fail(cniVersion: string, code: number, msg: string, details?: string): ShimOutput {
  const error: CniError = cniError(cniVersion, code, msg, details);
  return { stdout: `${JSON.stringify(error)}\n`, exitCode: 1 };
}

/** The real call: one connection to the agent's unix socket, one JSON line each way. */
export function callAgent(socket: string, request: CniRequest, timeoutMs: number): Promise<CniReply> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on("connect", () => conn.end(`${JSON.stringify(request)}\n`));
    conn.on("data", (c) => chunks.push(c));
    conn.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8").trim();
      try {
        const reply = JSON.parse(text);
        if (!reply || typeof reply !== "object") throw new Error("not an object");
        resolve(reply as CniReply);
      } catch {
        reject(
          new Error(text ? `unreadable answer: ${text.slice(0, 200)}` : "the agent closed without answering"),
        );
      }
    });
  });
}
