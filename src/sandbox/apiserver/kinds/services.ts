// The Service strategy: SetDefaults_Service plus the IP-family defaulting upstream does at
// allocation time, ValidateService, and the update rule that cluster IPs never change. The
// server allocates the cluster IP and node ports after validation.
import type { KubeObject } from "../../../kube/objects.ts";
import { duplicate, type FieldError, forbidden, invalid, notSupported, required } from "../errors.ts";
import type { Strategy } from "../types.ts";
import { validatePortNumOrName } from "./containers.ts";
import { goStringSlice, goValue } from "./go-format.ts";
import { type Json, objects, strings } from "./json.ts";
import { dns1035Label, validateLabels, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import {
  CIDR_ERROR,
  dns1123Label,
  dns1123Subdomain,
  IP_ERROR,
  ipFamilyOf,
  isValidCIDR,
  isValidIP,
  isValidPortNum,
  nonSpecialIPErrors,
  qualifiedName,
} from "./names.ts";

const TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const AFFINITIES = ["ClientIP", "None"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const TRAFFIC_POLICIES = ["Cluster", "Local"];
const FAMILIES = ["IPv4", "IPv6"];
const FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"];
const MAX_AFFINITY_SECONDS = 86400;
const DEFAULT_AFFINITY_SECONDS = 10800;

const isHeadless = (spec: Json) =>
  Array.isArray(spec.clusterIPs) && spec.clusterIPs.length === 1 && spec.clusterIPs[0] === "None";
/** Reachable from outside the cluster: node ports, load balancers, or external IPs. */
const externallyAccessible = (spec: Json) =>
  spec.type === "LoadBalancer" ||
  spec.type === "NodePort" ||
  (spec.type === "ClusterIP" && strings(spec.externalIPs).length > 0);

function defaultIPFamilies(spec: Json): void {
  if (spec.type === "ExternalName") return;
  const headlessSelectorless = spec.clusterIP === "None" && !Object.keys(spec.selector ?? {}).length;
  // Headless services without a selector may list endpoints of either family.
  if (!spec.ipFamilyPolicy) spec.ipFamilyPolicy = headlessSelectorless ? "RequireDualStack" : "SingleStack";
  const families = strings(spec.ipFamilies);
  strings(spec.clusterIPs).forEach((ip, i) => {
    if (ip && ip !== "None" && i >= families.length && isValidIP(ip)) families.push(ipFamilyOf(ip));
  });
  if (!families.length) families.push("IPv4");
  if (headlessSelectorless && families.length < 2 && spec.ipFamilyPolicy !== "SingleStack")
    families.push(families[0] === "IPv4" ? "IPv6" : "IPv4");
  spec.ipFamilies = families;
}

function defaults(svc: KubeObject): void {
  const spec: Json = svc.spec;
  if (!spec || typeof spec !== "object") return;
  if (!spec.sessionAffinity) spec.sessionAffinity = "None";
  if (spec.sessionAffinity === "None") delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === "ClientIP" && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds == null)
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_AFFINITY_SECONDS } };
  if (!spec.type) spec.type = "ClusterIP";
  for (const p of objects(spec.ports)) {
    if (!p.protocol) p.protocol = "TCP";
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === "")
      p.targetPort = p.port;
  }
  if (externallyAccessible(spec) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = "Cluster";
  if (!spec.internalTrafficPolicy && ["ClusterIP", "NodePort", "LoadBalancer"].includes(spec.type))
    spec.internalTrafficPolicy = "Cluster";
  if (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts == null)
    spec.allocateLoadBalancerNodePorts = true;
  // Old clients set only the singular field; the list follows it.
  if (spec.clusterIP && !strings(spec.clusterIPs).length) spec.clusterIPs = [spec.clusterIP];
  defaultIPFamilies(spec);
}

function validatePort(p: Json, requireName: boolean, names: Set<string>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (requireName && !p.name) errs.push(required(`${path}.name`, ""));
  else if (p.name) {
    for (const m of dns1123Label(p.name)) errs.push(invalid(`${path}.name`, p.name, m));
    if (names.has(p.name)) errs.push(duplicate(`${path}.name`, p.name));
    else names.add(p.name);
  }
  for (const m of isValidPortNum(p.port)) errs.push(invalid(`${path}.port`, p.port ?? 0, m));
  if (!p.protocol) errs.push(required(`${path}.protocol`, ""));
  else if (!PROTOCOLS.includes(p.protocol))
    errs.push(notSupported(`${path}.protocol`, p.protocol, PROTOCOLS));
  errs.push(...validatePortNumOrName(p.targetPort, `${path}.targetPort`));
  if (p.appProtocol !== undefined && p.appProtocol !== null)
    for (const m of qualifiedName(p.appProtocol)) errs.push(invalid(`${path}.appProtocol`, p.appProtocol, m));
  return errs;
}

/** ValidateServiceClusterIPsRelatedFields: clusterIP/clusterIPs agree, families and IPs are valid. */
function validateClusterIPs(spec: Json): FieldError[] {
  if (spec.type === "ExternalName") return [];
  const errs: FieldError[] = [];
  const ips = strings(spec.clusterIPs);
  const shown = () => goValue(goStringSlice(ips));
  if (spec.clusterIP) {
    if (!ips.length) errs.push(required("spec.clusterIPs", ""));
    else if (ips[0] !== spec.clusterIP)
      errs.push(invalid("spec.clusterIPs", shown(), "first value must match `clusterIP`"));
  } else if (ips.length) {
    errs.push(invalid("spec.clusterIPs", shown(), "must be empty when `clusterIP` is not specified"));
  }
  const seen = new Set<string>();
  strings(spec.ipFamilies).forEach((f, i) => {
    if (!FAMILIES.includes(f)) errs.push(notSupported(`spec.ipFamilies[${i}]`, f, FAMILIES));
    if (seen.has(f)) errs.push(duplicate(`spec.ipFamilies[${i}]`, f));
    seen.add(f);
  });
  if (spec.ipFamilyPolicy && !FAMILY_POLICIES.includes(spec.ipFamilyPolicy))
    errs.push(notSupported("spec.ipFamilyPolicy", spec.ipFamilyPolicy, FAMILY_POLICIES));
  let badIPs = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === "None") {
      if (ips.length > 1) {
        badIPs = true;
        errs.push(invalid("spec.clusterIPs", shown(), "'None' must be the first and only value"));
      }
      return;
    }
    if (!isValidIP(ip)) {
      badIPs = true;
      errs.push(invalid(`spec.clusterIPs[${i}]`, ip, IP_ERROR));
    }
  });
  if (ips.length > 2) errs.push(invalid("spec.clusterIPs", shown(), "may only hold up to 2 values"));
  if (badIPs) return errs;
  if (ips.length > 1 && new Set(ips.map(ipFamilyOf)).size !== ips.length)
    errs.push(invalid("spec.clusterIPs", shown(), "may specify no more than one IP for each IP family"));
  if (!isHeadless(spec))
    ips.forEach((ip, i) => {
      const fam = spec.ipFamilies?.[i];
      if (fam && fam !== ipFamilyOf(ip))
        errs.push(
          invalid(
            `spec.clusterIPs[${i}]`,
            ip,
            `expected an ${fam} value as indicated by \`ipFamilies[${i}]\``,
          ),
        );
    });
  return errs;
}

function validateTrafficPolicies(spec: Json): FieldError[] {
  const errs: FieldError[] = [];
  if (!externallyAccessible(spec)) {
    if (spec.externalTrafficPolicy)
      errs.push(
        invalid(
          "spec.externalTrafficPolicy",
          spec.externalTrafficPolicy,
          "may only be set for externally-accessible services",
        ),
      );
  } else if (!spec.externalTrafficPolicy) errs.push(required("spec.externalTrafficPolicy", ""));
  else if (!TRAFFIC_POLICIES.includes(spec.externalTrafficPolicy))
    errs.push(notSupported("spec.externalTrafficPolicy", spec.externalTrafficPolicy, TRAFFIC_POLICIES));
  const needsHealthCheck = spec.type === "LoadBalancer" && spec.externalTrafficPolicy === "Local";
  if (!needsHealthCheck && spec.healthCheckNodePort)
    errs.push(
      invalid(
        "spec.healthCheckNodePort",
        spec.healthCheckNodePort,
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      ),
    );
  if (!spec.internalTrafficPolicy) {
    if (["NodePort", "LoadBalancer", "ClusterIP"].includes(spec.type))
      errs.push(required("spec.internalTrafficPolicy", ""));
  } else if (!TRAFFIC_POLICIES.includes(spec.internalTrafficPolicy)) {
    errs.push(notSupported("spec.internalTrafficPolicy", spec.internalTrafficPolicy, TRAFFIC_POLICIES));
  }
  return errs;
}

function validateSpec(spec: Json): FieldError[] {
  const errs: FieldError[] = [];
  const ports = objects(spec.ports);
  if (!ports.length && !isHeadless(spec) && spec.type !== "ExternalName")
    errs.push(required("spec.ports", ""));
  if ((spec.type === "LoadBalancer" || spec.type === "NodePort") && isHeadless(spec))
    errs.push(
      invalid("spec.clusterIPs[0]", spec.clusterIPs[0], `may not be set to 'None' for ${spec.type} services`),
    );
  if (spec.type === "ExternalName") {
    if (strings(spec.clusterIPs).length)
      errs.push(forbidden("spec.clusterIPs", "may not be set for ExternalName services"));
    if (strings(spec.ipFamilies).length)
      errs.push(forbidden("spec.ipFamilies", "may not be set for ExternalName services"));
    if (spec.ipFamilyPolicy)
      errs.push(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
    // A CNAME may end in a dot to mark it fully qualified.
    const cname = String(spec.externalName ?? "").replace(/\.$/, "");
    if (cname) for (const m of dns1123Subdomain(cname)) errs.push(invalid("spec.externalName", cname, m));
    else errs.push(required("spec.externalName", ""));
  }
  const names = new Set<string>();
  for (const [i, p] of ports.entries())
    errs.push(...validatePort(p, ports.length > 1, names, `spec.ports[${i}]`));
  if (spec.selector) errs.push(...validateLabels(spec.selector, "spec.selector"));
  if (!spec.sessionAffinity) errs.push(required("spec.sessionAffinity", ""));
  else if (!AFFINITIES.includes(spec.sessionAffinity))
    errs.push(notSupported("spec.sessionAffinity", spec.sessionAffinity, AFFINITIES));
  if (spec.sessionAffinity === "ClientIP") {
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    const when = "when session affinity type is ClientIP";
    if (!spec.sessionAffinityConfig) errs.push(required("spec.sessionAffinityConfig", when));
    else if (!spec.sessionAffinityConfig.clientIP)
      errs.push(required("spec.sessionAffinityConfig.clientIP", when));
    else if (timeout == null) errs.push(required("spec.sessionAffinityConfig.clientIP.timeoutSeconds", when));
    else if (!(timeout > 0 && timeout <= MAX_AFFINITY_SECONDS))
      errs.push(
        invalid(
          "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
          timeout,
          `must be greater than 0 and less than ${MAX_AFFINITY_SECONDS}`,
        ),
      );
  } else if (spec.sessionAffinity === "None" && spec.sessionAffinityConfig) {
    errs.push(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"));
  }
  errs.push(...validateClusterIPs(spec));
  strings(spec.externalIPs).forEach((ip, i) => {
    const p = `spec.externalIPs[${i}]`;
    if (!isValidIP(ip)) errs.push(invalid(p, ip, IP_ERROR));
    else for (const m of nonSpecialIPErrors(ip)) errs.push(invalid(p, ip, m));
  });
  if (!spec.type) errs.push(required("spec.type", ""));
  else if (!TYPES.includes(spec.type)) errs.push(notSupported("spec.type", spec.type, TYPES));
  if (spec.type === "ClusterIP")
    ports.forEach((p, i) => {
      if (p.nodePort)
        errs.push(forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  const nodePorts = new Set<string>();
  const servicePorts = new Set<string>();
  ports.forEach((p, i) => {
    if (p.nodePort) {
      const key = `${p.protocol}/${p.nodePort}`;
      if (nodePorts.has(key)) errs.push(duplicate(`spec.ports[${i}].nodePort`, p.nodePort));
      nodePorts.add(key);
    }
    const key = `${p.protocol}/${p.port}`;
    if (servicePorts.has(key))
      errs.push(
        duplicate(
          `spec.ports[${i}]`,
          goValue(
            `core.ServicePort{Name:"", Protocol:${JSON.stringify(p.protocol ?? "")}, AppProtocol:(*string)(nil), Port:${p.port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`,
          ),
        ),
      );
    servicePorts.add(key);
  });
  if (strings(spec.loadBalancerSourceRanges).length) {
    if (spec.type !== "LoadBalancer")
      errs.push(forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"));
    strings(spec.loadBalancerSourceRanges).forEach((r, i) => {
      const v = String(r).trim();
      if (!isValidCIDR(v)) errs.push(invalid(`spec.LoadBalancerSourceRanges[${i}]`, v, CIDR_ERROR));
    });
  }
  if (spec.allocateLoadBalancerNodePorts != null && spec.type !== "LoadBalancer")
    errs.push(
      forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"),
    );
  if (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts == null)
    errs.push(required("allocateLoadBalancerNodePorts", ""));
  if (spec.loadBalancerClass != null && spec.type !== "LoadBalancer")
    errs.push(forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"));
  errs.push(...validateTrafficPolicies(spec));
  return errs;
}

/** Once allocated, a Service's primary cluster IP stays (validateUpgradeDowngradeClusterIPs). */
function validateClusterIPsUpdate(spec: Json, old: Json): FieldError[] {
  if (spec.type === "ExternalName" || old.type === "ExternalName") return [];
  if (isHeadless(spec) && isHeadless(old)) return [];
  const next = strings(spec.clusterIPs);
  const prev = strings(old.clusterIPs);
  const shown = goValue(goStringSlice(next));
  const errs: FieldError[] = [];
  if (next.length === prev.length) {
    prev.forEach((ip, i) => {
      if (ip !== next[i]) errs.push(invalid(`spec.clusterIPs[${i}]`, shown, "may not change once set"));
    });
  } else if (prev.length > next.length) {
    if (!next.length) errs.push(invalid("spec.clusterIPs[0]", shown, "primary clusterIP can not be unset"));
    if (prev.length && next.length && next[0] !== prev[0])
      errs.push(invalid("spec.clusterIPs[0]", shown, "may not change once set"));
    if (next.length === 1 && spec.ipFamilyPolicy !== "SingleStack")
      errs.push(
        invalid(
          "spec.ipFamilyPolicy",
          spec.ipFamilyPolicy ?? null,
          "must be set to 'SingleStack' when releasing the secondary clusterIP",
        ),
      );
  } else if (prev.length && next[0] !== prev[0]) {
    errs.push(invalid("spec.clusterIPs[0]", shown, "may not change once set"));
  }
  return errs;
}

export const serviceStrategy: Strategy = {
  hasStatus: true,
  tracksGeneration: false,
  defaults,
  prepareForCreate(svc) {
    svc.status = { loadBalancer: {} };
  },
  prepareForUpdate(svc, old) {
    // An ExternalName Service has no cluster IP (upstream drops the allocated fields).
    if (svc.spec?.type === "ExternalName") {
      delete svc.spec.clusterIP;
      delete svc.spec.clusterIPs;
    }
    // Upstream's dropTypeDependentFields: a Service that no longer needs an external traffic
    // policy (no node ports, no externalIPs) loses the one it had, unless the user changed it.
    if (
      svc.spec &&
      !externallyAccessible(svc.spec) &&
      svc.spec.externalTrafficPolicy === old.spec?.externalTrafficPolicy
    )
      delete svc.spec.externalTrafficPolicy;
  },
  validate(svc) {
    const errs = validateObjectMeta(svc.metadata, { namespaced: true, nameValidator: dns1035Label });
    errs.push(...validateSpec(svc.spec && typeof svc.spec === "object" ? svc.spec : {}));
    return errs;
  },
  validateUpdate(svc, old) {
    const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
    errs.push(...validateClusterIPsUpdate(svc.spec ?? {}, old.spec ?? {}));
    if (
      old.spec?.type === "LoadBalancer" &&
      svc.spec?.type === "LoadBalancer" &&
      (old.spec.loadBalancerClass ?? null) !== (svc.spec.loadBalancerClass ?? null)
    )
      errs.push(
        invalid("spec.loadBalancerClass", svc.spec.loadBalancerClass ?? null, "may not change once set"),
      );
    return errs;
  },
  selectableFields(svc) {
    return { "spec.clusterIP": svc.spec?.clusterIP ?? "", "spec.type": svc.spec?.type ?? "" };
  },
};
