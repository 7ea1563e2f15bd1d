// The Node object this kubelet registers and keeps current: addresses, pod CIDR, capacity from
// the machine, nodeInfo (containerd version from CRI), the pressure conditions and Ready from
// the runtime's status; plus the Lease in kube-node-lease renewed every 10 s.
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import type { RuntimeService, StatusResponse } from "../../cri/types.ts";
import type { KubeClient } from "../../kube/client.ts";
import { isAlreadyExists, isNotFound } from "../../kube/errors.ts";
import { formatMicroTime, formatTime, type KubeObject } from "../../kube/objects.ts";
import { LEASES, NODES } from "../../kube/resource.ts";

export const KUBELET_VERSION = "v1.33.1-raven";
export const LEASE_DURATION_SECONDS = 40;

export interface NodeIdentity {
  name: string;
  nodeIp: string;
  podCidr: string;
  kubeletPort: number;
}

export interface MachineInfo {
  cpus: number;
  memoryBytes: number;
  kernelVersion: string;
  osImage: string;
  machineId: string;
  bootId: string;
}

const readOr = (path: string, fallback: string): string => {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return fallback;
  }
};

export function machineInfo(): MachineInfo {
  const osRelease = readOr("/etc/os-release", "");
  return {
    cpus: cpus().length,
    memoryBytes: totalmem(),
    kernelVersion: release(),
    osImage: /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? "Linux",
    machineId: readOr("/etc/machine-id", ""),
    bootId: readOr("/proc/sys/kernel/random/boot_id", ""),
  };
}

/** Ready from the runtime's RuntimeReady and NetworkReady conditions, as the kubelet decides it. */
export function readyCondition(
  status: StatusResponse | undefined,
  err?: unknown,
): { ok: boolean; reason: string; message: string } {
  if (!status)
    return {
      ok: false,
      reason: "KubeletNotReady",
      message: `container runtime is down: ${String((err as Error)?.message ?? err)}`,
    };
  const failing = status.status.conditions.filter(
    (c) => (c.type === "RuntimeReady" || c.type === "NetworkReady") && !c.status,
  );
  if (failing.length)
    return {
      ok: false,
      reason: "KubeletNotReady",
      message: failing.map((c) => `${c.type}=false reason:${c.reason} message:${c.message}`).join(", "),
    };
  return { ok: true, reason: "KubeletReady", message: "kubelet is posting ready status" };
}

/** The Node's status (conditions keep their lastTransitionTime while unchanged). */
export function nodeStatus(
  id: NodeIdentity,
  machine: MachineInfo,
  runtimeVersion: string,
  ready: { ok: boolean; reason: string; message: string },
  old: any,
  now: number,
  network: { ok: boolean; message: string } = { ok: true, message: "" },
): any {
  const t = formatTime(now);
  const prev = (type: string) => (old?.conditions ?? []).find((c: any) => c.type === type);
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: t,
    lastTransitionTime: prev(type)?.status === status ? prev(type).lastTransitionTime : t,
  });
  const resources = {
    cpu: String(machine.cpus),
    memory: `${Math.floor(machine.memoryBytes / 1024)}Ki`,
    pods: "110",
    "ephemeral-storage": "100Gi",
  };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      cond(
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
      ),
      cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      cond("Ready", ready.ok ? "True" : "False", ready.reason, ready.message),
      network.ok
        ? cond("NetworkUnavailable", "False", "NetworkReady", "the container runtime's network is ready")
        : cond("NetworkUnavailable", "True", "NetworkNotReady", network.message),
    ],
    addresses: [
      { type: "InternalIP", address: id.nodeIp },
      { type: "Hostname", address: id.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: id.kubeletPort } },
    nodeInfo: {
      machineID: machine.machineId,
      systemUUID: machine.machineId,
      bootID: machine.bootId,
      kernelVersion: machine.kernelVersion,
      osImage: machine.osImage,
      containerRuntimeVersion: `containerd://${runtimeVersion}`,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: process.arch === "x64" ? "amd64" : process.arch,
    },
  };
}

export function nodeObject(id: NodeIdentity): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: id.name,
      labels: {
        "kubernetes.io/hostname": id.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": process.arch === "x64" ? "amd64" : process.arch,
      },
    },
    spec: { podCIDR: id.podCidr, podCIDRs: [id.podCidr] },
  };
}

/** Registers the Node, then keeps its status and Lease current. */
export class NodeStatusManager {
  private readonly client: KubeClient;
  private readonly runtime: RuntimeService;
  private readonly id: NodeIdentity;
  private readonly machine: MachineInfo;
  private runtimeVersion = "";
  private lastStatus: any;
  nodeUid: string | undefined;

  constructor(client: KubeClient, runtime: RuntimeService, id: NodeIdentity, machine = machineInfo()) {
    this.client = client;
    this.runtime = runtime;
    this.id = id;
    this.machine = machine;
  }

  async register(): Promise<void> {
    try {
      const created = await this.client.create(NODES, nodeObject(this.id));
      this.nodeUid = created.metadata.uid;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const cur = await this.client.get(NODES, "", this.id.name);
      this.nodeUid = cur.metadata.uid;
      this.lastStatus = cur.status;
      if (cur.spec?.podCIDR !== this.id.podCidr)
        await this.client.patch(NODES, "", this.id.name, "merge", { spec: nodeObject(this.id).spec });
    }
    await this.updateStatus();
    await this.renewLease();
  }

  async updateStatus(): Promise<void> {
    let st: StatusResponse | undefined;
    let err: unknown;
    try {
      if (!this.runtimeVersion) this.runtimeVersion = (await this.runtime.version()).runtimeVersion;
      st = await this.runtime.status();
    } catch (e) {
      err = e;
    }
    const net = st?.status.conditions.find((c) => c.type === "NetworkReady");
    const network = {
      ok: Boolean(st) && net?.status !== false,
      message: net?.message || "container runtime is down",
    };
    const status = nodeStatus(
      this.id,
      this.machine,
      this.runtimeVersion,
      readyCondition(st, err),
      this.lastStatus,
      Date.now(),
      network,
    );
    const res = await this.client.patch(
      NODES,
      "",
      this.id.name,
      "merge",
      { status },
      { subresource: "status" },
    );
    this.lastStatus = res.status ?? status;
  }

  async renewLease(): Promise<void> {
    const spec = {
      holderIdentity: this.id.name,
      leaseDurationSeconds: LEASE_DURATION_SECONDS,
      renewTime: formatMicroTime(),
    };
    try {
      await this.client.patch(LEASES, "kube-node-lease", this.id.name, "merge", { spec });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.client.create(LEASES, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name: this.id.name,
          namespace: "kube-node-lease",
          ...(this.nodeUid
            ? { ownerReferences: [{ apiVersion: "v1", kind: "Node", name: this.id.name, uid: this.nodeUid }] }
            : {}),
        },
        spec,
      });
    }
  }
}
