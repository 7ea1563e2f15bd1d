// NetworkPolicy with the neutron backend, against the real neutron-server the sandbox starts:
// raven-controller keeps a security group per policy (as kuryr-kubernetes did) on the selected
// pods' ports, and since this Neutron has no L2 agents, each node's raven-agent enforces those
// groups (--enforce-security-groups). The same truth table, Service and probe tests as the
// embedded backend (test/support/networkpolicy-tests.ts), and what the real openstack CLI shows.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { networkPolicyTests } from "./support/networkpolicy-tests.ts";
import { eventually, run } from "./support/sandbox.ts";

networkPolicyTests("neutron", ({ sandbox, k, deleteAllPolicies }) => {
  const openstack = async (args: string[]) => {
    const r = await run("openstack", ["--os-cloud", "raven-sandbox", ...args, "-f", "json"], {
      timeoutMs: 120_000,
      env: { ...process.env, OS_CLIENT_CONFIG_FILE: join(sandbox().dir, "openstack", "clouds.yaml") },
    });
    assert.equal(r.code, 0, `openstack ${args.join(" ")}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  test("openstack shows the policy's security group, with its rules, on the selected pod's port only", async () => {
    await deleteAllPolicies(); // whatever an earlier test left when it failed
    const policyJson = JSON.stringify({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "web-80", namespace: "x" },
      spec: { podSelector: { matchLabels: { pod: "a" } }, ingress: [{ ports: [{ port: 80 }] }] },
    });
    const r = await sandbox().kubectl(["apply", "-f", "-"], { input: policyJson });
    assert.equal(r.code, 0, r.stderr);
    const group = await eventually(
      async () =>
        ((await openstack(["security", "group", "list"])) as { ID: string; Name: string }[]).find(
          (g) => g.Name === "raven-np-x-web-80",
        ),
      60_000,
      "the policy's security group",
    );
    const rules = (await openstack([
      "security",
      "group",
      "rule",
      "list",
      (group as { ID: string }).ID,
      "--long",
    ])) as Record<string, unknown>[];
    const summary = rules
      .map((x) => `${x.Direction} ${x["IP Protocol"] ?? "any"} ${x["Port Range"] ?? ""}`)
      .sort();
    // Rules for the direction the policy isolates only: egress is left to raven-allow-egress.
    assert.deepEqual(summary, ["ingress tcp 80:80"]);
    /** The security groups of the pod's port, as `openstack port show` has them. */
    const groupsOf = async (pod: string) => {
      const ip = (await k(["get", "pod", "-n", "x", pod, "-o", "jsonpath={.status.podIP}"])).trim();
      const [port] = (await openstack(["port", "list", "--fixed-ip", `ip-address=${ip}`])) as {
        ID: string;
      }[];
      return (
        (await openstack(["port", "show", port.ID, "-c", "security_group_ids"])) as {
          security_group_ids: string[];
        }
      ).security_group_ids;
    };
    const id = (group as { ID: string }).ID;
    await eventually(async () => (await groupsOf("a")).includes(id), 60_000, "x/a's port carries the group");
    const b = await groupsOf("b");
    assert.ok(!b.includes(id), "x/b's does not");
    const all = (await openstack(["security", "group", "list"])) as { ID: string; Name: string }[];
    assert.deepEqual(
      (await groupsOf("a")).map((g) => all.find((x) => x.ID === g)?.Name).sort(),
      ["raven-allow-egress", "raven-np-x-web-80"],
      "the selected pod's port: the policy's group, and egress (which it does not isolate) open",
    );
    assert.deepEqual(
      b.map((g) => all.find((x) => x.ID === g)?.Name),
      ["raven-default"],
      "a pod no policy selects has the group that allows everything",
    );
    const del = await sandbox().kubectl(["delete", "networkpolicy", "-n", "x", "web-80"]);
    assert.equal(del.code, 0, del.stderr);
    await eventually(
      async () =>
        !((await openstack(["security", "group", "list"])) as { Name: string }[]).some(
          (g) => g.Name === "raven-np-x-web-80",
        ),
      60_000,
      "the group gone with its policy",
    );
  });
});
