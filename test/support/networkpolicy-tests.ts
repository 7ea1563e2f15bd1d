// NetworkPolicy, enforced, proven by a truth table in the style of Kubernetes' own network-policy
// tests (the same tests on both backends): namespaces x, y, z with pods a, b, c (agnhost serving TCP and UDP on
// ports 80 and 81) spread over two real nodes. For each case the test applies the case's
// policies (and label changes) with the real kubectl, then probes all 9x9 pairs on each port and
// protocol from inside the client pods (one exec per client, its probes in parallel) until the
// result is the case's expected matrix, printing the difference if it never is. Expectations are
// written by hand per case, as upstream writes them. A pod reaching itself never leaves its netns
// (always allowed, as upstream's AllowLoopback).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, type Sandbox, startSandbox } from "./sandbox.ts";

const NAMESPACES = ["x", "y", "z"] as const;
const PODS = ["a", "b", "c"] as const;
const PORTS = [80, 81] as const;
const PROTOCOLS = ["tcp", "udp"] as const;
type Ns = (typeof NAMESPACES)[number];
type PodName = (typeof PODS)[number];
type Port = (typeof PORTS)[number];
type Proto = (typeof PROTOCOLS)[number];
interface Peer {
  ns: Ns;
  pod: PodName;
}
/** Whether `client` may open a connection to `server` on port/protocol. */
type Expect = (client: Peer, server: Peer, port: Port, proto: Proto) => boolean;

const ALL: Peer[] = NAMESPACES.flatMap((ns) => PODS.map((pod) => ({ ns, pod })));
const id = (p: Peer) => `${p.ns}/${p.pod}`;
const WAIT = 60_000;

/** Registers the tests on a sandbox of two real nodes with `backend`; `extra` runs more tests on it. */
export function networkPolicyTests(
  backend: "embedded" | "neutron",
  extra?: (ctx: {
    sandbox: () => Sandbox;
    k: (args: string[]) => Promise<string>;
    deleteAllPolicies: () => Promise<void>;
  }) => void,
): void {
  let sb: Sandbox;
  const ips = new Map<string, string>();

  const k = async (args: string[], input?: string, version: "1.33" | "1.27" = "1.33") => {
    const r = await sb.kubectl(args, { input, version, timeoutMs: 120_000 });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const apply = (docs: object[]) =>
    k(["apply", "-f", "-"], docs.map((d) => JSON.stringify(d)).join("\n---\n"));

  const serverCommand = PORTS.map((p) => `agnhost serve-hostname --tcp --udp --http=false --port ${p}`).join(
    " & ",
  );
  const podManifest = (p: Peer, node: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: p.pod, namespace: p.ns, labels: { pod: p.pod } },
    spec: {
      nodeName: node,
      containers: [
        {
          name: "serve",
          image: "registry.k8s.io/e2e-test-images/agnhost:2.47",
          command: ["sh", "-c", `${serverCommand} & wait`],
          ports: PORTS.flatMap((port) =>
            PROTOCOLS.map((proto) => ({
              name: `serve-${port}-${proto}`,
              containerPort: port,
              protocol: proto.toUpperCase(),
            })),
          ),
        },
      ],
    },
  });

  before(async () => {
    sb = await startSandbox({ nodes: 2, backend });
    const nodes = (await eventually(
      async () => {
        const names = (await k(["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"]))
          .trim()
          .split(" ");
        return names.length === 2 ? names : undefined;
      },
      WAIT,
      "two nodes",
    )) as string[];
    await apply(
      NAMESPACES.map((ns) => ({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns, labels: { ns } },
      })),
    );
    // Spread so that every namespace has pods on both nodes: bridged, routed and VXLAN paths all count.
    await apply(ALL.map((p, i) => podManifest(p, nodes[i % 2])));
    for (const ns of NAMESPACES)
      await k(["wait", "-n", ns, "--for=condition=Ready", "pod", "--all", "--timeout=180s"]);
    for (const p of ALL)
      ips.set(id(p), (await k(["get", "pod", "-n", p.ns, p.pod, "-o", "jsonpath={.status.podIP}"])).trim());
  });
  after(async () => {
    await sb?.stop();
  });

  /** One probe round: every client probes every server on every port and protocol, in parallel. */
  async function probeAll(): Promise<Map<string, boolean>> {
    const results = new Map<string, boolean>();
    await Promise.all(
      ALL.map(async (client) => {
        const lines = ALL.flatMap((server) =>
          PORTS.flatMap((port) =>
            PROTOCOLS.map((proto) => {
              const key = `${id(server)} ${port} ${proto}`;
              return `(agnhost connect --protocol=${proto} --timeout=1s ${ips.get(id(server))}:${port} >/dev/null 2>&1 && echo "${key} 1" || echo "${key} 0") &`;
            }),
          ),
        );
        const out = await k([
          "exec",
          "-n",
          client.ns,
          client.pod,
          "--",
          "sh",
          "-c",
          `${lines.join("\n")}\nwait`,
        ]);
        for (const line of out.trim().split("\n")) {
          const [server, port, proto, ok] = line.split(" ");
          results.set(`${id(client)} ${server} ${port} ${proto}`, ok === "1");
        }
      }),
    );
    return results;
  }

  /** The expected matrix, loopback always allowed. */
  function expected(expect: Expect): Map<string, boolean> {
    const m = new Map<string, boolean>();
    for (const c of ALL)
      for (const s of ALL)
        for (const port of PORTS)
          for (const proto of PROTOCOLS)
            m.set(`${id(c)} ${id(s)} ${port} ${proto}`, id(c) === id(s) || expect(c, s, port, proto));
    return m;
  }

  /** The 9x9 tables of one port/protocol, `.` as expected, `X`/`-` where it is (not) reachable against the expectation. */
  function difference(want: Map<string, boolean>, got: Map<string, boolean>): string {
    const out: string[] = [];
    for (const port of PORTS)
      for (const proto of PROTOCOLS) {
        const rows = [
          `${port}/${proto}  ${ALL.map(id).join(" ")}   (rows: clients; . as expected, X reachable but should not be, - not reachable but should be)`,
        ];
        let wrong = false;
        for (const c of ALL) {
          const cells = ALL.map((s) => {
            const key = `${id(c)} ${id(s)} ${port} ${proto}`;
            if (want.get(key) === got.get(key)) return "  . ";
            wrong = true;
            return got.get(key) ? "  X " : "  - ";
          });
          rows.push(`${id(c)}     ${cells.join("")}`);
        }
        if (wrong) out.push(rows.join("\n"));
      }
    return out.join("\n\n");
  }

  /** Probes until the matrix is the expected one; fails with the difference of the last round. */
  async function assertReachability(name: string, expect: Expect): Promise<void> {
    const want = expected(expect);
    let last = new Map<string, boolean>();
    const deadline = Date.now() + WAIT;
    for (;;) {
      last = await probeAll();
      if ([...want].every(([key, v]) => last.get(key) === v)) return;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const warnings = sb.ravenWarnings();
    assert.fail(
      `${name}: reachability differs from the expected matrix\n${difference(want, last)}${warnings ? `\nRaven's warnings:\n${warnings}` : ""}`,
    );
  }

  const policy = (ns: Ns, name: string, spec: Record<string, unknown>) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: ns },
    spec,
  });
  const deleteAllPolicies = async () => {
    for (const ns of NAMESPACES) await k(["delete", "networkpolicy", "--all", "-n", ns]);
  };
  const everyone: Expect = () => true;

  interface Case {
    name: string;
    policies?: object[];
    /** Something else to do before probing (labels changed). */
    prepare?: () => Promise<unknown>;
    expect: Expect;
    /** Undo `prepare`. */
    cleanup?: () => Promise<unknown>;
  }

  const sel = (pod: PodName) => ({ matchLabels: { pod } });
  const nsSel = (...ns: Ns[]) => ({ matchExpressions: [{ key: "ns", operator: "In", values: ns }] });

  const CASES: Case[] = [
    { name: "no policy: everyone reaches everyone", expect: everyone },
    {
      name: "deny-all ingress in x",
      policies: [policy("x", "deny-in", { podSelector: {} })],
      expect: (_c, s) => s.ns !== "x",
    },
    {
      name: "deny-all egress in x",
      policies: [policy("x", "deny-out", { podSelector: {}, policyTypes: ["Egress"] })],
      expect: (c) => c.ns !== "x",
    },
    {
      name: "deny-all ingress and an allow-all ingress on x/a: rules are unions",
      policies: [
        policy("x", "deny-in", { podSelector: {} }),
        policy("x", "allow-a", { podSelector: sel("a"), ingress: [{}] }),
      ],
      expect: (_c, s) => s.ns !== "x" || s.pod === "a",
    },
    {
      name: "x/a allows ingress from namespace y by label",
      policies: [
        policy("x", "from-y", {
          podSelector: sel("a"),
          ingress: [{ from: [{ namespaceSelector: nsSel("y") }] }],
        }),
      ],
      expect: (c, s) => id(s) !== "x/a" || c.ns === "y",
    },
    {
      name: "x/a allows from pods b of namespaces y and z (both selectors in one peer)",
      policies: [
        policy("x", "b-of-yz", {
          podSelector: sel("a"),
          ingress: [{ from: [{ namespaceSelector: nsSel("y", "z"), podSelector: sel("b") }] }],
        }),
      ],
      expect: (c, s) => id(s) !== "x/a" || (c.ns !== "x" && c.pod === "b"),
    },
    {
      name: "x/a allows from pods b of its own namespace or anything in z (two peers)",
      policies: [
        policy("x", "b-or-z", {
          podSelector: sel("a"),
          ingress: [{ from: [{ podSelector: sel("b") }, { namespaceSelector: nsSel("z") }] }],
        }),
      ],
      expect: (c, s) => id(s) !== "x/a" || id(c) === "x/b" || c.ns === "z",
    },
    {
      name: "x allows ingress only from its own namespace",
      policies: [policy("x", "own-ns", { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })],
      expect: (c, s) => s.ns !== "x" || c.ns === "x",
    },
    {
      name: "x/a allows TCP 80 only, by the named port serve-80-tcp",
      policies: [
        policy("x", "named", {
          podSelector: sel("a"),
          ingress: [{ ports: [{ port: "serve-80-tcp", protocol: "TCP" }] }],
        }),
      ],
      expect: (_c, s, port, proto) => id(s) !== "x/a" || (port === 80 && proto === "tcp"),
    },
    {
      name: "x/a allows UDP 81 only, by number",
      policies: [
        policy("x", "udp-81", {
          podSelector: sel("a"),
          ingress: [{ ports: [{ port: 81, protocol: "UDP" }] }],
        }),
      ],
      expect: (_c, s, port, proto) => id(s) !== "x/a" || (port === 81 && proto === "udp"),
    },
    {
      name: "x/a allows the TCP range 81-90 (endPort)",
      policies: [
        policy("x", "range", {
          podSelector: sel("a"),
          ingress: [{ ports: [{ port: 81, endPort: 90, protocol: "TCP" }] }],
        }),
      ],
      expect: (_c, s, port, proto) => id(s) !== "x/a" || (port === 81 && proto === "tcp"),
    },
    {
      name: "x/a allows the TCP range 79-80 and UDP (any port): ranges and port-less protocols",
      policies: [
        policy("x", "mixed", {
          podSelector: sel("a"),
          ingress: [{ ports: [{ port: 79, endPort: 80, protocol: "TCP" }, { protocol: "UDP" }] }],
        }),
      ],
      expect: (_c, s, port, proto) => id(s) !== "x/a" || proto === "udp" || port === 80,
    },
    {
      name: "x/a allows from an ipBlock: namespace y's subnet, except y/b's address",
      policies: [
        // Built at run time from the pods' addresses (below).
      ],
      expect: (c, s) => id(s) !== "x/a" || (c.ns === "y" && c.pod !== "b"),
    },
    {
      name: "x/a may reach y/b only (egress to one pod)",
      policies: [
        policy("x", "to-yb", {
          podSelector: sel("a"),
          policyTypes: ["Egress"],
          egress: [{ to: [{ namespaceSelector: nsSel("y"), podSelector: sel("b") }] }],
        }),
      ],
      expect: (c, s) => id(c) !== "x/a" || id(s) === "y/b",
    },
    {
      name: "x/a may reach anyone on the named port serve-81-udp only (egress, resolved on each destination)",
      policies: [
        policy("x", "to-81-udp", {
          podSelector: sel("a"),
          policyTypes: ["Egress"],
          egress: [{ ports: [{ port: "serve-81-udp", protocol: "UDP" }] }],
        }),
      ],
      expect: (c, _s, port, proto) => id(c) !== "x/a" || (port === 81 && proto === "udp"),
    },
    {
      name: "x isolated both ways: ingress from y only, egress to z only",
      policies: [
        policy("x", "both", {
          podSelector: {},
          policyTypes: ["Ingress", "Egress"],
          ingress: [{ from: [{ namespaceSelector: nsSel("y") }] }],
          egress: [{ to: [{ namespaceSelector: nsSel("z") }] }],
        }),
      ],
      expect: (c, s) => (s.ns !== "x" || c.ns === "y") && (c.ns !== "x" || s.ns === "z"),
    },
    {
      name: "an egress-only policy and an ingress-only one on x/a: each direction is judged by the policy isolating it",
      policies: [
        policy("x", "deny-out", { podSelector: {}, policyTypes: ["Egress"] }),
        policy("x", "from-y", {
          podSelector: sel("a"),
          ingress: [{ from: [{ namespaceSelector: nsSel("y") }] }],
        }),
      ],
      expect: (c, s) => c.ns !== "x" && (id(s) !== "x/a" || c.ns === "y"),
    },
    {
      name: "egress denied at the client wins over ingress allowed at the server",
      policies: [
        policy("x", "deny-out-a", { podSelector: sel("a"), policyTypes: ["Egress"] }),
        policy("y", "allow-in", { podSelector: {}, ingress: [{}] }),
      ],
      expect: (c) => id(c) !== "x/a",
    },
    {
      name: "two policies on y/b: TCP 80 from x, UDP 81 from z (union)",
      policies: [
        policy("y", "x-80", {
          podSelector: sel("b"),
          ingress: [{ from: [{ namespaceSelector: nsSel("x") }], ports: [{ port: 80 }] }],
        }),
        policy("y", "z-81", {
          podSelector: sel("b"),
          ingress: [{ from: [{ namespaceSelector: nsSel("z") }], ports: [{ port: 81, protocol: "UDP" }] }],
        }),
      ],
      expect: (c, s, port, proto) =>
        id(s) !== "y/b" ||
        (c.ns === "x" && port === 80 && proto === "tcp") ||
        (c.ns === "z" && port === 81 && proto === "udp"),
    },
    {
      name: "deny-all ingress and egress everywhere",
      policies: NAMESPACES.map((ns) =>
        policy(ns, "deny-all", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
      ),
      expect: () => false,
    },
    {
      name: "the deny-all policies removed: everyone reaches everyone again",
      expect: everyone,
    },
    {
      name: "x/a allows from pods b; y/c relabelled pod=b is allowed too",
      policies: [
        policy("x", "from-b", {
          podSelector: sel("a"),
          ingress: [{ from: [{ namespaceSelector: {}, podSelector: sel("b") }] }],
        }),
      ],
      prepare: () => k(["label", "pod", "-n", "y", "c", "pod=b", "--overwrite"]),
      expect: (c, s) => id(s) !== "x/a" || c.pod === "b" || id(c) === "y/c",
      cleanup: () => k(["label", "pod", "-n", "y", "c", "pod=c", "--overwrite"]),
    },
    {
      name: "...and y/c relabelled back is denied again",
      policies: [
        policy("x", "from-b", {
          podSelector: sel("a"),
          ingress: [{ from: [{ namespaceSelector: {}, podSelector: sel("b") }] }],
        }),
      ],
      expect: (c, s) => id(s) !== "x/a" || c.pod === "b",
    },
    {
      name: "x allows from namespaces labelled team=blue; z labelled so mid-test is allowed",
      policies: [
        policy("x", "blue", {
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "blue" } } }] }],
        }),
      ],
      prepare: () => k(["label", "namespace", "z", "team=blue"]),
      expect: (c, s) => s.ns !== "x" || c.ns === "z",
      cleanup: () => k(["label", "namespace", "z", "team-"]),
    },
    {
      name: "x/a is selected once relabelled pod=c: a deny-all for pods c",
      policies: [policy("x", "locked", { podSelector: sel("c") })],
      prepare: () => k(["label", "pod", "-n", "x", "a", "pod=c", "--overwrite"]),
      expect: (_c, s) => !(s.ns === "x" && (s.pod === "c" || s.pod === "a")),
      cleanup: () => k(["label", "pod", "-n", "x", "a", "pod=a", "--overwrite"]),
    },
  ];

  test(`NetworkPolicy truth table: ${CASES.length} cases, 9x9 pods x TCP/UDP x ports 80/81, on two nodes`, async () => {
    // The ipBlock case: namespace y's subnet (a /24 per namespace), with y/b's address excepted.
    const yb = ips.get("y/b")!;
    const block = `${yb.split(".").slice(0, 3).join(".")}.0/24`;
    const ipCase = CASES.find((c) => c.name.startsWith("x/a allows from an ipBlock"))!;
    ipCase.policies = [
      policy("x", "block", {
        podSelector: sel("a"),
        ingress: [{ from: [{ ipBlock: { cidr: block, except: [`${yb}/32`] } }] }],
      }),
    ];
    for (const p of ALL)
      assert.equal(inCidr(ips.get(id(p))!, block), p.ns === "y", `${id(p)} at ${ips.get(id(p))} vs ${block}`);
    for (const c of CASES) {
      await deleteAllPolicies();
      if (c.policies?.length) await apply(c.policies);
      await c.prepare?.();
      try {
        await assertReachability(c.name, c.expect);
      } finally {
        await c.cleanup?.();
      }
    }
    await deleteAllPolicies();
  });
  /** One probe from inside `client`: whether it connects. */
  async function reaches(client: Peer, address: string, port: number, proto: Proto): Promise<boolean> {
    const r = await sb.kubectl(
      [
        "exec",
        "-n",
        client.ns,
        client.pod,
        "--",
        "agnhost",
        "connect",
        `--protocol=${proto}`,
        "--timeout=1s",
        `${address}:${port}`,
      ],
      { timeoutMs: 60_000 },
    );
    return r.code === 0;
  }

  test("a Service's member is judged after DNAT: an allowed client reaches it through the VIP too, a denied one does not", async () => {
    await deleteAllPolicies(); // whatever an earlier test left when it failed
    await apply([
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: "x" },
        spec: {
          selector: { pod: "a" },
          ports: [
            { name: "tcp", port: 8080, targetPort: 80, protocol: "TCP" },
            { name: "udp", port: 8081, targetPort: 81, protocol: "UDP" },
          ],
        },
      },
    ]);
    const vip = (await k(["get", "service", "-n", "x", "web", "-o", "jsonpath={.spec.clusterIP}"])).trim();
    // Applied with kubectl 1.27 this time.
    await k(
      ["apply", "-f", "-"],
      JSON.stringify(
        policy("x", "from-y", {
          podSelector: sel("a"),
          ingress: [{ from: [{ namespaceSelector: nsSel("y") }] }],
        }),
      ),
      "1.27",
    );
    const want = [
      { client: { ns: "y", pod: "a" } as Peer, ok: true },
      { client: { ns: "z", pod: "a" } as Peer, ok: false },
      { client: { ns: "x", pod: "b" } as Peer, ok: false },
    ];
    for (const [port, proto] of [
      [8080, "tcp"],
      [8081, "udp"],
    ] as const)
      for (const w of want)
        await eventually(
          async () => (await reaches(w.client, vip, port, proto)) === w.ok,
          WAIT,
          `${id(w.client)} -> ${vip}:${port}/${proto} ${w.ok ? "allowed" : "denied"}`,
        );
    // What is enforced, in the policy's Events.
    const events = await k(
      [
        "get",
        "events",
        "-n",
        "x",
        "--field-selector",
        "involvedObject.kind=NetworkPolicy,involvedObject.name=from-y",
      ],
      undefined,
      "1.27",
    );
    assert.match(
      events,
      /PolicyCompiled\s+networkpolicy\/from-y\s+isolates 1 pod on 1 node for ingress \(1 rule\)/,
    );
    await deleteAllPolicies();
    await k(["delete", "service", "-n", "x", "web"]);
  });

  test("the node's own probes keep a pod ready and alive under deny-all ingress", async () => {
    const node = (await k(["get", "pod", "-n", "x", "a", "-o", "jsonpath={.spec.nodeName}"])).trim();
    const manifest = podManifest({ ns: "x", pod: "a" }, node);
    const probe = (port: number) => ({ tcpSocket: { port }, periodSeconds: 1, failureThreshold: 1 });
    await deleteAllPolicies();
    await apply([
      {
        ...manifest,
        metadata: { name: "probed", namespace: "x", labels: { pod: "probed" } },
        spec: {
          ...manifest.spec,
          containers: [
            {
              ...manifest.spec.containers[0],
              // However long the servers take to start on a loaded machine, before liveness counts.
              startupProbe: { ...probe(81), failureThreshold: 300 },
              readinessProbe: probe(80),
              livenessProbe: probe(81),
            },
          ],
        },
      },
      policy("x", "deny-probed", { podSelector: { matchLabels: { pod: "probed" } } }),
    ]);
    await k(["wait", "-n", "x", "--for=condition=Ready", "pod/probed", "--timeout=120s"]);
    const ip = (await k(["get", "pod", "-n", "x", "probed", "-o", "jsonpath={.status.podIP}"])).trim();
    // The policy is in force: pods on either node are refused, a pod of its own namespace too.
    for (const client of [
      { ns: "x", pod: "a" },
      { ns: "x", pod: "b" },
      { ns: "y", pod: "a" },
    ] as Peer[])
      await eventually(async () => !(await reaches(client, ip, 80, "tcp")), WAIT, `${id(client)} refused`);
    // A probe that failed once would have made the pod unready (failureThreshold 1, every second)
    // or restarted it: watch it for ten probe periods.
    for (let i = 0; i < 10; i++) {
      const state = await k([
        "get",
        "pod",
        "-n",
        "x",
        "probed",
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].restartCount}',
      ]);
      assert.equal(state.trim(), "True 0", `probe period ${i}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    await deleteAllPolicies();
    await k(["delete", "pod", "-n", "x", "probed", "--wait=false"]);
  });

  extra?.({ sandbox: () => sb, k: (args) => k(args), deleteAllPolicies });
}

const toInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base, len] = cidr.split("/");
  const size = 2 ** (32 - Number(len));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}
