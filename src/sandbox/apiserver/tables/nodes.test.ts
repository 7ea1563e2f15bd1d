import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTime, type KubeObject } from "../../../kube/objects.ts";
import { nodePrinter } from "./nodes.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");

function node(labels: Record<string, string>, spec: any, status: any): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "sandbox-node", labels, creationTimestamp: formatTime(NOW - 51 * 3_600_000) },
    spec,
    status,
  };
}

const info = {
  kubeletVersion: "v1.33.1",
  osImage: "Debian GNU/Linux 12 (bookworm)",
  kernelVersion: "6.1.0-18-amd64",
  containerRuntimeVersion: "containerd://1.7.13",
};

test("a ready control-plane node, wide cells included", () => {
  const n = node(
    { "kubernetes.io/hostname": "sandbox-node", "node-role.kubernetes.io/control-plane": "" },
    {},
    {
      conditions: [
        { type: "MemoryPressure", status: "False" },
        { type: "Ready", status: "True" },
      ],
      addresses: [
        { type: "Hostname", address: "sandbox-node" },
        { type: "InternalIP", address: "192.168.49.2" },
      ],
      nodeInfo: info,
    },
  );
  assert.deepEqual(nodePrinter.cells(n, NOW), [
    "sandbox-node",
    "Ready",
    "control-plane",
    "2d3h",
    "v1.33.1",
    "192.168.49.2",
    "<none>",
    "Debian GNU/Linux 12 (bookworm)",
    "6.1.0-18-amd64",
    "containerd://1.7.13",
  ]);
});

test("a cordoned node that stopped reporting is NotReady,SchedulingDisabled", () => {
  const n = node(
    {},
    { unschedulable: true },
    { conditions: [{ type: "Ready", status: "Unknown" }], nodeInfo: info },
  );
  assert.deepEqual(nodePrinter.cells(n, NOW).slice(1, 3), ["NotReady,SchedulingDisabled", "<none>"]);
});

test("a node without a Ready condition is Unknown and unreported system info is <unknown>", () => {
  const n = node({}, {}, { addresses: [{ type: "ExternalIP", address: "203.0.113.5" }] });
  assert.deepEqual(nodePrinter.cells(n, NOW).slice(1), [
    "Unknown",
    "<none>",
    "2d3h",
    "",
    "<none>",
    "203.0.113.5",
    "<unknown>",
    "<unknown>",
    "<unknown>",
  ]);
});

test("roles come from node-role labels and the legacy kubernetes.io/role label, sorted and unique", () => {
  const n = node(
    {
      "node-role.kubernetes.io/worker": "",
      "node-role.kubernetes.io/ingress": "true",
      "node-role.kubernetes.io/": "",
      "kubernetes.io/role": "worker",
    },
    {},
    {},
  );
  assert.equal(nodePrinter.cells(n, NOW)[2], "ingress,worker");
});
