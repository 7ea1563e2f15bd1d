// Process wiring for `raven agent`: options -> runAgent, signals, exit codes.

import { join } from "node:path";
import type { AnnotationNaming } from "../api/annotations.ts";
import { createLogger } from "../util/log.ts";
import { runAgent } from "./run.ts";

export interface AgentCommandOptions {
  kubeconfig?: string;
  inCluster?: boolean;
  node?: string;
  socket: string;
  annotationPrefix: string;
  annotationNames: AnnotationNaming;
  nodeIp?: string;
  nftTable: string;
  installCni?: boolean;
  hostRoot: string;
  cniBinDir: string;
  cniConfDir: string;
  cniBundle?: string;
  backend: "embedded" | "neutron";
  osCloud?: string;
  clusterId?: string;
  criSocket: string;
  attachmentCniPath: string;
  stateDir: string;
  enforceSecurityGroups?: boolean;
}

export async function runAgentCommand(o: AgentCommandOptions): Promise<void> {
  const log = createLogger("raven-agent");
  const nodeName = o.node ?? process.env.NODE_NAME;
  if (!nodeName) {
    log.fatal("no node name: pass --node or set NODE_NAME");
    process.exit(2);
  }
  const abort = new AbortController();
  process.once("SIGTERM", () => abort.abort());
  process.once("SIGINT", () => abort.abort());
  try {
    if (o.installCni) {
      const { installCni } = await import("./install.ts");
      const done = await installCni({
        hostRoot: o.hostRoot,
        cniBinDir: o.cniBinDir,
        cniConfDir: o.cniConfDir,
        agentSocket: o.socket,
        bundle: o.cniBundle,
      });
      log.info(done, "raven-cni installed");
    }
    await runAgent(
      {
        kubeconfig: o.inCluster ? { inCluster: true, isolate: true } : { path: o.kubeconfig, isolate: true },
        nodeName,
        socket: o.socket,
        annotationPrefix: o.annotationPrefix,
        annotationNaming: o.annotationNames,
        nodeIp: o.nodeIp ?? process.env.NODE_IP,
        nftTable: o.nftTable,
        backend: o.backend,
        osCloud: o.osCloud,
        clusterId: o.clusterId,
        enforceSecurityGroups: o.enforceSecurityGroups,
        attachments: {
          criSocket: o.criSocket,
          cniPath: o.attachmentCniPath.split(":").filter(Boolean),
          stateDir: join(o.stateDir, "attachments"),
        },
        log,
      },
      abort.signal,
    );
  } catch (err) {
    log.fatal({ err }, "raven-agent stopped");
    process.exit(1);
  }
  process.exit(0);
}
