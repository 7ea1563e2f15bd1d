import assert from "node:assert/strict";
import { test } from "node:test";
import { strategies } from "./index.ts";
import { createErrors } from "./testing.ts";

const pods = strategies["/pods"];
const withContainer = (container: object, extra: object = {}) => ({
  metadata: { name: "p", namespace: "default" },
  spec: { containers: [{ name: "c", image: "nginx", ...container }], ...extra },
});

test("probes need exactly one handler, sane numbers, and a single success for liveness", () => {
  assert.deepEqual(createErrors(pods, withContainer({ readinessProbe: {} })), [
    "spec.containers[0].readinessProbe: Required value: must specify a handler type",
  ]);
  assert.deepEqual(
    createErrors(
      pods,
      withContainer({ livenessProbe: { exec: { command: ["true"] }, tcpSocket: { port: 80 } } }),
    ),
    ["spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"],
  );
  assert.deepEqual(
    createErrors(
      pods,
      withContainer({
        livenessProbe: { tcpSocket: { port: 70000 }, initialDelaySeconds: -1, successThreshold: 2 },
      }),
    ),
    [
      "spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: 70000: must be between 1 and 65535, inclusive",
      "spec.containers[0].livenessProbe.initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0",
      "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
    ],
  );
  assert.deepEqual(
    createErrors(
      pods,
      withContainer({ readinessProbe: { httpGet: { port: "http", scheme: "FTP" }, successThreshold: 2 } }),
    ),
    [
      'spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"',
    ],
  );
  assert.deepEqual(
    createErrors(pods, withContainer({ readinessProbe: { httpGet: { port: "Not_A_Name" } } })),
    [
      'spec.containers[0].readinessProbe.httpGet.port: Invalid value: "Not_A_Name": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
    ],
  );
});

test("ports: names are IANA service names, unique; protocols are TCP, UDP or SCTP", () => {
  const ports = [
    { name: "http", containerPort: 80 },
    { name: "http", containerPort: 81, hostPort: 70000 },
    { containerPort: 82, protocol: "ICMP" },
  ];
  assert.deepEqual(createErrors(pods, withContainer({ ports })), [
    'spec.containers[0].ports[1].name: Duplicate value: "http"',
    "spec.containers[0].ports[1].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    'spec.containers[0].ports[2].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
  ]);
});

test("with host networking a pod's host ports must equal its container ports", () => {
  // Defaulting fills hostPort from containerPort, so only an explicit mismatch fails.
  assert.deepEqual(
    createErrors(pods, withContainer({ ports: [{ containerPort: 80 }] }, { hostNetwork: true })),
    [],
  );
  assert.deepEqual(
    createErrors(
      pods,
      withContainer({ ports: [{ containerPort: 80, hostPort: 8080 }] }, { hostNetwork: true }),
    ),
    [
      "spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true",
    ],
  );
});

test("env: names are printable ASCII without '=', and valueFrom names one source", () => {
  const env = [
    { name: "A=B", value: "x" },
    { name: "" },
    { name: "C", value: "x", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
    { name: "D", valueFrom: { fieldRef: { fieldPath: "spec.restartPolicy" } } },
  ];
  assert.deepEqual(createErrors(pods, withContainer({ env })), [
    `spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
    "spec.containers[0].env[1].name: Required value",
    'spec.containers[0].env[2].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
    'spec.containers[0].env[3].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.restartPolicy": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"',
  ]);
});

test("volumes: DNS-label names, unique, one source; mounts must name a volume and a unique path", () => {
  const spec = {
    volumes: [
      { name: "data", emptyDir: {} },
      { name: "data", emptyDir: {} },
      { name: "both", emptyDir: {}, hostPath: { path: "/tmp" } },
      { name: "Bad_Name", secret: {} },
    ],
  };
  const mounts = [
    { name: "data", mountPath: "/data" },
    { name: "missing", mountPath: "/data" },
  ];
  assert.deepEqual(createErrors(pods, withContainer({ volumeMounts: mounts }, spec)), [
    'spec.volumes[1].name: Duplicate value: "data"',
    "spec.volumes[2].hostPath: Forbidden: may not specify more than 1 volume type",
    "spec.volumes[3].secret.secretName: Required value",
    `spec.volumes[3].name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
    'spec.containers[0].volumeMounts[1].name: Not found: "missing"',
    'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique',
  ]);
});

test("resources: quantities must parse, not be negative, and requests may not exceed limits", () => {
  const resources = { requests: { cpu: "2", memory: "-1" }, limits: { cpu: "1", memory: "abc" } };
  assert.deepEqual(createErrors(pods, withContainer({ resources })), [
    `spec.containers[0].resources.limits[memory]: Invalid value: "abc": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
    'spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0',
  ]);
  // Pods copy limits into missing requests before validation, so both lists carry the bad name.
  assert.deepEqual(createErrors(pods, withContainer({ resources: { limits: { gpu: "1" } } })), [
    'spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified',
    'spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers',
    'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified',
    'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers',
  ]);
  // Extended resources are whole units and cannot be overcommitted.
  assert.deepEqual(
    createErrors(
      pods,
      withContainer({
        resources: { limits: { "example.com/gpu": "2" }, requests: { "example.com/gpu": "1" } },
      }),
    ),
    [
      'spec.containers[0].resources.requests: Invalid value: "1": must be equal to example.com/gpu limit of 2',
    ],
  );
});

test("pod-level fields: dnsPolicy, nodeSelector, tolerations, activeDeadlineSeconds, pull policy", () => {
  const extra = {
    dnsPolicy: "Sometimes",
    nodeSelector: { "kubernetes.io/os": "-linux" },
    tolerations: [
      { operator: "Equal", value: "x" },
      { key: "k", operator: "Maybe", effect: "Never" },
    ],
    activeDeadlineSeconds: 0,
  };
  assert.deepEqual(createErrors(pods, withContainer({ imagePullPolicy: "Sometimes" }, extra)), [
    'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
    'spec.dnsPolicy: Unsupported value: "Sometimes": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
    `spec.nodeSelector: Invalid value: "-linux": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
    'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
    'spec.tolerations[1].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists"',
    'spec.tolerations[1].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
  ]);
});

test("images of real pods may not carry surrounding whitespace", () => {
  assert.deepEqual(createErrors(pods, withContainer({ image: " nginx" })), [
    'spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace',
  ]);
});
