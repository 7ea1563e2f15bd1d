// `raven agent`: raven-agent, one per node (deploy/agent.yaml runs it as a DaemonSet).

import { Command, Option } from "commander";
import { DEFAULT_AGENT_SOCKET } from "../api/cni.ts";
import { withBackendOptions } from "./backend-options.ts";

export function agentCommand(): Command {
  return withBackendOptions(
    new Command("agent").description(
      "run raven-agent on this node: binds pods to their ports for raven-cni and proxies Services",
    ),
    "where the ports are: the cluster's custom resources, or Neutron",
  )
    .option("--kubeconfig <file>", "kubeconfig to use (default: $KUBECONFIG, ~/.kube/config)")
    .option("--in-cluster", "use the pod's service account (when running in a cluster)")
    .option("--node <name>", "this node's name (default: $NODE_NAME)")
    .option("--node-ip <ip>", "this node's address (default: $NODE_IP, else the Node's InternalIP)")
    .option("--socket <path>", "the unix socket raven-cni calls", DEFAULT_AGENT_SOCKET)
    .option("--nft-table <name>", "the nftables table of Services and floating IPs", "raven")
    .option("--install-cni", "first install raven-cni and its conflist for the node's container runtime")
    .option("--host-root <dir>", "where the host's / is mounted (with --install-cni)", "/")
    .option("--cni-bin-dir <dir>", "the runtime's CNI plugin dir on the host", "/opt/cni/bin")
    .option("--cni-conf-dir <dir>", "the runtime's CNI config dir on the host", "/etc/cni/net.d")
    .option("--cni-bundle <file>", "a prebuilt raven-cni bundle (default: build it)")
    .option(
      "--cri-socket <path>",
      "the container runtime's CRI socket (hot-plugged attachments find pods' network namespaces there)",
      "/run/containerd/containerd.sock",
    )
    .option(
      "--attachment-cni-path <dirs>",
      "where the plugins of NetworkAttachmentDefinitions are (colon-separated)",
      "/opt/cni/bin:/usr/lib/cni",
    )
    .option(
      "--state-dir <dir>",
      "where raven-agent keeps what it has attached (across restarts)",
      "/var/lib/raven",
    )
    .option(
      "--enforce-security-groups",
      "neutron: enforce Raven's security groups (NetworkPolicies) on this node in nftables, for a Neutron without L2 agents (the sandbox's); off on a real cloud",
    )
    .option("--annotation-prefix <prefix>", "prefix of the annotation keys", "raven.io")
    .addOption(
      new Option("--annotation-names <style>", 'annotation key names: "raven" or "kuryr"')
        .choices(["raven", "kuryr"])
        .default("raven"),
    )
    .action(async (o) => {
      const { runAgentCommand } = await import("../agent/main.ts");
      await runAgentCommand(o);
    });
}
