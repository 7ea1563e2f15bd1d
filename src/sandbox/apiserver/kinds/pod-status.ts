// Rules for writes to pods/status (upstream ValidatePodStatusUpdate), and the podIP/podIPs and
// hostIP/hostIPs pairing that v1 conversion keeps consistent.
import { duplicate, type FieldError, forbidden, invalid } from "../errors.ts";
import { goValue } from "./go-format.ts";
import { type Json, objects } from "./json.ts";
import { FIELD_IMMUTABLE, validateObjectMetaUpdate } from "./meta.ts";
import { dns1123Subdomain, IP_ERROR, ipFamilyOf, isValidIP, qualifiedName } from "./names.ts";

const SYSTEM_CONDITIONS = new Set(["PodScheduled", "Ready", "Initialized"]);

/**
 * The singular and plural IP fields describe the same addresses: the singular one wins when
 * they disagree and fills an empty list, and the list's first entry fills an empty singular.
 */
export function syncStatusIPs(status: Json | undefined): void {
  if (!status || typeof status !== "object") return;
  for (const [one, many] of [
    ["podIP", "podIPs"],
    ["hostIP", "hostIPs"],
  ]) {
    const ips = objects(status[many]);
    if (status[one] && (!ips.length || ips[0].ip !== status[one])) status[many] = [{ ip: status[one] }];
    else if (!status[one] && ips.length && ips[0].ip) status[one] = ips[0].ip;
  }
}

function validateIPList(ips: Json[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  ips.forEach((p, i) => {
    if (!isValidIP(p.ip ?? "")) errs.push(invalid(`${path}[${i}]`, p.ip ?? "", IP_ERROR));
  });
  if (ips.length > 1 && !errs.length) {
    const families = new Set(ips.map((p) => ipFamilyOf(p.ip)));
    if (families.size !== 2 || ips.length > 2)
      errs.push(
        invalid(
          path,
          goValue(`[]core.PodIP{${ips.map((p) => `core.PodIP{IP:${JSON.stringify(p.ip)}}`).join(", ")}}`),
          "may specify no more than one IP for each IP family",
        ),
      );
    const seen = new Set<string>();
    ips.forEach((p, i) => {
      if (seen.has(p.ip))
        errs.push(duplicate(`${path}[${i}]`, goValue(`core.PodIP{IP:${JSON.stringify(p.ip)}}`)));
      seen.add(p.ip);
    });
  }
  return errs;
}

/** A terminated container may not come back unless the restart policy allows it. */
function stateTransitions(next: Json[], prev: Json[], path: string, restartPolicy: string): FieldError[] {
  if (restartPolicy === "Always") return [];
  const errs: FieldError[] = [];
  prev.forEach((old, i) => {
    const term = old.state?.terminated;
    if (!term) return;
    if (term.exitCode !== 0 && restartPolicy === "OnFailure") return;
    for (const cur of next)
      if (cur.name === old.name && !cur.state?.terminated)
        errs.push(forbidden(`${path}[${i}].state`, "may not be transitioned to non-terminated state"));
  });
  return errs;
}

export function validatePodStatusUpdate(pod: Json, old: Json): FieldError[] {
  const status: Json = structuredClone(pod.status ?? {});
  syncStatusIPs(status);
  const prev: Json = old.status ?? {};
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  // Upstream names the conditions path under "metadata" (sic).
  objects(status.conditions).forEach((c, i) => {
    if (SYSTEM_CONDITIONS.has(c.type)) return;
    for (const m of qualifiedName(c.type ?? ""))
      errs.push(invalid(`metadata.conditions[${i}].Type`, c.type ?? "", m));
  });
  if ((pod.spec?.nodeName ?? "") !== (old.spec?.nodeName ?? ""))
    errs.push(forbidden("status.nodeName", "may not be changed directly"));
  if (status.nominatedNodeName && status.nominatedNodeName !== prev.nominatedNodeName)
    for (const m of dns1123Subdomain(status.nominatedNodeName))
      errs.push(invalid("status.nominatedNodeName", status.nominatedNodeName, m));
  if ((status.qosClass ?? "") !== (prev.qosClass ?? ""))
    errs.push(invalid("status.qosClass", status.qosClass ?? "", FIELD_IMMUTABLE));
  const restart = old.spec?.restartPolicy ?? "Always";
  errs.push(
    ...stateTransitions(
      objects(status.containerStatuses),
      objects(prev.containerStatuses),
      "status.containerStatuses",
      restart,
    ),
  );
  errs.push(...validateIPList(objects(status.podIPs), "status.podIPs"));
  const hostIPs = objects(status.hostIPs);
  if (hostIPs.length && status.hostIP !== hostIPs[0].ip)
    errs.push(invalid("status.hostIPs[0].ip", hostIPs[0].ip ?? "", "must be equal to `hostIP`"));
  errs.push(...validateIPList(hostIPs, "status.hostIPs"));
  return errs;
}
