// The NetworkPolicy strategy: upstream's defaults and validation messages.
import assert from "node:assert/strict";
import { test } from "node:test";
import { networkPolicyStrategy as s } from "./networkpolicies.ts";
import { created, createErrors } from "./testing.ts";

const np = (spec: unknown) => ({ metadata: { name: "p", namespace: "default" }, spec });

test("defaults: protocol TCP; policyTypes Ingress, plus Egress when egress rules are given; an empty podSelector", () => {
  const a = created(s, np({ ingress: [{ ports: [{ port: 80 }] }] }));
  assert.deepEqual(a.spec, {
    podSelector: {},
    ingress: [{ ports: [{ port: 80, protocol: "TCP" }] }],
    policyTypes: ["Ingress"],
  });
  const b = created(s, np({ podSelector: {}, egress: [{}] }));
  assert.deepEqual(b.spec.policyTypes, ["Ingress", "Egress"]);
  const c = created(s, np({ podSelector: {}, policyTypes: ["Egress"] }));
  assert.deepEqual(c.spec.policyTypes, ["Egress"], "given policyTypes are kept");
});

test("a valid policy with every kind of peer and port has no errors", () => {
  assert.deepEqual(
    createErrors(
      s,
      np({
        podSelector: { matchLabels: { app: "db" } },
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { team: "x" } },
                podSelector: { matchLabels: { role: "fe" } },
              },
              { ipBlock: { cidr: "10.0.0.0/16", except: ["10.0.1.0/24"] } },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { port: "http" },
              { port: 8000, endPort: 8080 },
              { protocol: "SCTP" },
            ],
          },
        ],
        egress: [{ to: [{ ipBlock: { cidr: "2001:db8::/32", except: ["2001:db8:1::/48"] } }] }],
      }),
    ),
    [],
  );
});

test("ports: protocol, numbers, names, endPort as upstream says", () => {
  const errs = createErrors(
    s,
    np({
      podSelector: {},
      ingress: [
        {
          ports: [
            { protocol: "ICMP", port: 0 },
            { port: 90, endPort: 80 },
            { port: "http", endPort: 90 },
            { endPort: 90 },
            { port: "Not_A_Name" },
          ],
        },
      ],
    }),
  );
  assert.deepEqual(errs, [
    'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
    "spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
    "spec.ingress[0].ports[1].endPort: Invalid value: 80: must be greater than or equal to `port`",
    "spec.ingress[0].ports[2].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
    "spec.ingress[0].ports[3].endPort: Invalid value: 90: may not be specified when `port` is not specified",
    errs[5],
  ]);
  assert.match(errs[5], /^spec\.ingress\[0\]\.ports\[4\]\.port: Invalid value: "Not_A_Name": /);
});

test("peers and ipBlocks: one peer kind at least, no ipBlock beside another, except a strict subset of cidr", () => {
  assert.deepEqual(
    createErrors(
      s,
      np({
        podSelector: {},
        egress: [
          {
            to: [
              {},
              { ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} },
              { ipBlock: { cidr: "10.0.0.0/33" } },
              { ipBlock: { cidr: "10.0.0.0/16", except: ["10.1.0.0/24", "10.0.0.0/16", "bad"] } },
              { ipBlock: {} },
            ],
          },
        ],
        policyTypes: ["Egress", "Sideways"],
      }),
    ),
    [
      "spec.egress[0].to[0]: Required value: must specify a peer",
      "spec.egress[0].to[1]: Forbidden: may not specify both ipBlock and another peer",
      'spec.egress[0].to[2].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
      'spec.egress[0].to[3].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`',
      'spec.egress[0].to[3].ipBlock.except[1]: Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`',
      'spec.egress[0].to[3].ipBlock.except[2]: Invalid value: "bad": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
      "spec.egress[0].to[4].ipBlock.cidr: Required value",
      'spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
    ],
  );
});
