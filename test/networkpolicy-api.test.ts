// The sandbox serves networking.k8s.io/v1 NetworkPolicy as a real API server does (issue 12's
// first part; nothing enforces it yet): the real kubectl 1.33 and 1.27 apply, get (the
// Pod-Selector column), describe and explain it, and an invalid policy is refused with
// upstream's message.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "./support/sandbox.ts";

let sb: Sandbox;
before(async () => {
  sb = await startSandbox();
});
after(async () => {
  await sb?.stop();
});

const policy = (name: string) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
spec:
  podSelector:
    matchLabels: {app: db}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: x}}
      podSelector: {matchLabels: {role: fe}}
    ports:
    - port: 5432
    - port: 8000
      endPort: 8080
`;

for (const version of ["1.33", "1.27"] as const)
  test(`kubectl ${version}: apply, get, describe and explain a NetworkPolicy; an invalid one is refused`, async () => {
    const k = async (args: string[], input?: string) => {
      const r = await sb.kubectl(args, { version, input });
      assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    const name = `db-${version.replace(".", "")}`;
    await k(["apply", "-f", "-"], policy(name));
    const row = (await k(["get", "netpol", name, "--no-headers"])).trim().split(/\s+/);
    assert.deepEqual(row.slice(0, 2), [name, "app=db"]);
    const stored = JSON.parse(await k(["get", "networkpolicy", name, "-o", "json"]));
    assert.deepEqual(stored.spec.policyTypes, ["Ingress"], "policyTypes defaulted");
    assert.deepEqual(
      stored.spec.ingress[0].ports.map((p: { protocol: string }) => p.protocol),
      ["TCP", "TCP"],
      "protocol defaulted",
    );
    const described = await k(["describe", "networkpolicy", name]);
    assert.match(described, /PodSelector:\s+app=db/);
    assert.match(described, /To Port: 5432\/TCP/);
    assert.match(described, /NamespaceSelector: team=x/);
    assert.match(await k(["explain", "networkpolicy.spec.ingress.ports.endPort"]), /endPort/);
    const bad = await sb.kubectl(["apply", "-f", "-"], {
      version,
      input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bad
spec:
  podSelector: {}
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}
`,
    });
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /spec\.egress\[0\]\.to\[0\]\.ipBlock\.except\[0\]: Invalid value: "10\.1\.0\.0\/24": must be a strict subset of `cidr`/,
    );
  });
