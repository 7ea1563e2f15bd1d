// The `raven` command. Subcommands load their modules lazily so `--help` stays fast.
import { Command } from "commander";
import { agentCommand } from "./agent.ts";
import { controllerCommand } from "./controller.ts";
import { netCommand } from "./net.ts";
import { sandboxCommand } from "./sandbox.ts";

const program = new Command()
  .name("raven")
  .description("Kubernetes pod networking on an SDN, and a single-machine sandbox cluster to run it on")
  .showHelpAfterError();

program.addCommand(sandboxCommand());
program.addCommand(controllerCommand());
program.addCommand(agentCommand());
program.addCommand(netCommand());

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(1);
});
