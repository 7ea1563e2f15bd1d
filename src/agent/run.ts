// raven-agent, one per node: its caches (this node's pods, the backend's objects), the binder
// that answers raven-cni, and the CNI socket. Caches first; until they are synced, STATUS says
// "not available" and ADD "try again later", so the runtime waits rather than failing pods.
import { type AnnotationNaming, annotationKeys } from "../api/annotations.ts";
import { type Ip, ipTool } from "../dataplane/ip.ts";
import { nftTool } from "../dataplane/nft.ts";
import { VXLAN_OVERHEAD } from "../dataplane/overlay.ts";
import { KubeClient } from "../kube/client.ts";
import { EventRecorder, kubeEventSink } from "../kube/events.ts";
import { SharedInformerFactory } from "../kube/informer-factory.ts";
import type { KubeConfigSource } from "../kube/kubeconfig.ts";
import type { Logger } from "../kube/log.ts";
import type { KubeObject } from "../kube/objects.ts";
import { NODES, PODS } from "../kube/resource.ts";
import type { NetworkWithSubnet, PolicyStore, SdnBackend } from "../sdn/backend.ts";
import { EmbeddedBackend } from "../sdn/embedded/backend.ts";
import type { FloatingIp, LoadBalancerState } from "../sdn/model.ts";
import { type AttachmentOptions, prepareAttachments } from "./attachments/run.ts";
import { Binder } from "./binder.ts";
import { serveCni } from "./cni-server.ts";
import { NodeNetworks } from "./networks.ts";
import { PolicyEnforcer } from "./policies.ts";
import { PortStatusReporter } from "./port-status.ts";
import { ServiceProxy } from "./services.ts";
import { Waiters } from "./waiters.ts";

export interface AgentOptions {
  kubeconfig: KubeConfigSource;
  nodeName: string;
  /** The unix socket raven-cni calls. */
  socket: string;
  annotationPrefix: string;
  annotationNaming: AnnotationNaming;
  /** This node's address, the source of floating-IP traffic it forwards to members (default: the Node's InternalIP). */
  nodeIp?: string;
  /** The nftables table of the node's Services and floating IPs. */
  nftTable: string;
  log: Logger;
  /** Called once the caches are synced and the socket answers. */
  onReady?: () => void;
  /** Where the ports are: the cluster's custom resources (default) or Neutron. */
  backend?: "embedded" | "neutron";
  /** neutron: the cloud in clouds.yaml (default OS_CLOUD, else the OS_* variables). */
  osCloud?: string;
  /** neutron: the cluster's id in OpenStack, as raven-controller has it (default: the kube-system namespace's UID). */
  clusterId?: string;
  /**
   * neutron: enforce Raven's security groups in nftables (a Neutron without L2 agents, such as
   * the sandbox's); a real cloud's agents enforce them.
   */
  enforceSecurityGroups?: boolean;
  /** Hot-plugged attachments (NPWG): off without. */
  attachments?: AttachmentOptions;
}

/** What the agent reads of a backend (both backends have it). */
export type NodeBackend = Pick<
  SdnBackend,
  "start" | "stop" | "findPorts" | "findSubnet" | "portsOnNetwork" | "inventory" | "setPortStatus"
> & {
  onChange(listener: () => void): void;
  listPodNetworks(): NetworkWithSubnet[];
  portOwner(portId: string): string | undefined;
  listLoadBalancers(): LoadBalancerState[];
  listFloatingIps(): FloatingIp[];
  /** Lists the backend again now (a backend without a watch: Neutron). */
  resync?(): Promise<void>;
  /** Compiled NetworkPolicies (absent: the backend enforces none). */
  policies?: Pick<PolicyStore, "list" | "onChange">;
};

/** How often the agent lists Neutron again (it has no watch): remote ports, members, floating IPs. */
const NEUTRON_RESYNC_MS = 3000;

async function nodeBackend(
  opts: AgentOptions,
  client: KubeClient,
  factory: SharedInformerFactory,
): Promise<NodeBackend> {
  if (opts.backend !== "neutron")
    return new EmbeddedBackend({ client, informers: factory, logger: opts.log });
  const { clusterIdFor, createNeutronBackend } = await import("../sdn/neutron/create.ts");
  const clusterId = await clusterIdFor(client, opts.clusterId);
  return createNeutronBackend({
    cloud: opts.osCloud,
    clusterId,
    // The agent creates nothing; these only shape creates.
    podCidr: "192.168.0.0/16",
    namespaceSubnetPrefix: 24,
    reservedCidrs: [],
    logger: opts.log,
    resyncMs: NEUTRON_RESYNC_MS,
  });
}

/**
 * A static pod runs under its manifest's UID, which the runtime hands to CNI; the API has its
 * mirror pod, with a UID of its own and the static one in kubernetes.io/config.mirror.
 */
const isMirrorOf = (pod: KubeObject, uid: string) =>
  pod.metadata.annotations?.["kubernetes.io/config.mirror"] === uid;

const internalIp = (node: KubeObject | undefined): string | undefined =>
  ((node?.status?.addresses ?? []) as { type: string; address: string }[]).find(
    (a) => a.type === "InternalIP",
  )?.address;

async function internalIpOf(client: KubeClient, nodeName: string): Promise<string> {
  const ip = internalIp(await client.get(NODES, "", nodeName));
  if (!ip) throw new Error(`node ${nodeName} has no InternalIP: pass --node-ip`);
  return ip;
}

/** The MTU of the interface holding the node's address (the VXLAN underlay). */
async function underlayMtu(ip: Ip, localIp: string): Promise<number> {
  const links = await ip.show<{ mtu: number; addr_info?: { local: string }[] }>("ip", ["addr", "show"]);
  const link = links.find((l) => l.addr_info?.some((a) => a.local === localIp));
  if (!link)
    throw new Error(`no interface of this node has its address ${localIp}: pass the right --node-ip`);
  return link.mtu;
}

export async function runAgent(opts: AgentOptions, signal: AbortSignal): Promise<void> {
  const { log, nodeName } = opts;
  const client = await KubeClient.fromKubeConfig(opts.kubeconfig, { userAgent: `raven-agent/${nodeName}` });
  const factory = new SharedInformerFactory(client, { logger: log });
  const pods = factory.informerFor(PODS, { fieldSelector: `spec.nodeName=${nodeName}` });
  const podChanges = new Waiters();
  pods.addEventHandler({ onAdd: () => podChanges.changed(), onUpdate: () => podChanges.changed() });
  const backend = await nodeBackend(opts, client, factory);
  const backendChanges = new Waiters();
  backend.onChange(() => backendChanges.changed());
  const recorder = new EventRecorder({
    sink: kubeEventSink(client),
    component: "raven-agent",
    host: nodeName,
    instance: nodeName,
    logger: log,
  });
  const nodes = factory.informerFor(NODES);
  const localIp = opts.nodeIp ?? (await internalIpOf(client, nodeName));
  const ip = ipTool();
  const networks = new NodeNetworks({
    source: {
      podNetworks: () => backend.listPodNetworks(),
      portsOnNetwork: (id) => backend.portsOnNetwork(id),
      nodeIp: (name) => internalIp(nodes.get(name)),
    },
    ip,
    nodeName,
    localIp,
    mtu: (await underlayMtu(ip, localIp)) - VXLAN_OVERHEAD,
    log,
  });
  backend.onChange(() => networks.changed());
  nodes.addEventHandler({
    onAdd: () => networks.changed(),
    onUpdate: (a, b) => {
      if (internalIp(a) !== internalIp(b)) networks.changed();
    },
    onDelete: () => networks.changed(),
  });
  // Neutron sets a port's status itself (its L2 agents); the embedded backend takes it from us.
  const portStatus = new PortStatusReporter(
    backend.setPortStatus
      ? (backend as Required<Pick<NodeBackend, "setPortStatus">>)
      : { setPortStatus: async () => {} },
    log,
  );
  let ready = false;
  const readiness = new Waiters();
  const binder = new Binder({
    nodeName,
    portAnnotation: annotationKeys(opts.annotationPrefix, opts.annotationNaming).port,
    attachmentsAnnotation: annotationKeys(opts.annotationPrefix, opts.annotationNaming).attachments,
    pods: {
      waitFor: (namespace, name, uid, isReady, s) =>
        podChanges.waitFor(() => {
          const p = pods.get(`${namespace}/${name}`);
          return p && (!uid || p.metadata.uid === uid || isMirrorOf(p, uid)) && isReady(p) ? p : undefined;
        }, s),
    },
    ports: {
      findPorts: (uid) => backend.findPorts(uid),
      ownerOf: (portId) => backend.portOwner(portId),
      findSubnet: (id) => backend.findSubnet(id),
      waitFor: (found, s) =>
        backend.resync
          ? pollWaitFor(backend.resync.bind(backend), found, s)
          : backendChanges.waitFor(found, s),
    },
    ip,
    ensureBridge: (networkId, subnet) => networks.ensureBridge(networkId, subnet),
    mtu: networks.mtu,
    events: { warn: (pod: KubeObject, reason, message) => recorder.event(pod, "Warning", reason, message) },
    onPortState: (portId, state) => portStatus.set(portId, state),
    ready: () => ready,
    whenReady: (s) =>
      readiness
        .waitFor(() => (ready ? true : undefined), s)
        .then(
          () => true,
          () => false,
        ),
  });
  const services = new ServiceProxy({
    source: {
      loadBalancers: () => backend.listLoadBalancers(),
      floatingIps: () => backend.listFloatingIps(),
      podCidrs: () => backend.listPodNetworks().map((n) => n.subnet.cidr),
    },
    nft: nftTool(),
    table: opts.nftTable,
    nodeIp: localIp,
    log,
  });
  backend.onChange(() => services.changed());
  // The embedded backend's policies are the agent's to enforce; Neutron's, only when asked.
  const policyStore =
    opts.backend === "neutron" && !opts.enforceSecurityGroups ? undefined : backend.policies;
  const policies = policyStore
    ? new PolicyEnforcer({
        policies: () => policyStore.list(),
        nft: nftTool(),
        table: `${opts.nftTable}-policy`,
        nodeName,
        log,
      })
    : undefined;
  policyStore?.onChange(() => policies?.changed());
  const attachments = opts.attachments
    ? await prepareAttachments({
        opts: opts.attachments,
        client,
        factory,
        pods,
        recorder,
        portAnnotation: annotationKeys(opts.annotationPrefix, opts.annotationNaming).port,
        binder,
        log,
      })
    : undefined;
  const server = await serveCni(opts.socket, (req, s, timing) => binder.handle(req, s, timing), log);
  log.info({ socket: opts.socket, node: nodeName }, "serving CNI");
  try {
    factory.start(signal);
    const [synced, backendSynced] = await Promise.all([
      factory.waitForCacheSync(signal),
      backend.start(signal),
    ]);
    if (!synced || !backendSynced) return;
    // Bound or unbound while no agent watched: the node's links say which ports are bound now.
    const mine = backend
      .inventory()
      .ports.map((p) => p.object)
      .filter((p) => p["binding:host_id"] === nodeName);
    portStatus.resync(await binder.boundPorts(), mine);
    const reporting = portStatus.run(signal);
    const proxying = services.run(signal);
    const enforcing = policies?.run(signal);
    const networking = networks.run(signal);
    const attaching = attachments?.run(signal);
    ready = true;
    readiness.changed();
    log.info({ node: nodeName }, "caches synced");
    opts.onReady?.();
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.all([reporting, proxying, networking, attaching, enforcing]);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await recorder.close();
    await backend.stop();
    await client.close();
  }
}

/** For a backend without a watch: list it again until `found` answers (a pod's new port), or `signal` aborts. */
async function pollWaitFor<T>(
  resync: () => Promise<void>,
  found: () => T | undefined,
  signal: AbortSignal,
): Promise<T> {
  for (;;) {
    const v = found();
    if (v !== undefined) return v;
    if (signal.aborted) throw signal.reason ?? new Error("aborted");
    await resync().catch(() => {});
    const again = found();
    if (again !== undefined) return again;
    await new Promise((r) => setTimeout(r, 300));
  }
}
