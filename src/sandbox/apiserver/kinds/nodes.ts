// The Node strategy: cluster-scoped, subdomain names, pod CIDRs valid and fixed once set.
import type { KubeObject } from "../../../kube/objects.ts";
import { duplicate, type FieldError, forbidden, invalid, notSupported, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { goStringSlice, goValue } from "./go-format.ts";
import { isObject, type Json, objects, strings } from "./json.ts";
import { dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { CIDR_ERROR, ipFamilyOf, isValidCIDR, labelValue, qualifiedName } from "./names.ts";
import { canonicalizeResourceList } from "./resources.ts";

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

function defaults(node: KubeObject): void {
  const spec: Json = node.spec;
  if (spec && typeof spec === "object") {
    // v1 carries the first pod CIDR twice; conversion keeps the two in step.
    const cidrs = strings(spec.podCIDRs);
    if (spec.podCIDR && !cidrs.length) spec.podCIDRs = [spec.podCIDR];
    else if (!spec.podCIDR && cidrs[0]) spec.podCIDR = cidrs[0];
  }
  const status: Json = node.status;
  if (isObject(status)) {
    canonicalizeResourceList(status.capacity);
    canonicalizeResourceList(status.allocatable);
    if (!status.allocatable && isObject(status.capacity)) status.allocatable = { ...status.capacity };
  }
}

function validateTaints(taints: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  objects(taints).forEach((t, i) => {
    const p = `${path}[${i}]`;
    for (const m of qualifiedName(t.key ?? "")) errs.push(invalid(`${p}.key`, t.key ?? "", m));
    const vm = labelValue(t.value ?? "");
    if (vm.length) errs.push(invalid(`${p}.value`, t.value ?? "", vm.join(";")));
    if (!t.effect) errs.push(required(`${p}.effect`, ""));
    else if (!TAINT_EFFECTS.includes(t.effect))
      errs.push(notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
    const key = `${t.effect}/${t.key}`;
    if (seen.has(key))
      errs.push({
        ...duplicate(
          p,
          goValue(
            `core.Taint{Key:${JSON.stringify(t.key ?? "")}, Value:${JSON.stringify(t.value ?? "")}, Effect:${JSON.stringify(t.effect ?? "")}, TimeAdded:<nil>}`,
          ),
        ),
        detail: "taints must be unique by key and effect pair",
      });
    seen.add(key);
  });
  return errs;
}

function validateSpec(spec: Json): FieldError[] {
  // Upstream reports taints under "metadata" (sic).
  const errs = validateTaints(spec.taints, "metadata.taints");
  const cidrs = strings(spec.podCIDRs);
  cidrs.forEach((c, i) => {
    if (!isValidCIDR(c)) errs.push(invalid(`spec.podCIDRs[${i}]`, c, CIDR_ERROR));
  });
  if (cidrs.length > 1 && cidrs.every(isValidCIDR)) {
    const families = new Set(cidrs.map((c) => ipFamilyOf(c.split("/")[0])));
    if (families.size !== 2 || cidrs.length > 2)
      errs.push(
        invalid(
          "spec.podCIDRs",
          goValue(goStringSlice(cidrs)),
          "may specify no more than one CIDR for each IP family",
        ),
      );
    const seen = new Set<string>();
    cidrs.forEach((c, i) => {
      if (seen.has(c)) errs.push(duplicate(`spec.podCIDRs[${i}]`, c));
      seen.add(c);
    });
  }
  return errs;
}

export const nodeStrategy: Strategy = {
  hasStatus: true,
  tracksGeneration: false,
  defaults,
  validate(node) {
    const errs = validateObjectMeta(node.metadata, { namespaced: false, nameValidator: dns1123Subdomain });
    errs.push(...validateSpec(node.spec && typeof node.spec === "object" ? node.spec : {}));
    return errs;
  },
  validateUpdate(node, old) {
    const errs = validateObjectMetaUpdate(node.metadata, old.metadata);
    const prev = strings(old.spec?.podCIDRs);
    const next = strings(node.spec?.podCIDRs);
    // The controller manager may assign pod CIDRs once; after that they stay.
    if (prev.length && (prev.length !== next.length || prev.some((c, i) => c !== next[i])))
      errs.push(forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'));
    if (old.spec?.providerID && old.spec.providerID !== node.spec?.providerID)
      errs.push(
        forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'),
      );
    return errs;
  },
  selectableFields(node) {
    return { "spec.unschedulable": String(Boolean(node.spec?.unschedulable)) };
  },
};
