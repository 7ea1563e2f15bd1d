// `raven controller`: runs raven-controller against any Kubernetes API server.

import { Command, InvalidArgumentError, Option } from "commander";
import { withBackendOptions } from "./backend-options.ts";

const cidr = (v: string): string => {
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(v))
    throw new InvalidArgumentError("must be an IPv4 CIDR like 192.168.0.0/16");
  return v;
};
const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
};

const nonNegative = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a non-negative integer");
  return n;
};

export function controllerCommand(): Command {
  return withBackendOptions(
    new Command("controller").description(
      "run raven-controller: pods become ports, Services become load balancers, external IPs become floating IPs",
    ),
  )
    .option("--kubeconfig <file>", "kubeconfig to use (default: $KUBECONFIG, ~/.kube/config)")
    .option("--in-cluster", "use the pod's service account (when running in a cluster)")
    .option(
      "--port-pool-min <n>",
      "neutron: keep this many free ports per network and node, made ahead so a pod takes one with one update (0: no pools)",
      nonNegative,
      0,
    )
    .option("--port-pool-batch <n>", "neutron: ports made per bulk create when a pool runs low", positive, 10)
    .option(
      "--port-pool-max <n>",
      "neutron: a pod's port goes back to its pool only below this (0: no limit)",
      nonNegative,
      0,
    )
    .option("--install-crds", "create or update the raven.io CRDs at start (embedded backend)")
    .option("--annotation-prefix <prefix>", "prefix of the annotation keys", "raven.io")
    .addOption(
      new Option(
        "--annotation-names <style>",
        'annotation key names: "raven" (port, subnet, lb-vip, ...) or "kuryr" (neutron-port, neutron-subnet, neutron-vip, ...)',
      )
        .choices(["raven", "kuryr"])
        .default("raven"),
    )
    .option("--pod-cidr <cidr>", "range namespace subnets are carved from", cidr, "192.168.0.0/16")
    .option(
      "--namespace-prefix-length <n>",
      "size of each namespace's subnet carved from --pod-cidr",
      positive,
      24,
    )
    .option("--default-namespace-cidr <cidr>", "the default namespace's subnet", cidr, "192.168.0.0/24")
    .option("--service-cidr <cidr>", "the Services' ClusterIP range (VIP subnet)", cidr, "10.0.0.0/24")
    .option(
      "--external-cidr <cidr>",
      "floating IP range; externalIPs outside it are ignored",
      cidr,
      "172.16.0.0/24",
    )
    .option(
      "--pod-workers <n>",
      "concurrent pod reconciles (each waits on two API round trips)",
      positive,
      64,
    )
    .option("--service-workers <n>", "concurrent Service reconciles", positive, 16)
    .option(
      "--endpoint-batch-ms <ms>",
      "how long a Service waits after an EndpointSlice change, to fold a burst into one load-balancer write",
      nonNegative,
      500,
    )
    .option(
      "--ip-reuse-cooldown <seconds>",
      "a released pod address goes out again within this only when no other is free (longer than conntrack's SYN_SENT timeout)",
      nonNegative,
      120,
    )
    .option("--no-leader-elect", "run without leader election (a single replica)")
    .option("--leader-elect-namespace <ns>", "namespace of the leader Lease", "kube-system")
    .option("--leader-elect-name <name>", "name of the leader Lease", "raven-controller")
    .option("--identity <id>", "this replica's identity in the Lease (default: host_pid)")
    .option("--lease-duration <seconds>", "leader lease duration", positive, 15)
    .option("--listen <host:port>", "address for /healthz, /readyz and /metrics", "127.0.0.1:9464")
    .option(
      "--uninstall",
      "instead of running: release everything Raven owns (floating IPs, load balancers, ports, networks) and remove its annotations and finalizers, then exit; stop the controller Deployment first",
    )
    .action(async (o) => {
      const { runControllerCommand } = await import("../controller/main.ts");
      await runControllerCommand(o);
    });
}
