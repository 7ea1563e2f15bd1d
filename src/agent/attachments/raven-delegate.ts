// Attachments to Raven networks (a NAD of type "raven"): no plugin process, the agent's own
// Binder binds the port raven-controller made for the attachment, as it binds a pod's primary
// port, through the same CNI request it answers for raven-cni.
import type { CniRequest } from "../../api/cni.ts";
import type { Binder } from "../binder.ts";
import type { CniConfig, CniExec, CniInvocation, CniResult } from "./cni-exec.ts";
import { CniError } from "./cni-exec.ts";

/** The type a NAD's config names for a Raven network. */
export const RAVEN_TYPE = "raven";

/** How long an ADD waits for the attachment's port (raven-controller makes it meanwhile). */
const ADD_TIMEOUT_MS = 60_000;

export class RavenDelegate {
  private readonly binder: Pick<Binder, "handle">;

  constructor(binder: Pick<Binder, "handle">) {
    this.binder = binder;
  }

  async add(config: CniConfig, inv: CniInvocation): Promise<CniResult> {
    const reply = await this.binder.handle(request("ADD", config, inv), AbortSignal.timeout(ADD_TIMEOUT_MS));
    if ("error" in reply)
      throw new CniError(RAVEN_TYPE, reply.error.code, reply.error.msg, reply.error.details);
    return (reply.result ?? {}) as CniResult;
  }

  async del(config: CniConfig, inv: CniInvocation): Promise<void> {
    const reply = await this.binder.handle(request("DEL", config, inv), AbortSignal.timeout(ADD_TIMEOUT_MS));
    if ("error" in reply)
      throw new CniError(RAVEN_TYPE, reply.error.code, reply.error.msg, reply.error.details);
  }
}

function request(command: "ADD" | "DEL", config: CniConfig, inv: CniInvocation): CniRequest {
  return {
    command,
    containerId: inv.containerId,
    netns: inv.netns,
    ifname: inv.ifname,
    args: inv.args,
    config: { ...config, cniVersion: config.cniVersion ?? "1.0.0" },
  };
}

/** Runs a NAD's config: Raven networks in-process, everything else through its plugins. */
export function delegates(
  raven: RavenDelegate,
  exec: Pick<CniExec, "add" | "del">,
): Pick<CniExec, "add" | "del"> {
  return {
    add: (config, inv) => (config.type === RAVEN_TYPE ? raven.add(config, inv) : exec.add(config, inv)),
    del: (config, inv, prev) =>
      config.type === RAVEN_TYPE ? raven.del(config, inv) : exec.del(config, inv, prev),
  };
}
