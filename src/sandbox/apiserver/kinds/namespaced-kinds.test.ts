import assert from "node:assert/strict";
import { test } from "node:test";
import { fallbackStrategy, strategies, strategyFor } from "./index.ts";
import { created, createErrors, updateErrors } from "./testing.ts";

const meta = (name: string) => ({ name, namespace: "default" });

test("ConfigMaps: config-key names, a 1 MiB budget, and the immutable lock", () => {
  const cms = strategies["/configmaps"];
  assert.deepEqual(createErrors(cms, { metadata: meta("cfg"), data: { "game.properties": "x=1" } }), []);
  assert.deepEqual(createErrors(cms, { metadata: meta("cfg"), data: { "bad key": "x" } }), [
    `data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
  ]);
  assert.deepEqual(createErrors(cms, { metadata: meta("cfg"), data: { big: "x".repeat(1024 * 1024 + 1) } }), [
    ": Too long: must have at most 1048576 bytes",
  ]);
  const locked = created(cms, { metadata: meta("cfg"), immutable: true, data: { a: "1" } });
  const edited = structuredClone(locked);
  edited.data.a = "2";
  assert.deepEqual(updateErrors(cms, edited, locked), [
    "data: Forbidden: field is immutable when `immutable` is set",
  ]);
});

test("Secrets: Opaque by default, stringData folded into base64 data, type fixed", () => {
  const secrets = strategies["/secrets"];
  const s = created(secrets, { metadata: meta("creds"), stringData: { password: "hunter2" } });
  assert.equal(s.type, "Opaque");
  assert.deepEqual(s.data, { password: Buffer.from("hunter2").toString("base64") });
  assert.equal(s.stringData, undefined);
  assert.deepEqual(secrets.selectableFields!(s), { type: "Opaque" });
  assert.deepEqual(createErrors(secrets, { metadata: meta("creds"), data: { token: "not base64!" } }), [
    'data[token]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 3',
  ]);
  assert.deepEqual(
    createErrors(secrets, { metadata: meta("tls"), type: "kubernetes.io/tls", data: { "tls.crt": "" } }),
    ["data[tls.key]: Required value"],
  );
  const retyped = structuredClone(s);
  retyped.type = "kubernetes.io/basic-auth";
  retyped.data.username = "";
  assert.deepEqual(updateErrors(secrets, retyped, s), [
    'type: Invalid value: "kubernetes.io/basic-auth": field is immutable',
  ]);
});

test("Events: namespace must match the involved object's; selectable by involved object and reason", () => {
  const events = strategies["/events"];
  const ev = {
    metadata: { name: "nginx.17a8b2c3d4e5f6a7", namespace: "default" },
    involvedObject: { kind: "Pod", namespace: "default", name: "nginx", uid: "u1", apiVersion: "v1" },
    reason: "Scheduled",
    type: "Normal",
    source: { component: "default-scheduler" },
  };
  assert.deepEqual(createErrors(events, ev), []);
  assert.deepEqual(
    createErrors(events, { ...ev, involvedObject: { ...ev.involvedObject, namespace: "other" } }),
    ['involvedObject.namespace: Invalid value: "other": does not match event.namespace'],
  );
  assert.deepEqual(createErrors(events, { ...ev, metadata: { name: "a/b", namespace: "default" } }), [
    `metadata.name: Invalid value: "a/b": may not contain '/'`,
  ]);
  const fields = events.selectableFields!(created(events, ev));
  assert.equal(fields["involvedObject.name"], "nginx");
  assert.equal(fields.reason, "Scheduled");
  assert.equal(fields.source, "default-scheduler");
  assert.equal(fields.type, "Normal");
});

test("Endpoints: addresses must be routable IPs; several ports need names", () => {
  const endpoints = strategies["/endpoints"];
  const ep = {
    metadata: meta("demo"),
    subsets: [{ addresses: [{ ip: "10.244.0.5" }], ports: [{ port: 80 }] }],
  };
  assert.deepEqual(createErrors(endpoints, ep), []);
  assert.equal(created(endpoints, ep).subsets[0].ports[0].protocol, "TCP");
  const bad = {
    metadata: meta("demo"),
    subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports: [{ port: 80 }, { port: 0, name: "b" }] }, {}],
  };
  assert.deepEqual(createErrors(endpoints, bad), [
    'subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
    "subsets[0].ports[0].name: Required value",
    "subsets[0].ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
    "subsets[1]: Required value: must specify `addresses` or `notReadyAddresses`",
  ]);
});

test("EndpointSlices: a known address type, 1..100 addresses of that type, unique port names", () => {
  const slices = strategies["discovery.k8s.io/endpointslices"];
  const slice = {
    metadata: meta("demo-abcde"),
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.244.0.5"], conditions: { ready: true } }],
    ports: [{ port: 80 }],
  };
  assert.deepEqual(createErrors(slices, slice), []);
  assert.deepEqual(created(slices, slice).ports, [{ port: 80, name: "", protocol: "TCP" }]);
  const bad = {
    metadata: meta("demo-abcde"),
    addressType: "IPv4",
    endpoints: [
      { addresses: [] },
      { addresses: Array.from({ length: 101 }, (_, i) => `10.0.0.${i + 1}`) },
      { addresses: ["fd00::1"] },
    ],
    ports: [{ port: 80 }, { port: 81 }],
  };
  assert.deepEqual(createErrors(slices, bad), [
    "endpoints[0].addresses: Required value: must contain at least 1 address",
    "endpoints[1].addresses: Too many: 101: must have at most 100 items",
    'endpoints[2].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address',
    'ports[1].name: Duplicate value: ""',
  ]);
  assert.deepEqual(createErrors(slices, { ...slice, addressType: "IPX" }), [
    'addressType: Unsupported value: "IPX": supported values: "FQDN", "IPv4", "IPv6"',
  ]);
});

test("Leases: durations positive, transitions not negative", () => {
  const leases = strategies["coordination.k8s.io/leases"];
  const lease = { metadata: meta("controller"), spec: { holderIdentity: "a", leaseDurationSeconds: 15 } };
  assert.deepEqual(createErrors(leases, lease), []);
  assert.deepEqual(
    createErrors(leases, { metadata: meta("c"), spec: { leaseDurationSeconds: 0, leaseTransitions: -1 } }),
    [
      "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
      "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
    ],
  );
});

test("ServiceAccounts and unknown resources get metadata validation only", () => {
  assert.deepEqual(createErrors(strategies["/serviceaccounts"], { metadata: meta("default") }), []);
  assert.equal(strategyFor("example.com", "widgets"), fallbackStrategy);
  assert.equal(strategyFor("", "pods"), strategies["/pods"]);
  assert.deepEqual(fallbackStrategy.hasStatus, false);
  assert.deepEqual(createErrors(fallbackStrategy, { metadata: { name: "Any Name", namespace: "x" } }), []);
  assert.deepEqual(createErrors(fallbackStrategy, { metadata: { name: "a%b" } }), [
    `metadata.name: Invalid value: "a%b": may not contain '%'`,
  ]);
});

test("every built-in resource has a strategy with the right status and generation flags", () => {
  const expected: Record<string, [boolean, boolean]> = {
    "/pods": [true, false],
    "/services": [true, false],
    "/namespaces": [true, false],
    "/nodes": [true, false],
    "/events": [false, false],
    "/endpoints": [false, false],
    "/configmaps": [false, false],
    "/secrets": [false, false],
    "/serviceaccounts": [false, false],
    "apps/deployments": [true, true],
    "apps/replicasets": [true, true],
    "apps/daemonsets": [true, true],
    "batch/jobs": [true, true],
    "discovery.k8s.io/endpointslices": [false, true],
    "networking.k8s.io/networkpolicies": [false, true],
    "coordination.k8s.io/leases": [false, false],
    "apiextensions.k8s.io/customresourcedefinitions": [true, true],
    "rbac.authorization.k8s.io/roles": [false, false],
    "rbac.authorization.k8s.io/clusterroles": [false, false],
    "rbac.authorization.k8s.io/rolebindings": [false, false],
    "rbac.authorization.k8s.io/clusterrolebindings": [false, false],
  };
  assert.deepEqual(Object.keys(strategies).sort(), Object.keys(expected).sort());
  for (const [key, [hasStatus, tracksGeneration]] of Object.entries(expected))
    assert.deepEqual(
      [strategies[key].hasStatus, strategies[key].tracksGeneration],
      [hasStatus, tracksGeneration],
      key,
    );
});
