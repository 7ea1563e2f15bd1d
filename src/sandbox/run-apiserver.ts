// Entry point of the API server process that `raven sandbox up` starts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../util/log.ts";
import { kubeletStreamerFor } from "./apiserver/http/kubelet-proxy.ts";
import { ApiServer } from "./apiserver/server.ts";
import { parsedOf } from "./apiserver/storage/watch-cache.ts";
import { paths, readConfig } from "./config.ts";
import { gatewayIp } from "./node/network.ts";
import { etcdClientTls, pkiPaths } from "./pki.ts";

export async function runApiServer(dir: string): Promise<void> {
  const cfg = readConfig(dir);
  if (!cfg) throw new Error(`no sandbox config in ${dir}; start it with 'raven sandbox up'`);
  const p = paths(cfg.dir);
  const pki = pkiPaths(p.pki);
  const log = createLogger("apiserver");
  const server = new ApiServer({
    etcdEndpoint: `https://127.0.0.1:${cfg.etcdClientPort}`,
    etcdTls: etcdClientTls(p.pki),
    port: cfg.apiserverPort,
    // Real nodes reach the API server on their underlay's gateway (the bridge exists by now).
    extraHosts: cfg.nodes > 0 ? [gatewayIp(cfg.nodeCidr)] : [],
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    tokenFile: p.tokens,
    serviceCidr: cfg.serviceCidr,
    auditLog: cfg.audit ? join(p.logs, "audit.log") : undefined,
    log,
    // log/exec/attach/portforward of pods on real nodes go to their kubelet (Node read from our cache).
    streamerFor: (pod) => streamerFor(pod),
  });
  const streamerFor = kubeletStreamerFor({
    nodeByName: (name) => {
      const cached = server.cache.bucket("/registry/nodes/").items.get(`/registry/nodes/${name}`);
      return cached && parsedOf(cached);
    },
    ca: readFileSync(pki.caCert),
    token: cfg.tokens.kubelet?.token,
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
