import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { KubeObject } from "../../kube/objects.ts";
import { etcHostsContent, podHostname, writeEtcHosts } from "./etc-hosts.ts";

const pod = (spec: Record<string, any> = {}): KubeObject => ({
  metadata: { name: "web", namespace: "shop", uid: "u1" },
  spec: { containers: [{ name: "a" }], ...spec },
});

const HEADER = `# Kubernetes-managed hosts file.
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
fe00::0\tip6-mcastprefix
fe00::1\tip6-allnodes
fe00::2\tip6-allrouters
`;

describe("etc-hosts", () => {
  it("the pod IP with the pod name as hostname", () => {
    assert.equal(etcHostsContent(pod(), ["10.244.1.5"]), `${HEADER}10.244.1.5\tweb\n`);
  });
  it("hostname + subdomain: the FQDN first; hostAliases at the end", () => {
    const p = pod({
      hostname: "db-0",
      subdomain: "db",
      hostAliases: [
        { ip: "10.1.2.3", hostnames: ["foo.local", "bar.local"] },
        { ip: "10.1.2.4", hostnames: ["baz"] },
      ],
    });
    assert.equal(
      etcHostsContent(p, ["10.244.1.5"]),
      `${HEADER}10.244.1.5\tdb-0.db.shop.svc.cluster.local\tdb-0\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n10.1.2.4\tbaz\n`,
    );
  });
  it("a long pod name is cut to 63 characters without a trailing dash", () => {
    const name = `${"a".repeat(62)}-bcd`;
    assert.equal(podHostname({ metadata: { name }, spec: {} }), "a".repeat(62));
  });
  it("written under the pod's dir; nothing for hostNetwork pods or without an IP", () => {
    const dir = mkdtempSync(join(tmpdir(), "etc-hosts-"));
    try {
      const path = writeEtcHosts(dir, pod(), ["10.244.1.9"]);
      assert.equal(path, join(dir, "u1", "etc-hosts"));
      assert.match(readFileSync(path!, "utf8"), /10\.244\.1\.9\tweb\n$/);
      assert.equal(writeEtcHosts(dir, pod({ hostNetwork: true }), ["10.254.0.11"]), undefined);
      assert.equal(writeEtcHosts(dir, pod(), []), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
