// The core/v1 Event strategy. Upstream only applies the legacy event rules to core/v1 writes
// (namespace agreement with the involved object, and for events with an eventTime the
// reporting fields); metadata gets the generic checks with path-segment names.
import type { KubeObject } from "../../../kube/objects.ts";
import { type FieldError, invalid, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import type { Json } from "./json.ts";
import {
  dns1123Subdomain,
  pathSegmentName,
  qualifiedName,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";

/** Fields an event with an eventTime must carry, with their length limits. */
const REQUIRED_WITH_LIMIT: [string, number][] = [
  ["reportingInstance", 128],
  ["action", 128],
  ["reason", 128],
];

function validateLegacy(ev: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const involved: Json = ev.involvedObject ?? {};
  const ns = ev.metadata.namespace ?? "";
  const involvedNs = involved.namespace ?? "";
  const mismatch = () => invalid("involvedObject.namespace", involvedNs, "does not match event.namespace");
  if (!ev.eventTime) {
    // Cluster-scoped objects' events live in "default" (or nowhere) for old clients.
    if (!involvedNs) {
      if (ns !== "" && ns !== "default") errs.push(mismatch());
    } else if (ns !== involvedNs) errs.push(mismatch());
  } else {
    if (!involvedNs && ns !== "default" && ns !== "kube-system") errs.push(mismatch());
    const controller = ev.reportingComponent ?? "";
    if (!controller) errs.push(required("reportingController", ""));
    for (const m of qualifiedName(controller)) errs.push(invalid("reportingController", controller, m));
    for (const [field, max] of REQUIRED_WITH_LIMIT) {
      const v = String(ev[field] ?? "");
      if (!v) errs.push(required(field, ""));
      if (v.length > max) errs.push(invalid(field, "", `can have at most ${max} characters`));
    }
    if (String(ev.message ?? "").length > 1024)
      errs.push(invalid("message", "", "can have at most 1024 characters"));
  }
  for (const m of dns1123Subdomain(ns)) errs.push(invalid("namespace", ns, m));
  return errs;
}

export const eventStrategy: Strategy = {
  hasStatus: false,
  tracksGeneration: false,
  validate(ev) {
    return [
      ...validateLegacy(ev),
      ...validateObjectMeta(ev.metadata, {
        namespaced: true,
        nameValidator: pathSegmentName,
        kubeFinalizers: false,
      }),
    ];
  },
  validateUpdate(ev, old) {
    return validateObjectMetaUpdate(ev.metadata, old.metadata);
  },
  selectableFields(ev) {
    const involved: Json = ev.involvedObject ?? {};
    return {
      "involvedObject.kind": involved.kind ?? "",
      "involvedObject.namespace": involved.namespace ?? "",
      "involvedObject.name": involved.name ?? "",
      "involvedObject.uid": involved.uid ?? "",
      "involvedObject.apiVersion": involved.apiVersion ?? "",
      "involvedObject.resourceVersion": involved.resourceVersion ?? "",
      "involvedObject.fieldPath": involved.fieldPath ?? "",
      reason: ev.reason ?? "",
      reportingComponent: ev.reportingComponent ?? "",
      // Events from newer reporters name their controller instead of a source component.
      source: ev.source?.component || ev.reportingComponent || "",
      type: ev.type ?? "",
    };
  },
};
