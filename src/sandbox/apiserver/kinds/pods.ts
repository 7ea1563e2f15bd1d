// The Pod strategy: defaults, the admission-time additions, create/update validation and the
// field selectors kubectl and controllers use (spec.nodeName, status.phase, ...).
import type { KubeObject } from "../../../kube/objects.ts";
import type { FieldError } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { admitPod } from "./pod-admission.ts";
import { defaultPodSpec } from "./pod-defaults.ts";
import { validatePodSpec } from "./pod-spec.ts";
import { syncStatusIPs, validatePodStatusUpdate } from "./pod-status.ts";
import { validatePodSpecUpdate } from "./pod-update.ts";
import { computeQOSClass } from "./resources.ts";

export { validatePodStatusUpdate } from "./pod-status.ts";

function defaults(pod: KubeObject): void {
  const spec = pod.spec;
  if (spec && typeof spec === "object") {
    defaultPodSpec(spec, { pod: true });
    // v1 carries the service account twice; the deprecated field mirrors the real one.
    if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
    if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  }
  syncStatusIPs(pod.status);
}

function validate(pod: KubeObject): FieldError[] {
  const errs = validateObjectMeta(pod.metadata, { namespaced: true, nameValidator: dns1123Subdomain });
  errs.push(...validatePodSpec(pod.spec, "spec", { isPod: true }));
  return errs;
}

export const podStrategy: Strategy = {
  hasStatus: true,
  tracksGeneration: false,
  defaults,
  prepareForCreate(pod) {
    admitPod(pod);
    // A new pod's status is the server's: pending, with the QoS class its resources imply.
    pod.status = { phase: "Pending", qosClass: computeQOSClass(pod.spec ?? {}) };
  },
  validate,
  validateUpdate(pod, old) {
    return [...validateObjectMetaUpdate(pod.metadata, old.metadata), ...validatePodSpecUpdate(pod, old)];
  },
  validateStatusUpdate: (pod, old) => validatePodStatusUpdate(pod, old),
  selectableFields(pod) {
    const spec = pod.spec ?? {};
    const status = pod.status ?? {};
    return {
      "spec.nodeName": spec.nodeName ?? "",
      "spec.restartPolicy": spec.restartPolicy ?? "",
      "spec.schedulerName": spec.schedulerName ?? "",
      "spec.serviceAccountName": spec.serviceAccountName ?? "",
      "spec.hostNetwork": String(Boolean(spec.hostNetwork)),
      "status.phase": status.phase ?? "",
      "status.podIP": status.podIPs?.[0]?.ip ?? status.podIP ?? "",
      "status.nominatedNodeName": status.nominatedNodeName ?? "",
    };
  },
};
