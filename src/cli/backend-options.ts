// The options that pick an SDN backend, shared by `raven controller`, `raven agent` and `raven net`.
import { type Command, Option } from "commander";

export function withBackendOptions(cmd: Command, backendHelp = "SDN backend"): Command {
  return cmd
    .addOption(
      new Option("--backend <name>", backendHelp).choices(["embedded", "neutron"]).default("embedded"),
    )
    .option(
      "--os-cloud <name>",
      "neutron: the cloud in clouds.yaml (default: $OS_CLOUD, else the OS_* variables)",
    )
    .option(
      "--cluster-id <id>",
      "neutron: names this cluster's objects in OpenStack, so only they are ever adopted or swept (default: the kube-system namespace's UID)",
    );
}
