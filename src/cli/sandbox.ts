// `raven sandbox ...`: the local cluster.
import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_DIR } from "../sandbox/config.ts";

const nonNegative = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a non-negative integer");
  return n;
};

export function sandboxCommand(): Command {
  const cmd = new Command("sandbox").description(
    "run a local Kubernetes-compatible cluster (etcd, API server, controllers, nodes)",
  );

  cmd
    .command("up")
    .description("start the sandbox and print the KUBECONFIG export line when it is ready")
    .option("--dir <dir>", "sandbox directory (state, certificates, logs)", DEFAULT_DIR)
    .option("--virtual-nodes <n>", "register N virtual nodes whose pods run no containers", nonNegative)
    .option("--nodes <n>", "number of nodes that run real containers", nonNegative)
    .option(
      "--controllers <list>",
      'built-in controllers to run: "*" for all, "-name" to leave one out (e.g. "*,-job-controller")',
    )
    .addOption(
      new Option(
        "--backend <name>",
        'SDN backend raven-controller runs with ("neutron": real Neutron and Octavia started on this machine; "none": no raven-controller)',
      ).choices(["embedded", "neutron", "none"]),
    )
    .option(
      "--no-raven-controller",
      "install Raven's CRDs and make pods wait for Raven, but do not start raven-controller (run it yourself)",
    )
    .option("--audit", "write DIR/logs/audit.log: one line per API request (user, verb, resource)")
    .option("--annotation-prefix <prefix>", "prefix of Raven's annotation keys (default raven.io)")
    .addOption(
      new Option(
        "--annotation-names <style>",
        'Raven\'s annotation names: "raven" or "kuryr" (with kuryr.org: the seeds\' keys)',
      ).choices(["raven", "kuryr"]),
    )
    .option("--detach", "return once the sandbox is ready, leaving it running in the background")
    .option("--log-json", "JSON logs on stderr instead of DIR/logs/sandbox.log (and no progress lines)")
    .action(async (o) => {
      const { up } = await import("../sandbox/supervisor.ts");
      const { createLogger } = await import("../util/log.ts");
      const { resolve, join } = await import("node:path");
      const logFile = join(resolve(o.dir), "logs", "sandbox.log");
      await up({
        dir: o.dir,
        virtualNodes: o.virtualNodes,
        nodes: o.nodes,
        controllers: o.controllers,
        backend: o.backend,
        audit: o.audit,
        ravenController: o.ravenController === false ? false : undefined,
        annotationPrefix: o.annotationPrefix,
        annotationNames: o.annotationNames,
        detach: o.detach,
        log: o.logJson ? createLogger("sandbox") : createLogger("sandbox", { file: logFile }),
        progress: o.logJson ? undefined : (line) => process.stderr.write(`${line}\n`),
      });
    });

  cmd
    .command("stop")
    .description("stop a running sandbox, keeping its data for the next 'up'")
    .option("--dir <dir>", "sandbox directory", DEFAULT_DIR)
    .action(async (o) => {
      const { stop } = await import("../sandbox/supervisor.ts");
      if (!(await stop(o.dir))) process.stdout.write(`no sandbox running in ${o.dir}\n`);
      else
        process.stderr.write(
          `stopped the sandbox in ${o.dir}; its state is kept ('raven sandbox up' resumes it)\n`,
        );
    });

  cmd
    .command("down")
    .description("stop the sandbox and remove everything it created (its directory included)")
    .option("--dir <dir>", "sandbox directory", DEFAULT_DIR)
    .option("--keep-data", "keep the directory (etcd data, certificates, logs)")
    .action(async (o) => {
      const { down } = await import("../sandbox/supervisor.ts");
      await down(o.dir, Boolean(o.keepData));
    });

  cmd
    .command("exec")
    .description("run a command in a sandbox host's network namespace: node-1, node-2, ... or external")
    .argument("<host>", "node-1, node-2, ... or external (a host on the external subnet)")
    .argument("<command...>", "the command and its arguments (after --)")
    .option("--dir <dir>", "sandbox directory", DEFAULT_DIR)
    .action(async (host: string, argv: string[], o) => {
      const { execInHost } = await import("../sandbox/exec.ts");
      try {
        process.exitCode = await execInHost(o.dir, host, argv);
      } catch (err) {
        process.stderr.write(`raven sandbox exec: ${(err as Error).message}\n`);
        process.exitCode = 2;
      }
    });

  cmd
    .command("status")
    .description("say what runs in the sandbox")
    .option("--dir <dir>", "sandbox directory", DEFAULT_DIR)
    .option("-o, --output <format>", "text or json", "text")
    .action(async (o) => {
      const { status } = await import("../sandbox/supervisor.ts");
      const s = await status(o.dir);
      if (o.output === "json") {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      } else if (!s.running) {
        process.stdout.write(`sandbox in ${o.dir}: not running\n`);
        process.exitCode = 3;
      } else {
        process.stdout.write(
          `sandbox in ${o.dir}: running (supervisor pid ${s.state?.pid}), API server ${s.server}\n`,
        );
        for (const [name, alive] of Object.entries(s.components))
          process.stdout.write(
            `  ${name.padEnd(20)} ${alive ? "running" : "restarting"} (pid ${s.state?.children[name]})\n`,
          );
      }
    });

  cmd
    .command("apiserver")
    .description("run the sandbox API server (started by 'sandbox up')")
    .option("--dir <dir>", "sandbox directory", DEFAULT_DIR)
    .action(async (o) => {
      const { runApiServer } = await import("../sandbox/run-apiserver.ts");
      await runApiServer(o.dir);
    });

  cmd
    .command("kubelet")
    .description("run a node's kubelet over its containerd (started by 'sandbox up' inside the node's netns)")
    .option("--dir <dir>", "sandbox directory", DEFAULT_DIR)
    .requiredOption("--node <name>", "the node to run, e.g. node-1")
    .action(async (o) => {
      const { runKubelet } = await import("../sandbox/kubelet/main.ts");
      await runKubelet({ dir: o.dir, node: o.node });
    });

  cmd
    .command("controller-manager")
    .description("run the sandbox's built-in controllers (started by 'sandbox up')")
    .option("--dir <dir>", "sandbox directory", DEFAULT_DIR)
    .option("--virtual-nodes <n>", "number of virtual nodes to register", nonNegative, 0)
    .option("--controllers <list>", 'controllers to run: "*" for all, "-name" to leave one out', "*")
    .option("--wait-for-port-annotation", "virtual pods wait for Raven's port annotation for their IP")
    .option(
      "--port-annotation <key>",
      "the annotation holding Raven's port (its IP is the pod IP)",
      "raven.io/port",
    )
    .action(async (o) => {
      const { runControllerManager } = await import("../sandbox/controllers/run.ts");
      await runControllerManager({
        dir: o.dir,
        virtualNodes: o.virtualNodes,
        controllers: o.controllers,
        waitForPortAnnotation: Boolean(o.waitForPortAnnotation),
        portAnnotation: o.portAnnotation,
      });
    });

  return cmd;
}
