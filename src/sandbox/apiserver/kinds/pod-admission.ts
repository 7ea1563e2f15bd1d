// What the default admission plugins add to every new Pod on a real cluster: the ServiceAccount
// plugin's serviceAccountName, the Priority plugin's priority and preemptionPolicy, and the
// DefaultTolerationSeconds plugin's tolerations for not-ready and unreachable nodes.
import { isObject, type Json } from "./json.ts";

const NOT_READY = "node.kubernetes.io/not-ready";
const UNREACHABLE = "node.kubernetes.io/unreachable";
const DEFAULT_TOLERATION_SECONDS = 300;

/** Whether the pod already tolerates a NoExecute taint with this key. */
function tolerates(tolerations: unknown[], key: string): boolean {
  return tolerations.some(
    (t) =>
      isObject(t) &&
      (t.key === key || (!t.key && t.operator === "Exists")) &&
      (!t.effect || t.effect === "NoExecute"),
  );
}

export function admitPod(pod: Json): void {
  const spec = pod.spec;
  if (!spec || typeof spec !== "object") return;
  if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || "default";
  // No PriorityClass is marked global-default in the sandbox, so every pod gets priority 0.
  if (!spec.priorityClassName && spec.priority === undefined) spec.priority = 0;
  if (spec.preemptionPolicy === undefined) spec.preemptionPolicy = "PreemptLowerPriority";
  const tolerations: unknown[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  for (const key of [NOT_READY, UNREACHABLE])
    if (!tolerates(tolerations, key))
      tolerations.push({
        key,
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: DEFAULT_TOLERATION_SECONDS,
      });
  spec.tolerations = tolerations;
}
