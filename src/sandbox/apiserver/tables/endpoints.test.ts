import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../../kube/objects.ts";
import { endpointSlicePrinter, endpointsPrinter } from "./endpoints.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const meta = { name: "web", namespace: "default", creationTimestamp: formatTime(NOW - 7 * 60_000) };
const addr = (...ips: string[]) => ips.map((ip) => ({ ip }));

test("endpoints list ip:port for the first three and count the rest", () => {
  const ep: KubeObject = {
    metadata: meta,
    subsets: [
      {
        addresses: addr("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"),
        ports: [{ port: 80, protocol: "TCP" }],
      },
    ],
  };
  assert.deepEqual(endpointsPrinter.cells(ep, NOW), [
    "web",
    "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...",
    "7m",
  ]);
});

test("each port multiplies the addresses; three exactly fit without a suffix", () => {
  const ep: KubeObject = {
    metadata: meta,
    subsets: [
      {
        addresses: addr("10.0.0.1"),
        ports: [
          { name: "http", port: 80 },
          { name: "https", port: 443 },
        ],
      },
      { addresses: addr("fd00::5"), ports: [{ port: 80 }] },
    ],
  };
  assert.equal(endpointsPrinter.cells(ep, NOW)[1], "10.0.0.1:80,10.0.0.1:443,[fd00::5]:80");
});

test("no subsets is <none>; headless subsets without ports list bare IPs", () => {
  assert.equal(endpointsPrinter.cells({ metadata: meta }, NOW)[1], "<none>");
  const headless: KubeObject = { metadata: meta, subsets: [{ addresses: addr("10.0.0.8", "10.0.0.9") }] };
  assert.equal(endpointsPrinter.cells(headless, NOW)[1], "10.0.0.8,10.0.0.9");
});

test("endpointslices print address type, ports and addresses", () => {
  const slice: KubeObject = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { ...meta, name: "web-abc12" },
    addressType: "IPv4",
    ports: [{ name: "http", port: 80, protocol: "TCP" }, { name: "metrics" }, {}],
    endpoints: [
      { addresses: ["10.0.0.1"], conditions: { ready: true } },
      { addresses: ["10.0.0.2", "10.0.0.3"] },
      { addresses: ["10.0.0.4"] },
    ],
  };
  assert.deepEqual(endpointSlicePrinter.cells(slice, NOW), [
    "web-abc12",
    "IPv4",
    "80,metrics,*",
    "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
    "7m",
  ]);
});

test("an empty endpointslice says <unset> for ports and endpoints", () => {
  const slice: KubeObject = { metadata: meta, addressType: "IPv6", ports: [], endpoints: [] };
  assert.deepEqual(endpointSlicePrinter.cells(slice, NOW).slice(1, 4), ["IPv6", "<unset>", "<unset>"]);
});
