// `raven net networks|subnets|ports|lbs|pools|members|fips`: the SDN backend's view, printed
// like the neutron CLI's list commands (or as JSON).

import { Command, Option } from "commander";
import type { ListingKind } from "../sdn/listing.ts";
import { withBackendOptions } from "./backend-options.ts";

const KINDS: { kind: ListingKind; aliases: string[]; description: string }[] = [
  {
    kind: "networks",
    aliases: ["net-list"],
    description: "networks (one per namespace, plus the service and external networks)",
  },
  { kind: "subnets", aliases: ["subnet-list"], description: "subnets and their allocation pools" },
  { kind: "ports", aliases: ["port-list"], description: "ports (one per pod, named after it)" },
  {
    kind: "lbs",
    aliases: ["lb-vip-list", "loadbalancers"],
    description: "load balancers (one per Service; the VIP is the ClusterIP)",
  },
  { kind: "pools", aliases: ["lb-pool-list"], description: "load-balancer pools (one per Service port)" },
  { kind: "members", aliases: ["lb-member-list"], description: "pool members (one per ready endpoint)" },
  {
    kind: "fips",
    aliases: ["floatingip-list"],
    description: "floating IPs (externalIPs and type LoadBalancer)",
  },
];

const collect = (v: string, prev: string[]) => [...prev, v];

export function netCommand(): Command {
  const cmd = new Command("net").description(
    "show the SDN backend's networks, ports, load balancers and floating IPs",
  );
  for (const k of KINDS) {
    withBackendOptions(cmd.command(k.kind))
      .aliases(k.aliases)
      .description(`list ${k.description}`)
      .option("-n, --namespace <ns>", "only objects owned by this namespace's pods or Services")
      .option("--name <name>", "only objects with this name")
      .option("-c, --column <column>", "show this column (repeatable, like neutron's -c)", collect, [])
      .addOption(
        new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"),
      )
      .option("--kubeconfig <file>", "kubeconfig of the cluster (default: $KUBECONFIG, ~/.kube/config)")
      .action(async (o) => {
        const { printListing } = await import("./net-print.ts");
        await printListing(k.kind, o);
      });
  }
  return cmd;
}
