// The pod's kubelet-managed /etc/hosts (upstream's managedHostsFileContent): localhost lines,
// the pod's IPs with its hostname (FQDN first when the pod has a subdomain), then the
// hostAliases. Written to <podsDir>/<uid>/etc-hosts and bind-mounted into every container of a
// pod with its own network namespace, unless the container mounts /etc/hosts itself.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeObject } from "../../kube/objects.ts";
import { podDir } from "./volumes.ts";

export const CLUSTER_DOMAIN = "cluster.local";

/** The pod's hostname as its sandbox gets it: spec.hostname, else the pod name (at most 63 characters). */
export function podHostname(pod: KubeObject): string {
  const name: string = pod.spec?.hostname || pod.metadata.name || "";
  return name.length > 63 ? name.slice(0, 63).replace(/[-.]+$/, "") : name;
}

export function etcHostsContent(pod: KubeObject, podIps: readonly string[]): string {
  const host = podHostname(pod);
  const sub: string | undefined = pod.spec?.subdomain;
  const domain = sub ? `${sub}.${pod.metadata.namespace}.svc.${CLUSTER_DOMAIN}` : "";
  let out =
    "# Kubernetes-managed hosts file.\n" +
    "127.0.0.1\tlocalhost\n" +
    "::1\tlocalhost ip6-localhost ip6-loopback\n" +
    "fe00::0\tip6-localnet\n" +
    "fe00::0\tip6-mcastprefix\n" +
    "fe00::1\tip6-allnodes\n" +
    "fe00::2\tip6-allrouters\n";
  for (const ip of podIps) out += domain ? `${ip}\t${host}.${domain}\t${host}\n` : `${ip}\t${host}\n`;
  const aliases: any[] = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    out += "\n# Entries added by HostAliases.\n";
    for (const a of aliases) out += `${a.ip}\t${(a.hostnames ?? []).join("\t")}\n`;
  }
  return out;
}

/** Writes the pod's hosts file; undefined (nothing to mount) for hostNetwork pods or without an IP. */
export function writeEtcHosts(
  podsDir: string,
  pod: KubeObject,
  podIps: readonly string[],
): string | undefined {
  if (pod.spec?.hostNetwork || !podIps.length || !pod.metadata.uid) return undefined;
  const dir = podDir(podsDir, pod.metadata.uid);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "etc-hosts");
  writeFileSync(path, etcHostsContent(pod, podIps), { mode: 0o644 });
  return path;
}
