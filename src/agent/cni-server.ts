// raven-agent's side of the CNI contract: a unix socket only root can reach (the runtime runs
// raven-cni as root), one request per connection, each answered by the binder within the
// deadline the plugin's config gives.
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { dirname } from "node:path";
import { z } from "zod";
import { CNI_COMMANDS, CNI_ERRORS, type CniReply, type CniRequest, cniError } from "../api/cni.ts";
import type { Logger } from "../kube/log.ts";

const RequestSchema = z.object({
  command: z.enum(CNI_COMMANDS).exclude(["VERSION"]),
  containerId: z.string(),
  netns: z.string(),
  ifname: z.string(),
  args: z.record(z.string(), z.string()),
  config: z.record(z.string(), z.unknown()),
});

/** A little less than the plugin's own deadline, so the plugin hears an answer rather than its timeout. */
const MARGIN_MS = 2_000;

/** Answers one request; may note in `timing` where its time went (it is logged with the call). */
export type CniHandler = (
  req: CniRequest,
  signal: AbortSignal,
  timing: Record<string, number>,
) => Promise<CniReply>;

export async function serveCni(socket: string, handle: CniHandler, log: Logger): Promise<Server> {
  mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
  rmSync(socket, { force: true }); // a previous agent's
  // Half-open: the plugin half-closes after its request and waits for the answer.
  const server = createServer({ allowHalfOpen: true }, (conn) => {
    let text = "";
    conn.setEncoding("utf8");
    conn.on("data", (d) => {
      text += d;
    });
    conn.on("error", () => {});
    conn.on("end", async () => {
      const parsed = (() => {
        try {
          return RequestSchema.safeParse(JSON.parse(text));
        } catch {
          return undefined;
        }
      })();
      if (!parsed?.success) {
        conn.end(
          JSON.stringify({
            error: cniError("1.1.0", CNI_ERRORS.decodeFailure, "raven-agent cannot read the request"),
          }),
        );
        return;
      }
      const req = parsed.data;
      const seconds = typeof req.config.timeoutSeconds === "number" ? req.config.timeoutSeconds : 90;
      const started = Date.now();
      const timing: Record<string, number> = {};
      const reply = await handle(
        req,
        AbortSignal.timeout(Math.max(1000, seconds * 1000 - MARGIN_MS)),
        timing,
      );
      // The runtime waits for the answer, not for the log line.
      conn.end(JSON.stringify(reply));
      log.info(
        {
          command: req.command,
          pod: `${req.args.K8S_POD_NAMESPACE ?? ""}/${req.args.K8S_POD_NAME ?? ""}`,
          container: req.containerId.slice(0, 12),
          ms: Date.now() - started,
          ...timing,
          ...("error" in reply ? { error: reply.error.msg, details: reply.error.details } : {}),
        },
        "CNI",
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, () => resolve());
  });
  chmodSync(socket, 0o600);
  return server;
}
