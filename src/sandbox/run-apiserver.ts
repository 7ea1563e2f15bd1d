// Entry point of the API server process that `raven sandbox up` starts.
import { join } from "node:path";
import { createLogger } from "../util/log.ts";
import { ApiServer } from "./apiserver/server.ts";
import { paths, readConfig } from "./config.ts";
import { pkiPaths } from "./pki.ts";

export async function runApiServer(dir: string): Promise<void> {
  const cfg = readConfig(dir);
  if (!cfg) throw new Error(`no sandbox config in ${dir}; start it with 'raven sandbox up'`);
  const p = paths(cfg.dir);
  const pki = pkiPaths(p.pki);
  const log = createLogger("apiserver");
  const server = new ApiServer({
    etcdEndpoint: `http://127.0.0.1:${cfg.etcdClientPort}`,
    port: cfg.apiserverPort,
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    tokenFile: p.tokens,
    serviceCidr: cfg.serviceCidr,
    auditLog: cfg.audit ? join(p.logs, "audit.log") : undefined,
    log,
  });
  await server.start();
  log.info({ port: server.port, dir: join(cfg.dir) }, "API server ready");
  const stop = () => {
    log.info("stopping");
    void server.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
