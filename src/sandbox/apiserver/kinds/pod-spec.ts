// PodSpec validation at any field path (upstream ValidatePodSpec), shared by Pods and the pod
// templates of Deployments, ReplicaSets, DaemonSets and Jobs.
import { duplicate, type FieldError, forbidden, invalid, notSupported, required } from "../errors.ts";
import { validateContainers, validateImagesForPod, validateInitContainers } from "./containers.ts";
import { goStringSlice, goValue } from "./go-format.ts";
import { type Json, objects, strings } from "./json.ts";
import { validateAnnotations, validateLabels } from "./meta.ts";
import {
  dns1123Label,
  dns1123Subdomain,
  IP_ERROR,
  inclusiveRangeError,
  isValidIP,
  labelValue,
  qualifiedName,
} from "./names.ts";
import { validateResourceRequirements } from "./resources.ts";
import { validateVolumes } from "./volumes.ts";

export { defaultPodSpec, defaultPodTemplate } from "./pod-defaults.ts";

export const RESTART_POLICIES = ["Always", "OnFailure", "Never"];
const DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
const TOLERATION_OPERATORS = ["Equal", "Exists"];
const PREEMPTION_POLICIES = ["PreemptLowerPriority", "Never"];
const MAX_INT32 = 2147483647;
const MAX_ID = 4294967295;

export interface PodSpecOptions {
  /** The spec belongs to a Pod rather than to a template (stricter host-network ports, image whitespace). */
  isPod: boolean;
}

export function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objects(tolerations).forEach((t, i) => {
    const p = `${path}[${i}]`;
    if (t.key) for (const m of qualifiedName(t.key)) errs.push(invalid(`${p}.key`, t.key, m));
    const op = t.operator ?? "";
    if (!t.key && op !== "Exists")
      errs.push(
        invalid(
          `${p}.operator`,
          op,
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null && t.effect !== "NoExecute")
      errs.push(
        invalid(`${p}.effect`, t.effect ?? "", "effect must be 'NoExecute' when `tolerationSeconds` is set"),
      );
    if (op === "Equal" || op === "") {
      const msgs = labelValue(t.value ?? "");
      if (msgs.length) errs.push(invalid(`${p}.operator`, t.value ?? "", msgs.join(";")));
    } else if (op === "Exists") {
      if (t.value)
        errs.push(invalid(`${p}.operator`, t.value, "value must be empty when `operator` is 'Exists'"));
    } else {
      errs.push(notSupported(`${p}.operator`, op, TOLERATION_OPERATORS));
    }
    if (t.effect && !TAINT_EFFECTS.includes(t.effect))
      errs.push(notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
  });
  return errs;
}

function validateDNSConfig(cfg: Json | undefined, policy: string, path: string): FieldError[] {
  if (policy === "None") {
    if (!cfg) return [required(path, "must provide `dnsConfig` when `dnsPolicy` is None")];
    if (!objects(cfg.nameservers).length)
      return [
        required(`${path}.nameservers`, "must provide at least one DNS nameserver when `dnsPolicy` is None"),
      ];
  }
  if (!cfg || typeof cfg !== "object") return [];
  const errs: FieldError[] = [];
  const ns = strings(cfg.nameservers);
  if (ns.length > 3)
    errs.push(
      invalid(`${path}.nameservers`, goValue(goStringSlice(ns)), "must not have more than 3 nameservers"),
    );
  ns.forEach((ip, i) => {
    if (!isValidIP(ip)) errs.push(invalid(`${path}.nameservers[${i}]`, ip, IP_ERROR));
  });
  const searches = strings(cfg.searches);
  if (searches.length > 32)
    errs.push(
      invalid(
        `${path}.searches`,
        goValue(goStringSlice(searches)),
        "must not have more than 32 search paths",
      ),
    );
  searches.forEach((s, i) => {
    const name = s.replace(/\.$/, "");
    for (const m of dns1123Subdomain(name)) errs.push(invalid(`${path}.searches[${i}]`, name, m));
  });
  objects(cfg.options).forEach((o, i) => {
    if (!o.name) errs.push(required(`${path}.options[${i}]`, "must not be empty"));
  });
  return errs;
}

/** With host networking a Pod's host ports are its container ports; templates may leave them 0. */
function validateHostNetworkPorts(spec: Json, path: string, opts: PodSpecOptions): FieldError[] {
  if (!spec.hostNetwork) return [];
  const errs: FieldError[] = [];
  objects(spec.containers).forEach((c, ci) => {
    objects(c.ports).forEach((p, pi) => {
      const hp = p.hostPort ?? 0;
      if ((opts.isPod || hp !== 0) && hp !== p.containerPort)
        errs.push(
          invalid(
            `${path}.containers[${ci}].ports[${pi}].hostPort`,
            hp,
            "must match `containerPort` when `hostNetwork` is true",
          ),
        );
    });
  });
  return errs;
}

function validatePodSecurityContext(sc: Json | undefined, path: string): FieldError[] {
  if (!sc || typeof sc !== "object") return [];
  const errs: FieldError[] = [];
  for (const f of ["runAsUser", "runAsGroup", "fsGroup"]) {
    const v = sc[f];
    if (typeof v === "number" && (v < 0 || v > MAX_ID))
      errs.push(invalid(`${path}.${f}`, v, inclusiveRangeError(0, MAX_ID)));
  }
  objects(sc.supplementalGroups).forEach((g: any, i) => {
    if (typeof g === "number" && (g < 0 || g > MAX_ID))
      errs.push(invalid(`${path}.supplementalGroups[${i}]`, g, inclusiveRangeError(0, MAX_ID)));
  });
  return errs;
}

function validateTopologySpread(constraints: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objects(constraints).forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!(c.maxSkew > 0)) errs.push(invalid(`${p}.maxSkew`, c.maxSkew ?? 0, "must be greater than zero"));
    if (!c.topologyKey) errs.push(required(`${p}.topologyKey`, "can not be empty"));
    if (!["DoNotSchedule", "ScheduleAnyway"].includes(c.whenUnsatisfiable))
      errs.push(
        notSupported(`${p}.whenUnsatisfiable`, c.whenUnsatisfiable ?? "", [
          "DoNotSchedule",
          "ScheduleAnyway",
        ]),
      );
  });
  return errs;
}

export function validatePodSpec(spec: Json | undefined, path: string, opts: PodSpecOptions): FieldError[] {
  const s: Json = spec && typeof spec === "object" ? spec : {};
  const errs: FieldError[] = [];
  if (s.terminationGracePeriodSeconds === undefined || s.terminationGracePeriodSeconds === null)
    errs.push(required(`${path}.terminationGracePeriodSeconds`, ""));
  const grace =
    typeof s.terminationGracePeriodSeconds === "number" ? s.terminationGracePeriodSeconds : undefined;
  const vols = validateVolumes(s.volumes, `${path}.volumes`);
  errs.push(...vols.errs);
  const ctx = { volumes: vols.names, isPod: opts.isPod };
  errs.push(...validateContainers(s.containers, `${path}.containers`, ctx, grace));
  errs.push(...validateInitContainers(s.initContainers, s.containers, `${path}.initContainers`, ctx, grace));
  if (s.resources) errs.push(...validateResourceRequirements(s.resources, `${path}.resources`));
  errs.push(...validateHostNetworkPorts(s, path, opts));
  if (!s.restartPolicy) errs.push(required(`${path}.restartPolicy`, ""));
  else if (!RESTART_POLICIES.includes(s.restartPolicy))
    errs.push(notSupported(`${path}.restartPolicy`, s.restartPolicy, RESTART_POLICIES));
  if (!s.dnsPolicy) errs.push(required(`${path}.dnsPolicy`, ""));
  else if (!DNS_POLICIES.includes(s.dnsPolicy))
    errs.push(notSupported(`${path}.dnsPolicy`, s.dnsPolicy, DNS_POLICIES));
  errs.push(...validateLabels(s.nodeSelector, `${path}.nodeSelector`));
  errs.push(...validatePodSecurityContext(s.securityContext, `${path}.securityContext`));
  errs.push(...validateDNSConfig(s.dnsConfig, s.dnsPolicy, `${path}.dnsConfig`));
  objects(s.readinessGates).forEach((g, i) => {
    for (const m of qualifiedName(g.conditionType ?? ""))
      errs.push(invalid(`${path}.readinessGates[${i}].conditionType`, g.conditionType ?? "", m));
  });
  const gates = new Set<string>();
  objects(s.schedulingGates).forEach((g, i) => {
    for (const m of qualifiedName(g.name ?? ""))
      errs.push(invalid(`${path}.schedulingGates[${i}]`, g.name ?? "", m));
    if (gates.has(g.name)) errs.push(duplicate(`${path}.schedulingGates[${i}]`, g.name));
    gates.add(g.name);
  });
  errs.push(...validateTopologySpread(s.topologySpreadConstraints, `${path}.topologySpreadConstraints`));
  if (s.serviceAccountName)
    for (const m of dns1123Subdomain(s.serviceAccountName))
      errs.push(invalid(`${path}.serviceAccountName`, s.serviceAccountName, m));
  if (s.nodeName)
    for (const m of dns1123Subdomain(s.nodeName)) errs.push(invalid(`${path}.nodeName`, s.nodeName, m));
  if (s.activeDeadlineSeconds !== undefined && s.activeDeadlineSeconds !== null) {
    const v = s.activeDeadlineSeconds;
    if (!(v >= 1 && v <= MAX_INT32))
      errs.push(invalid(`${path}.activeDeadlineSeconds`, v, inclusiveRangeError(1, MAX_INT32)));
  }
  if (s.hostname)
    for (const m of dns1123Label(s.hostname)) errs.push(invalid(`${path}.hostname`, s.hostname, m));
  if (s.subdomain)
    for (const m of dns1123Label(s.subdomain)) errs.push(invalid(`${path}.subdomain`, s.subdomain, m));
  errs.push(...validateTolerations(s.tolerations, `${path}.tolerations`));
  objects(s.hostAliases).forEach((a, i) => {
    if (!isValidIP(a.ip ?? "")) errs.push(invalid(`${path}.hostAliases[${i}].ip`, a.ip ?? "", IP_ERROR));
    strings(a.hostnames).forEach((h, j) => {
      for (const m of dns1123Subdomain(h))
        errs.push(invalid(`${path}.hostAliases[${i}].hostnames[${j}]`, h, m));
    });
  });
  if (s.priorityClassName)
    for (const m of dns1123Subdomain(s.priorityClassName))
      errs.push(invalid(`${path}.priorityClassName`, s.priorityClassName, m));
  if (s.runtimeClassName !== undefined && s.runtimeClassName !== null)
    for (const m of dns1123Subdomain(s.runtimeClassName))
      errs.push(invalid(`${path}.runtimeClassName`, s.runtimeClassName, m));
  if (s.preemptionPolicy !== undefined && s.preemptionPolicy !== null) {
    if (!s.preemptionPolicy) errs.push(required(`${path}.preemptionPolicy`, ""));
    else if (!PREEMPTION_POLICIES.includes(s.preemptionPolicy))
      errs.push(notSupported(`${path}.preemptionPolicy`, s.preemptionPolicy, PREEMPTION_POLICIES));
  }
  if (s.os && typeof s.os === "object") {
    if (!s.os.name) errs.push(required(`${path}.os.name`, "cannot be empty"));
    else if (!["linux", "windows"].includes(s.os.name))
      errs.push(notSupported(`${path}.os`, s.os.name, ["linux", "windows"]));
  }
  if (opts.isPod) {
    errs.push(...validateImagesForPod(s.containers, `${path}.containers`));
    errs.push(...validateImagesForPod(s.initContainers, `${path}.initContainers`));
  }
  return errs;
}

/** A pod template: its labels and annotations, then its spec (upstream ValidatePodTemplateSpec). */
export function validatePodTemplateSpec(template: Json | undefined, path: string): FieldError[] {
  const t: Json = template && typeof template === "object" ? template : {};
  // Upstream names these paths without "metadata" (template.labels, template.annotations).
  const errs = validateLabels(t.metadata?.labels, `${path}.labels`);
  errs.push(...validateAnnotations(t.metadata?.annotations, `${path}.annotations`));
  errs.push(...validatePodSpec(t.spec, `${path}.spec`, { isPod: false }));
  if (objects(t.spec?.ephemeralContainers).length)
    errs.push(
      forbidden(`${path}.spec.ephemeralContainers`, "ephemeral containers not allowed in pod template"),
    );
  return errs;
}
