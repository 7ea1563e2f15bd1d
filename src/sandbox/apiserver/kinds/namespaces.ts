// The Namespace strategy: the kubernetes finalizer and Active phase of a new namespace, the
// kubernetes.io/metadata.name label, DNS-label names.
import type { KubeObject } from "../../../kube/objects.ts";
import { invalid } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { isObject } from "./json.ts";
import { dns1123Label, qualifiedName, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";

export const NAME_LABEL = "kubernetes.io/metadata.name";

function defaults(ns: KubeObject): void {
  // Every namespace is labelled with its own name, so selectors can pick namespaces by name.
  if (ns.metadata.name) {
    const labels = isObject(ns.metadata.labels) ? ns.metadata.labels : {};
    ns.metadata.labels = { ...labels, [NAME_LABEL]: ns.metadata.name };
  }
  ns.status ??= {};
  if (isObject(ns.status) && !ns.status.phase) ns.status.phase = "Active";
}

const isObjectLike = (v: unknown): v is Record<string, any> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const namespaceStrategy: Strategy = {
  hasStatus: true,
  tracksGeneration: false,
  defaults,
  prepareForCreate(ns) {
    ns.status = { phase: "Active" };
    // The namespace controller's finalizer is required on create (it may be removed later).
    ns.spec = ns.spec && typeof ns.spec === "object" ? ns.spec : {};
    const fins: string[] = Array.isArray(ns.spec.finalizers) ? ns.spec.finalizers : [];
    if (!fins.includes("kubernetes")) fins.push("kubernetes");
    ns.spec.finalizers = fins;
  },
  prepareForUpdate(ns, old) {
    // spec.finalizers only change through the finalize subresource.
    ns.spec = { ...(isObjectLike(ns.spec) ? ns.spec : {}), finalizers: old.spec?.finalizers };
    if (!ns.spec.finalizers) delete ns.spec.finalizers;
  },
  validate(ns) {
    const errs = validateObjectMeta(ns.metadata, { namespaced: false, nameValidator: dns1123Label });
    for (const f of Array.isArray(ns.spec?.finalizers) ? ns.spec.finalizers : []) {
      for (const m of qualifiedName(f)) errs.push(invalid("spec.finalizers", f, m));
      if (!String(f).includes("/") && !["kubernetes", "orphan", "foregroundDeletion"].includes(f))
        errs.push(
          invalid(
            "spec.finalizers",
            f,
            "name is neither a standard finalizer name nor is it fully qualified",
          ),
        );
    }
    return errs;
  },
  validateUpdate(ns, old) {
    return validateObjectMetaUpdate(ns.metadata, old.metadata);
  },
  selectableFields(ns) {
    return { "status.phase": ns.status?.phase ?? "" };
  },
};
