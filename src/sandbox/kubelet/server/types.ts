// What the kubelet's HTTPS server (logs, exec, attach, port-forward) needs from the kubelet:
// a way to find a pod it runs, by namespace and name, with its sandbox and containers.

export interface KubeletPodContainer {
  name: string;
  /** CRI container id of the current (or last) instance; absent before it was created. */
  id?: string;
  /** CRI log file of the current instance. */
  logPath?: string;
  /** CRI log file of the instance before the current one (for `kubectl logs --previous`). */
  previousLogPath?: string;
  /** Why the container has not started yet (e.g. ContainerCreating, ImagePullBackOff). */
  waitingReason?: string;
}

export interface KubeletPod {
  uid: string;
  /** CRI pod sandbox id; absent while the sandbox is being created. */
  sandboxId?: string;
  containers: KubeletPodContainer[];
}

export interface KubeletPodLookup {
  find(namespace: string, name: string): KubeletPod | undefined;
}
