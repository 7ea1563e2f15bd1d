// raven-agent's answer to each CNI call: binds a pod to its port (ADD), unbinds it (DEL),
// checks the binding (CHECK), removes what the runtime no longer lists (GC), says whether it
// can serve (STATUS). The port is taken from the pod's annotation, but only once the backend
// confirms it: the port exists, belongs to this pod's UID and is bound to this node (a pod
// cannot take another's address by writing an annotation). The addresses and MAC come from the
// backend, never from the annotation.
import { AnnotationError, parseAttachmentsAnnotation, parsePortAnnotation } from "../api/annotations.ts";
import { CNI_ERRORS, type CniReply, type CniRequest, cniError } from "../api/cni.ts";
import type { Ip } from "../dataplane/ip.ts";
import {
  hostVethMac,
  hostVethName,
  planDeletePodLink,
  planPodLink,
  portOfAlias,
} from "../dataplane/pod-link.ts";
import type { KubeObject } from "../kube/objects.ts";
import type { Port, PortState, Subnet } from "../sdn/model.ts";

/** The pods of this node as the agent's cache shows them. */
export interface PodSource {
  /** Resolves with the pod (that UID, when given) once `ready(pod)` holds; rejects when `signal` aborts. */
  waitFor(
    namespace: string,
    name: string,
    uid: string | undefined,
    ready: (pod: KubeObject) => boolean,
    signal: AbortSignal,
  ): Promise<KubeObject>;
}

/** What the agent reads of the backend (SdnBackend satisfies it), and a way to wait for it to change. */
export interface PortSource {
  findPorts(ownerUid: string): Port[];
  /** The owner UID of any port the backend knows by id (to refuse a forged annotation at once). */
  ownerOf(portId: string): string | undefined;
  findSubnet(subnetId: string): Subnet | undefined;
  /** Resolves when `found()` answers something, rechecking on every backend change; rejects on abort. */
  waitFor<T>(found: () => T | undefined, signal: AbortSignal): Promise<T>;
}

export interface BinderEvents {
  warn(pod: KubeObject, reason: string, message: string): void;
}

export interface BinderOptions {
  nodeName: string;
  portAnnotation: string;
  /** The key of the pod's Raven-network attachment ports (by interface). */
  attachmentsAnnotation: string;
  pods: PodSource;
  ports: PortSource;
  ip: Ip;
  /** The network's bridge on this node, made if need be (NodeNetworks.ensureBridge); answers its name. */
  ensureBridge: (networkId: string, subnet: Subnet) => Promise<string>;
  /** The MTU of pod interfaces (the overlay's). */
  mtu?: number;
  events: BinderEvents;
  /** Told when a port is bound (ACTIVE) or unbound (DOWN). */
  onPortState?: (portId: string, state: PortState) => void;
  /** Whether the agent's caches are synced (STATUS). */
  ready: () => boolean;
  /** Resolves true once they are, false if `signal` aborts first. */
  whenReady: (signal: AbortSignal) => Promise<boolean>;
}

/** Where an ADD's time went: waiting for the pod's port (annotation and backend cache), then the bridge and veth. */
export interface CallTiming {
  waitMs?: number;
  netlinkMs?: number;
}

const prefixOf = (cidr: string) => cidr.split("/")[1];

/** The node ends of pod veths this agent makes (hostVethName). */
const HOST_VETH = /^rv[0-9a-f]{11}$/;

export class Binder {
  private readonly o: BinderOptions;

  constructor(o: BinderOptions) {
    this.o = o;
  }

  /** `timing` gets where an ADD's time went (for the agent's log line): waiting, then netlink. */
  async handle(req: CniRequest, signal: AbortSignal, timing: CallTiming = {}): Promise<CniReply> {
    const version = typeof req.config.cniVersion === "string" ? req.config.cniVersion : "1.0.0";
    const error = (code: number, msg: string, details?: string): CniReply => ({
      error: cniError(version, code, msg, details),
    });
    try {
      switch (req.command) {
        case "STATUS":
          return this.o.ready()
            ? {}
            : error(CNI_ERRORS.notAvailable, "raven-agent has not synced its caches yet");
        case "ADD":
          // A pod that starts with the agent waits for its caches (within the call's deadline).
          if (!(await this.o.whenReady(signal)))
            return error(CNI_ERRORS.tryAgainLater, "raven-agent has not synced its caches yet");
          return await this.add(req, version, signal, error, timing);
        case "DEL":
          await this.del(req);
          return {};
        case "CHECK":
          return await this.check(req, error);
        case "GC":
          await this.gc(req);
          return {};
        default:
          return error(CNI_ERRORS.invalidEnvironment, `unknown command ${req.command}`);
      }
    } catch (err) {
      if (signal.aborted)
        return error(CNI_ERRORS.tryAgainLater, `${req.command} did not finish in time`, String(err));
      return error(CNI_ERRORS.ioFailure, `${req.command} failed`, String((err as Error).message ?? err));
    }
  }

  private async add(
    req: CniRequest,
    version: string,
    signal: AbortSignal,
    error: (code: number, msg: string, details?: string) => CniReply,
    timing: CallTiming,
  ): Promise<CniReply> {
    const started = performance.now();
    const { K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: name, K8S_POD_UID: uid } = req.args;
    if (!namespace || !name)
      return error(
        CNI_ERRORS.invalidEnvironment,
        "CNI_ARGS must name the pod (K8S_POD_NAMESPACE, K8S_POD_NAME)",
      );
    const netns = req.netns;
    if (!netns.startsWith("/"))
      return error(CNI_ERRORS.invalidEnvironment, `CNI_NETNS "${netns}" is not a path`);
    // An attachment to a Raven network (raven-agent's hot-plug, K8S_POD_NETWORK naming it) has
    // its port in the attachments annotation, under its interface; the primary in the port one.
    const attachment = req.ifname !== "eth0" && Boolean(req.args.K8S_POD_NETWORK);
    const key = attachment ? this.o.attachmentsAnnotation : this.o.portAnnotation;
    const portIdOf = (p: KubeObject): string =>
      attachment
        ? (parseAttachmentsAnnotation(key, p.metadata.annotations?.[key])[req.ifname]?.id ?? "")
        : parsePortAnnotation(key, p.metadata.annotations?.[key]).id;
    let pod: KubeObject;
    try {
      pod = await this.o.pods.waitFor(
        namespace,
        name,
        uid,
        (p) => {
          try {
            return Boolean(p.metadata.annotations?.[key]) && Boolean(portIdOf(p));
          } catch {
            return Boolean(p.metadata.annotations?.[key]);
          }
        },
        signal,
      );
    } catch {
      return error(CNI_ERRORS.tryAgainLater, `pod ${namespace}/${name} has no port from Raven yet`);
    }
    let portId: string;
    try {
      portId = portIdOf(pod);
    } catch (err) {
      const msg = err instanceof AnnotationError ? err.message : String(err);
      this.o.events.warn(pod, "InvalidPortAnnotation", msg);
      return error(CNI_ERRORS.invalidConfig, msg);
    }
    // The backend must know this port as the pod's, on this node: wait for its cache, within the deadline.
    const podUid = pod.metadata.uid!;
    let port: Port;
    try {
      port = await this.o.ports.waitFor(() => {
        const owner = this.o.ports.ownerOf(portId);
        if (owner !== undefined && owner !== podUid) throw new Error("another pod's port");
        return this.o.ports.findPorts(podUid).find((p) => p.id === portId);
      }, signal);
    } catch {
      const msg = `port ${portId} named by annotation ${key} is not a port of pod ${namespace}/${name} (uid ${podUid})`;
      this.o.events.warn(pod, "PortRejected", `${msg}; the pod does not get that address`);
      return error(CNI_ERRORS.invalidConfig, msg);
    }
    if (port["binding:host_id"] !== this.o.nodeName) {
      const msg = `port ${portId} of pod ${namespace}/${name} is bound to node ${port["binding:host_id"]}, not ${this.o.nodeName}`;
      this.o.events.warn(pod, "PortRejected", msg);
      return error(CNI_ERRORS.invalidConfig, msg);
    }
    const fixed = port.fixed_ips[0];
    const subnet = await this.o.ports.waitFor(() => this.o.ports.findSubnet(fixed.subnet_id), signal);
    if (!subnet.gateway_ip) return error(CNI_ERRORS.invalidConfig, `subnet ${subnet.cidr} has no gateway`);
    timing.waitMs = Math.round(performance.now() - started);
    const hostVeth = hostVethName(req.containerId, req.ifname);
    const ip = this.o.ip;
    const addressCidr = `${fixed.ip_address}/${prefixOf(subnet.cidr)}`;
    const bridge = await this.o.ensureBridge(port.network_id, subnet);
    const plan = planPodLink({
      netns,
      nodeNetns: ip.nodeNetns,
      ifname: req.ifname,
      hostVeth,
      bridge,
      portId: port.id,
      mac: port.mac_address,
      addressCidr,
      gateway: subnet.gateway_ip,
      mtu: this.o.mtu,
      defaultRoute: !attachment,
    });
    try {
      await ip.apply(plan);
    } catch (err) {
      // A repeated ADD (the runtime retrying) finds the veth of the first: start from a clean slate.
      if (!/File exists/.test(String(err))) throw err;
      await ip.apply(planDeletePodLink(hostVeth)).catch(() => {});
      await ip.apply(plan);
    }
    timing.netlinkMs = Math.round(performance.now() - started) - timing.waitMs;
    this.o.onPortState?.(port.id, "ACTIVE");
    return {
      result: {
        cniVersion: version,
        interfaces: [
          { name: hostVeth, mac: hostVethMac(hostVeth) },
          { name: req.ifname, mac: port.mac_address, sandbox: req.netns },
        ],
        ips: [{ address: addressCidr, gateway: subnet.gateway_ip, interface: 1 }],
        routes: attachment ? [] : [{ dst: "0.0.0.0/0", gw: subnet.gateway_ip }],
        dns: {},
      },
    };
  }

  /** Idempotent: whatever is left of the binding goes; nothing left is success too. */
  private async del(req: CniRequest): Promise<void> {
    // One `ip` process: the node end as it was (its alias names the port), then gone.
    const link = await this.o.ip.remove(hostVethName(req.containerId, req.ifname));
    if (!link) return;
    const portId = portOfAlias(link.ifalias);
    if (portId) this.o.onPortState?.(portId, "DOWN");
  }

  /** The ports bound on this node: those the node ends of pod veths name. */
  async boundPorts(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const link of await this.o.ip.links()) {
      const id = HOST_VETH.test(link.ifname) ? portOfAlias(link.ifalias) : undefined;
      if (id) out.add(id);
    }
    return out;
  }

  /** Removes the node ends of every attachment the runtime no longer lists (`cni.dev/attachments`). */
  private async gc(req: CniRequest): Promise<void> {
    const valid = (req.config["cni.dev/attachments"] ?? []) as { containerID: string; ifname: string }[];
    const keep = new Set(valid.map((a) => hostVethName(a.containerID, a.ifname)));
    for (const link of await this.o.ip.links())
      if (HOST_VETH.test(link.ifname) && !keep.has(link.ifname)) {
        await this.o.ip.apply(planDeletePodLink(link.ifname));
        const portId = portOfAlias(link.ifalias);
        if (portId) this.o.onPortState?.(portId, "DOWN");
      }
  }

  /** The interface is still there with the port's MAC and address (from prevResult). */
  private async check(
    req: CniRequest,
    error: (code: number, msg: string, details?: string) => CniReply,
  ): Promise<CniReply> {
    const netns = req.netns || undefined;
    const prev = req.config.prevResult as
      | { ips?: { address: string }[]; interfaces?: { name: string; mac?: string; sandbox?: string }[] }
      | undefined;
    if (!netns || !prev) return error(CNI_ERRORS.invalidConfig, "CHECK needs CNI_NETNS and a prevResult");
    const want = prev.interfaces?.find((i) => i.sandbox);
    const link = await this.o.ip.link(req.ifname, netns);
    if (!link) return error(CNI_ERRORS.ioFailure, `interface ${req.ifname} is gone from ${req.netns}`);
    if (want?.mac && link.address !== want.mac)
      return error(CNI_ERRORS.ioFailure, `interface ${req.ifname} has MAC ${link.address}, not ${want.mac}`);
    const have = new Set(
      (link.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
    );
    for (const a of prev.ips ?? [])
      if (!have.has(a.address))
        return error(CNI_ERRORS.ioFailure, `interface ${req.ifname} lacks ${a.address}`);
    return {};
  }
}
