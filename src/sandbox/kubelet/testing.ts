// Test support only: pods and runtime views in a line each.
import type { KubeObject } from "../../kube/objects.ts";
import type { ContainerView, PodRuntime, SandboxView } from "./runtime-state.ts";

export function pod(spec: Record<string, any> = {}, meta: Record<string, any> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", uid: "u1", ...meta },
    spec: {
      containers: [{ name: "app", image: "busybox" }],
      restartPolicy: "Always",
      nodeName: "node-1",
      ...spec,
    },
  };
}

export function sandbox(o: Partial<SandboxView> = {}): SandboxView {
  return {
    id: "sb1",
    attempt: 0,
    ready: true,
    createdAt: 1,
    ips: ["10.244.1.2"],
    hostNetwork: false,
    labels: {},
    annotations: {},
    ...o,
  };
}

export function ctr(name: string, o: Partial<ContainerView> = {}): ContainerView {
  return {
    id: `${name}-${o.attempt ?? 0}`,
    name,
    sandboxId: "sb1",
    attempt: 0,
    state: "running",
    createdAt: 1000,
    startedAt: 1000,
    finishedAt: 0,
    exitCode: 0,
    reason: "",
    message: "",
    image: "docker.io/library/busybox:latest",
    imageRef: "sha256:abc",
    hash: "",
    logPath: "",
    ...o,
  };
}

export function runtime(sandboxes: SandboxView[], containers: ContainerView[]): PodRuntime {
  return {
    uid: "u1",
    name: "p",
    namespace: "default",
    sandboxes,
    containers: [...containers].sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt),
  };
}
