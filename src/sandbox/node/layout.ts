// Where a sandbox node's pieces live: its network namespace, addresses, containerd dirs and
// socket, CNI config, pod logs and volumes. Every name the host sees carries the sandbox's
// instance id (DESIGN.md safety rule), so cleanup can delete exactly what this sandbox made.
import { join } from "node:path";

export interface NodeLayout {
  /** The Kubernetes Node name. */
  name: string;
  /** 1-based. */
  index: number;
  /** Network namespace name (under /run/netns), e.g. rv1a2b3c-node1. */
  netns: string;
  netnsPath: string;
  /** Host end of the node's veth on the underlay bridge (<= 15 chars). */
  hostVeth: string;
  /** The node's address on the underlay (its InternalIP) and the underlay prefix length. */
  nodeIp: string;
  underlayPrefix: number;
  /** The host's address on the underlay bridge: where the node reaches the API server. */
  gatewayIp: string;
  /** This node's pod range (reference CNI plugins' host-local IPAM). */
  podCidr: string;
  /** Bridge inside the node netns that pods attach to. */
  podBridge: string;
  /** Everything the node writes on disk. */
  root: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  containerdConfig: string;
  runcRoot: string;
  cniConfDir: string;
  cniDataDir: string;
  /** The CNI plugins containerd runs for this node (raven-cni, and links to the reference ones). */
  cniBinDir: string;
  /** raven-agent's CNI socket on this node. */
  agentSocket: string;
  /** Parent of each pod's log directory (<namespace>_<name>_<uid>/<container>/<restart>.log). */
  podLogsDir: string;
  /** Parent of each pod's volume directories (<uid>/volumes/<name>). */
  podsDir: string;
  /** Kubelet's own state (checkpoints). */
  kubeletDir: string;
  /** Static pod manifests: DIR/manifests/<node>/. */
  manifestsDir: string;
  /** Kubelet's HTTPS port on nodeIp (logs, exec, attach, port-forward). */
  kubeletPort: number;
}

export interface NodeNetworkPlan {
  instanceId: string;
  /** The underlay, e.g. 10.254.17.0/24: the host bridge takes .1, node i takes .(10+i). */
  nodeCidr: string;
  /** Pod ranges: node i gets the i-th /24 of this /16, e.g. 10.244.0.0/16 -> 10.244.i.0/24. */
  nodePodCidr: string;
}

export const CNI_BIN_DIR = "/usr/lib/cni";
export const KUBELET_PORT = 10250;

export const nodeName = (index: number): string => `node-${index}`;

/** Host bridge joining the sandbox's nodes (<= 15 chars). */
export const underlayBridge = (instanceId: string): string => `${instanceId}-br`;

function octets(cidr: string): number[] {
  return cidr.split("/")[0].split(".").map(Number);
}

export function nodeLayout(dir: string, plan: NodeNetworkPlan, index: number): NodeLayout {
  const name = nodeName(index);
  const u = octets(plan.nodeCidr);
  const p = octets(plan.nodePodCidr);
  const root = join(dir, "nodes", name);
  const netns = `${plan.instanceId}-node${index}`;
  return {
    name,
    index,
    netns,
    netnsPath: `/run/netns/${netns}`,
    hostVeth: `${plan.instanceId}n${index}`,
    nodeIp: `${u[0]}.${u[1]}.${u[2]}.${10 + index}`,
    underlayPrefix: 24,
    gatewayIp: `${u[0]}.${u[1]}.${u[2]}.1`,
    podCidr: `${p[0]}.${p[1]}.${index}.0/24`,
    podBridge: "cni0",
    root,
    containerdRoot: join(root, "containerd", "root"),
    containerdState: join(root, "containerd", "state"),
    containerdSocket: join(root, "containerd", "containerd.sock"),
    containerdConfig: join(root, "containerd", "config.toml"),
    runcRoot: join(root, "containerd", "runc"),
    cniConfDir: join(root, "cni", "net.d"),
    cniDataDir: join(root, "cni", "ipam"),
    cniBinDir: join(root, "cni", "bin"),
    agentSocket: join(root, "agent.sock"),
    podLogsDir: join(root, "pod-logs"),
    podsDir: join(root, "pods"),
    kubeletDir: join(root, "kubelet"),
    manifestsDir: join(dir, "manifests", name),
    kubeletPort: KUBELET_PORT,
  };
}
