// Pod spec -> CRI configs (kuberuntime's generatePodSandboxConfig and generateContainerConfig),
// pure: everything the configs depend on (the pod IP, ConfigMaps and Secrets, volume paths)
// is handed in, so each rule is unit-tested. A reference that cannot be resolved throws a
// ContainerConfigError, which the kubelet reports as CreateContainerConfigError.
import { createHash } from "node:crypto";
import { join } from "node:path";
import type {
  ContainerConfig,
  KeyValue,
  LinuxContainerResources,
  Mount,
  NamespaceMode,
  PodSandboxConfig,
  PortMapping,
} from "../../cri/types.ts";
import type { KubeObject } from "../../kube/objects.ts";
import { milliValue, parseQuantity } from "../apiserver/kinds/quantity.ts";
import { podHostname } from "./etc-hosts.ts";
import {
  ANNOTATION_CONTAINER_HASH,
  ANNOTATION_GRACE_PERIOD,
  ANNOTATION_RESTART_COUNT,
  LABEL_CONTAINER_NAME,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
} from "./runtime-state.ts";
import { qosClass } from "./status.ts";

export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContainerConfigError";
  }
}

const NS_POD: NamespaceMode = 0;
const NS_CONTAINER: NamespaceMode = 1;
const NS_NODE: NamespaceMode = 2;

/** `<namespace>_<name>_<uid>` under the node's pod-logs dir. */
export function podLogDirectory(podLogsDir: string, pod: KubeObject): string {
  const m = pod.metadata;
  return join(podLogsDir, `${m.namespace}_${m.name}_${m.uid}`);
}

/** A container instance's log file, relative to the pod's log directory. */
export const containerLogPath = (name: string, restartCount: number): string => `${name}/${restartCount}.log`;

export function podLabels(pod: KubeObject): Record<string, string> {
  return {
    [LABEL_POD_NAME]: pod.metadata.name ?? "",
    [LABEL_POD_NAMESPACE]: pod.metadata.namespace ?? "",
    [LABEL_POD_UID]: pod.metadata.uid ?? "",
  };
}

function namespaceOptions(pod: KubeObject) {
  const spec = pod.spec ?? {};
  return {
    network: spec.hostNetwork ? NS_NODE : NS_POD,
    pid: spec.hostPID ? NS_NODE : spec.shareProcessNamespace ? NS_POD : NS_CONTAINER,
    ipc: spec.hostIPC ? NS_NODE : NS_POD,
  };
}

const PROTOCOLS: Record<string, number> = { TCP: 0, UDP: 1, SCTP: 2 };

export function sandboxConfig(pod: KubeObject, attempt: number, podLogsDir: string): PodSandboxConfig {
  const m = pod.metadata;
  const spec = pod.spec ?? {};
  const portMappings: PortMapping[] = [];
  for (const c of spec.containers ?? [])
    for (const p of c.ports ?? [])
      if (p.hostPort)
        portMappings.push({
          protocol: PROTOCOLS[p.protocol ?? "TCP"] ?? 0,
          containerPort: p.containerPort,
          hostPort: p.hostPort,
          ...(p.hostIP ? { hostIp: p.hostIP } : {}),
        });
  const config: PodSandboxConfig = {
    metadata: { name: m.name ?? "", namespace: m.namespace ?? "", uid: m.uid ?? "", attempt },
    logDirectory: podLogDirectory(podLogsDir, pod),
    portMappings,
    labels: { ...(m.labels ?? {}), ...podLabels(pod) },
    annotations: { ...(m.annotations ?? {}) },
    linux: { securityContext: { namespaceOptions: namespaceOptions(pod) } },
  };
  if (!spec.hostNetwork) config.hostname = podHostname(pod);
  const dns = spec.dnsConfig;
  if (dns && (dns.nameservers?.length || dns.searches?.length || dns.options?.length))
    config.dnsConfig = {
      servers: dns.nameservers ?? [],
      searches: dns.searches ?? [],
      options: (dns.options ?? []).map((o: any) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name)),
    };
  return config;
}

/** A stable hash of what makes a container what it is; a running container with another hash is replaced. */
export function containerHash(container: any): string {
  const { name, image, command, args, workingDir, env, envFrom, ports, volumeMounts, securityContext } =
    container;
  const text = JSON.stringify({
    name,
    image,
    command,
    args,
    workingDir,
    env,
    envFrom,
    ports,
    volumeMounts,
    securityContext,
  });
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

/** What a container's configuration depends on besides the pod. */
export interface ContainerContext {
  /** The local image reference (resolved from the spec's). */
  image: string;
  restartCount: number;
  podIp?: string;
  podIps?: string[];
  nodeName: string;
  hostIp: string;
  /** Host directory of each pod volume by name. */
  volumePaths: ReadonlyMap<string, string>;
  configMaps: ReadonlyMap<string, KubeObject>;
  secrets: ReadonlyMap<string, KubeObject>;
  /** Machine memory, for the Burstable oom_score_adj formula. */
  memoryCapacityBytes?: number;
  /** The pod's kubelet-managed hosts file, mounted at /etc/hosts unless the container mounts one. */
  etcHostsPath?: string;
}

/** Bytes (or whole units) of a quantity, rounded up. */
export function quantityValue(q: string | number): number {
  return Number((milliValue(parseQuantity(q)) + 999n) / 1000n);
}

export function quantityMilli(q: string | number): number {
  return Number(milliValue(parseQuantity(q)));
}

function fieldRef(pod: KubeObject, path: string, ctx: ContainerContext): string {
  switch (path) {
    case "metadata.name":
      return pod.metadata.name ?? "";
    case "metadata.namespace":
      return pod.metadata.namespace ?? "";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "spec.nodeName":
      return pod.spec?.nodeName ?? ctx.nodeName;
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.podIP":
      return ctx.podIp ?? "";
    case "status.podIPs":
      return (ctx.podIps ?? (ctx.podIp ? [ctx.podIp] : [])).join(",");
    case "status.hostIP":
    case "status.hostIPs":
      return ctx.hostIp;
  }
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return pod.metadata.labels?.[label[1]] ?? "";
  const ann = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (ann) return pod.metadata.annotations?.[ann[1]] ?? "";
  throw new ContainerConfigError(`unsupported fieldRef ${path}`);
}

function resourceRef(container: any, ref: any): string {
  const res = ref.resource as string;
  const src = res.startsWith("limits.") ? container.resources?.limits : container.resources?.requests;
  const v = src?.[res.split(".")[1]];
  if (v === undefined) return "0";
  const divisor = ref.divisor ? quantityMilli(ref.divisor) : 1000;
  return String(Math.ceil(quantityMilli(v) / divisor));
}

const decode = (obj: KubeObject, key: string, secret: boolean): string | undefined => {
  if (secret) {
    const v = obj.data?.[key];
    return v === undefined ? obj.stringData?.[key] : Buffer.from(v, "base64").toString("utf8");
  }
  const v = obj.data?.[key];
  return v === undefined
    ? obj.binaryData?.[key] === undefined
      ? undefined
      : Buffer.from(obj.binaryData[key], "base64").toString("utf8")
    : v;
};

function keyRef(ctx: ContainerContext, ref: any, secret: boolean): string | undefined {
  const kind = secret ? "secret" : "configmap";
  const obj = (secret ? ctx.secrets : ctx.configMaps).get(ref.name);
  if (!obj) {
    if (ref.optional) return undefined;
    throw new ContainerConfigError(`${kind} "${ref.name}" not found`);
  }
  const v = decode(obj, ref.key, secret);
  if (v === undefined && !ref.optional)
    throw new ContainerConfigError(
      `couldn't find key ${ref.key} in ${secret ? "Secret" : "ConfigMap"} ${obj.metadata.namespace}/${ref.name}`,
    );
  return v;
}

/** $(VAR) expansion as the kubelet does it: $$ escapes, unknown references stay as they are. */
export function expand(s: string, vars: ReadonlyMap<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name) => {
    if (m === "$$") return "$";
    return vars.has(name) ? vars.get(name)! : m;
  });
}

/** The container's environment: envFrom first, then env (later entries win), with $(VAR) expansion. */
export function containerEnv(pod: KubeObject, container: any, ctx: ContainerContext): KeyValue[] {
  const vars = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const secret = Boolean(from.secretRef);
    const ref = from.secretRef ?? from.configMapRef;
    if (!ref) continue;
    const obj = (secret ? ctx.secrets : ctx.configMaps).get(ref.name);
    if (!obj) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${secret ? "secret" : "configmap"} "${ref.name}" not found`);
    }
    const keys = new Set([
      ...Object.keys(obj.data ?? {}),
      ...Object.keys(secret ? {} : (obj.binaryData ?? {})),
    ]);
    for (const k of keys) {
      const v = decode(obj, k, secret);
      if (v !== undefined) vars.set(`${from.prefix ?? ""}${k}`, v);
    }
  }
  for (const e of container.env ?? []) {
    let v: string | undefined;
    if (e.valueFrom?.fieldRef) v = fieldRef(pod, e.valueFrom.fieldRef.fieldPath, ctx);
    else if (e.valueFrom?.resourceFieldRef) v = resourceRef(container, e.valueFrom.resourceFieldRef);
    else if (e.valueFrom?.configMapKeyRef) v = keyRef(ctx, e.valueFrom.configMapKeyRef, false);
    else if (e.valueFrom?.secretKeyRef) v = keyRef(ctx, e.valueFrom.secretKeyRef, true);
    else v = expand(e.value ?? "", vars);
    if (v === undefined) continue;
    vars.set(e.name, v);
  }
  return [...vars].map(([key, value]) => ({ key, value }));
}

function mounts(container: any, ctx: ContainerContext): Mount[] {
  const out: Mount[] = (container.volumeMounts ?? []).map((vm: any) => {
    const base = ctx.volumePaths.get(vm.name);
    if (base === undefined)
      throw new ContainerConfigError(
        `cannot find volume "${vm.name}" to mount into container "${container.name}"`,
      );
    if (vm.subPath && (vm.subPath.startsWith("/") || vm.subPath.split("/").includes("..")))
      throw new ContainerConfigError(`invalid subPath "${vm.subPath}" in volume mount "${vm.name}"`);
    return {
      containerPath: vm.mountPath,
      hostPath: vm.subPath ? join(base, vm.subPath) : base,
      readonly: Boolean(vm.readOnly),
      propagation:
        vm.mountPropagation === "Bidirectional" ? 2 : vm.mountPropagation === "HostToContainer" ? 1 : 0,
    };
  });
  if (ctx.etcHostsPath && !out.some((m) => m.containerPath === "/etc/hosts"))
    out.push({ containerPath: "/etc/hosts", hostPath: ctx.etcHostsPath, readonly: false, propagation: 0 });
  return out;
}

/** The kubelet's oom_score_adj policy per QoS class. */
export function oomScoreAdj(pod: KubeObject, container: any, memoryCapacityBytes: number): number {
  const qos = qosClass(pod);
  if (qos === "Guaranteed") return -997;
  if (qos === "BestEffort") return 1000;
  const req = container.resources?.requests?.memory;
  const reqBytes = req === undefined ? 0 : quantityValue(req);
  const adj = 1000 - Math.floor((1000 * reqBytes) / memoryCapacityBytes);
  return Math.min(999, Math.max(3, adj));
}

export function containerConfig(pod: KubeObject, container: any, ctx: ContainerContext): ContainerConfig {
  const envs = containerEnv(pod, container, ctx);
  const vars = new Map(envs.map((e) => [e.key, e.value]));
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const resources: LinuxContainerResources = {};
  if (limits.memory !== undefined) resources.memoryLimitInBytes = quantityValue(limits.memory);
  const cpuRequest = requests.cpu ?? limits.cpu;
  if (cpuRequest !== undefined)
    resources.cpuShares = Math.max(2, Math.floor((quantityMilli(cpuRequest) * 1024) / 1000));
  if (limits.cpu !== undefined) {
    resources.cpuPeriod = 100_000;
    resources.cpuQuota = Math.max(1000, Math.floor(quantityMilli(limits.cpu) * 100));
  }
  resources.oomScoreAdj = oomScoreAdj(pod, container, ctx.memoryCapacityBytes ?? 8 * 1024 ** 3);
  const sc = container.securityContext ?? {};
  const podSc = pod.spec?.securityContext ?? {};
  const securityContext: any = { namespaceOptions: namespaceOptions(pod) };
  if (sc.privileged) securityContext.privileged = true;
  const runAsUser = sc.runAsUser ?? podSc.runAsUser;
  if (runAsUser !== undefined) securityContext.runAsUser = { value: runAsUser };
  const runAsGroup = sc.runAsGroup ?? podSc.runAsGroup;
  if (runAsGroup !== undefined) securityContext.runAsGroup = { value: runAsGroup };
  if (sc.readOnlyRootFilesystem) securityContext.readonlyRootfs = true;
  if (sc.capabilities?.add?.length || sc.capabilities?.drop?.length)
    securityContext.capabilities = {
      addCapabilities: sc.capabilities.add ?? [],
      dropCapabilities: sc.capabilities.drop ?? [],
    };
  const config: ContainerConfig = {
    metadata: { name: container.name, attempt: ctx.restartCount },
    image: { image: ctx.image },
    envs,
    mounts: mounts(container, ctx),
    labels: { ...podLabels(pod), [LABEL_CONTAINER_NAME]: container.name },
    annotations: {
      [ANNOTATION_CONTAINER_HASH]: containerHash(container),
      [ANNOTATION_RESTART_COUNT]: String(ctx.restartCount),
      [ANNOTATION_GRACE_PERIOD]: String(pod.spec?.terminationGracePeriodSeconds ?? 30),
    },
    logPath: containerLogPath(container.name, ctx.restartCount),
    stdin: Boolean(container.stdin),
    stdinOnce: Boolean(container.stdinOnce),
    tty: Boolean(container.tty),
    linux: { resources, securityContext },
  };
  if (container.command?.length) config.command = container.command.map((s: string) => expand(s, vars));
  if (container.args?.length) config.args = container.args.map((s: string) => expand(s, vars));
  if (container.workingDir) config.workingDir = container.workingDir;
  return config;
}
