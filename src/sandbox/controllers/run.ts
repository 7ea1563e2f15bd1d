// Entry point of the controller-manager process: every built-in controller over one set of
// shared informers, talking to the API server like any client.
import { KubeClient } from "../../kube/client.ts";
import { SharedInformerFactory } from "../../kube/informer-factory.ts";
import { createLogger } from "../../util/log.ts";
import { paths, readConfig } from "../config.ts";
import { type ControllerContext, makeRecorders } from "./context.ts";
import { builtinControllers, selectControllers } from "./registry.ts";

export interface ControllerManagerOptions {
  dir: string;
  virtualNodes: number;
  /** kube-controller-manager style selection: "*", "name", "-name". */
  controllers: string;
  waitForPortAnnotation: boolean;
  portAnnotation: string;
}

export async function runControllerManager(opts: ControllerManagerOptions): Promise<void> {
  const cfg = readConfig(opts.dir);
  if (!cfg) throw new Error(`no sandbox config in ${opts.dir}`);
  const log = createLogger("controller-manager");
  const controllers = selectControllers(
    builtinControllers({
      virtualNodes: opts.virtualNodes,
      portAnnotation: opts.portAnnotation,
      waitForPortAnnotation: opts.waitForPortAnnotation,
    }),
    opts.controllers,
  );
  const client = await KubeClient.fromKubeConfig({
    path: paths(cfg.dir).componentKubeconfig("controller-manager"),
  });
  const abort = new AbortController();
  const informers = new SharedInformerFactory(client, { logger: log });
  const recorders = makeRecorders(client, log);
  const ctx: ControllerContext = {
    client,
    informers,
    log,
    signal: abort.signal,
    recorder: recorders.recorder,
  };
  for (const c of controllers) c.setup(ctx);
  informers.start(abort.signal);
  await informers.waitForCacheSync(abort.signal);
  log.info({ controllers: controllers.map((c) => c.name) }, "informers synced; controllers running");
  const stop = () => {
    log.info("stopping");
    abort.abort();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  await Promise.all(
    controllers.map((c) =>
      c.run(ctx).catch((err) => {
        log.fatal({ err, controller: c.name }, "controller failed");
        process.exit(1);
      }),
    ),
  );
  await recorders.close();
  await client.close();
  process.exit(0);
}
