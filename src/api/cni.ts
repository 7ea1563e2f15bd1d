// The CNI contract: what raven-cni (the thin plugin the container runtime runs) and raven-agent
// (which does the work) say to each other over the agent's unix socket, and the CNI spec's
// constants both need. No dependencies: raven-cni is bundled from this and Node's builtins, and
// starts once per CNI call.
//
// One request per connection: the plugin writes the request as one JSON line and half-closes;
// the agent answers one JSON object (a CNI result, or a CNI error) and closes.

/** The CNI spec version raven-cni implements, and every version whose configs it accepts. */
export const CNI_SPEC_VERSION = "1.1.0";
export const SUPPORTED_CNI_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

export const CNI_COMMANDS = ["ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** The spec's well-known error codes (section "Error"). */
export const CNI_ERRORS = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD requests (yet). */
  notAvailable: 50,
  /** STATUS: not available, and existing containers may have limited connectivity. */
  notAvailableLimitedConnectivity: 51,
} as const;

/** Where raven-agent listens for raven-cni, unless the network config says `agentSocket`. */
export const DEFAULT_AGENT_SOCKET = "/run/raven/agent.sock";

/** A CNI call as raven-cni hands it on: the environment's parameters and the network config. */
export interface CniRequest {
  command: Exclude<CniCommand, "VERSION">;
  containerId: string;
  /** Empty on containerd's second DEL (after the sandbox's netns is gone). */
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID, ...). */
  args: Record<string, string>;
  /** The network configuration from stdin (with prevResult and runtimeConfig when given). */
  config: Record<string, unknown>;
}

/** The spec's error object. */
export interface CniError {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** What the agent answers: a result to print (none for DEL, STATUS, GC), or an error. */
export type CniReply = { result?: unknown } | { error: CniError };

/** `K8S_POD_NAMESPACE=a;K8S_POD_NAME=b;IgnoreUnknown=1` -> pairs; undefined when malformed. */
export function parseCniArgs(text: string | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(";")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    if (eq <= 0) return undefined;
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function cniError(cniVersion: string, code: number, msg: string, details?: string): CniError {
  return details ? { cniVersion, code, msg, details } : { cniVersion, code, msg };
}
