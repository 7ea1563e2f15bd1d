// The `raven` command. Subcommands load their modules lazily so `--help` stays fast.
import { Command } from "commander";
import { sandboxCommand } from "./sandbox.ts";

const program = new Command()
  .name("raven")
  .description("Kubernetes pod networking on an SDN, and a single-machine sandbox cluster to run it on")
  .showHelpAfterError();

program.addCommand(sandboxCommand());

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(1);
});
